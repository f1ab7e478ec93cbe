"""``OUT/dashboard.html``: the class at a glance, one self-contained page.

Per exercise: the score distribution (a figure), each check's pass rate, lowest first (a
figure and a table with the most common failure messages), and a table of the students
that sorts by any column (the page's one small script). Then the infrastructure errors,
apart. Like ``summary.md`` it is computed from the outcomes and the reports on disk.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from urllib.parse import quote

from grader.batch import item_stats
from grader.batch.html_reports import page_path
from grader.batch.scheduler import Outcome
from grader.render import figures, html_page
from grader.render import text as rules
from grader.render.html_page import attr, text
from grader.report import Report, Status

Reports = Mapping[tuple[str, str], Report]

# Sorts a table.sortable by the column whose header button is pressed: by each cell's
# data-key when it has one (numbers), else by its text.
SORT_SCRIPT = """
const key = (cell) => {
  const value = cell.dataset.key;
  return value === undefined ? cell.textContent.trim() : Number(value);
};
for (const table of document.querySelectorAll("table.sortable")) {
  const heads = [...table.tHead.rows[0].cells];
  heads.forEach((th, column) => th.querySelector("button").addEventListener("click", () => {
    const ascending = th.getAttribute("aria-sort") !== "ascending";
    heads.forEach((h) => h.removeAttribute("aria-sort"));
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    const body = table.tBodies[0];
    const rows = [...body.rows].sort((a, b) => {
      const x = key(a.cells[column]), y = key(b.cells[column]);
      const order = typeof x === "number" ? x - y : String(x).localeCompare(String(y));
      return ascending ? order : -order;
    });
    body.append(...rows);
  }));
}
"""


def render(outcomes: Sequence[Outcome], reports: Reports, interrupted: bool = False,
           linked: bool = False) -> str:
    """The page; ``linked``: each student's row links to their report.html (else the JSON)."""
    students = {o.student for o in outcomes}
    exercises = sorted({o.exercise for o in outcomes})
    errors = [o for o in outcomes if o.source == "error"]
    head = (f"<h1>Batch dashboard</h1>\n<p>{len(students)} students, {len(outcomes)} submissions graded"
            + (" (interrupted: the rest were not graded)" if interrupted else "") + ".</p>")
    nav = " · ".join(f'<a href="#{attr(e)}">{text(e)}</a>' for e in exercises)
    nav += f' · <a href="#infrastructure-errors">infrastructure errors ({len(errors)})</a>'
    parts = [head, f"<nav>{nav}</nav>"]
    parts += [_exercise(exercise, [o for o in outcomes if o.exercise == exercise], reports, linked)
              for exercise in exercises]
    parts.append(_errors(errors))
    return html_page.page("Batch dashboard", "\n".join(parts), SORT_SCRIPT)


def _exercise(exercise: str, outcomes: Sequence[Outcome], reports: Reports, linked: bool) -> str:
    graded = [reports[o.student, o.exercise] for o in sorted(outcomes, key=lambda o: o.student)
              if (o.student, o.exercise) in reports]
    scored = [r for r in graded if r.score is not None]
    parts = [f'<section class="exercise" id="{attr(exercise)}"><h2>{text(exercise)}</h2>']
    if not scored:
        parts.append("<p>No graded submissions.</p>")
    else:
        parts += [_distribution(scored), _items(scored)]
    parts.append(_students(outcomes, reports, linked))
    return "\n".join(parts) + "</section>"


def _distribution(reports: Sequence[Report]) -> str:
    scores = [r.score or 0.0 for r in reports]
    line = (f"<p>{len(reports)} graded; score out of {rules.number(reports[0].max_score)}: mean "
            f"{statistics.mean(scores):.1f}, median {rules.number(statistics.median(scores))}, "
            f"min {rules.number(min(scores))}, max {rules.number(max(scores))}.</p>")
    svg = figures.score_distribution([r.percent or 0.0 for r in reports])
    return line + html_page.figure(svg, "Score distribution: submissions per tenth of the points")


def _items(reports: Sequence[Report]) -> str:
    items = item_stats.items(reports)
    rows = []
    for number, item in enumerate(items, 1):
        failures = "".join(f"<li>{text(message)} ({count})</li>" for message, count in item.failures)
        rows.append(
            f'<tr data-check="{attr(item.name)}"><td class="num">#{number}</td><td>{text(item.name)}</td>'
            f'<td class="num">{rules.number(item.points)}</td>'
            f'<td class="num">{100 * item.rate:.0f}%</td><td><ul>{failures}</ul></td></tr>'
        )
    table = (
        '<table class="items"><thead><tr><th class="num">#</th><th>check</th><th class="num">points</th>'
        '<th class="num">passed</th><th>most common failures (numbers masked)</th></tr></thead>\n<tbody>'
        + "\n".join(rows)
        + "</tbody></table>"
    )
    parts = [
        "<h3>Checks, lowest pass rate first</h3>",
        html_page.figure(
            figures.pass_rates([item.rate for item in items]),
            "Pass rate of each check, numbered as in the table below",
        ),
        table,
    ]
    unloaded = item_stats.unloaded(reports)
    if unloaded:
        causes = "; ".join(
            f"{text(cause)} ({count})" for cause, count in unloaded.most_common(item_stats.TOP_MESSAGES)
        )
        parts.append(
            f"<p>{sum(unloaded.values())} submission(s) did not load and failed every check: {causes}</p>"
        )
    return "\n".join(parts)


def _students(outcomes: Sequence[Outcome], reports: Reports, linked: bool) -> str:
    heads = "".join(
        f'<th{" class=num" if numeric else ""}><button type="button">{name}</button></th>'
        for name, numeric in (
            ("student", False),
            ("score", True),
            ("%", True),
            ("checks passed", True),
            ("report", False),
        )
    )
    rows = [
        _student_row(o, reports.get((o.student, o.exercise)), linked)
        for o in sorted(outcomes, key=lambda o: o.student)
    ]
    return (
        '<h3>Students</h3>\n<p class="note">Press a column\'s name to sort by it.</p>\n'
        f'<table class="students sortable"><thead><tr>{heads}</tr></thead>\n<tbody>'
        + "\n".join(rows)
        + "</tbody></table>"
    )


def _student_row(outcome: Outcome, report: Report | None, linked: bool) -> str:
    name = f"<td>{text(outcome.student)}</td>"
    if report is None or report.score is None:
        why = "infrastructure error" if report is None else "the grader failed"
        return (
            f'<tr>{name}<td class="num error" data-key="-1">ERROR</td><td class="num" data-key="-1">–</td>'
            f'<td class="num" data-key="-1">–</td><td>{why}</td></tr>'
        )
    passed = sum(check.status == Status.PASSED for check in report.checks)
    target = page_path(outcome) if linked else outcome.report
    link = f'<a href="{attr(quote(target))}">{"report.html" if linked else "JSON"}</a>'
    percent = report.percent or 0.0
    return (
        f'<tr>{name}<td class="num" data-key="{report.score:.6g}">{rules.number(report.score)}</td>'
        f'<td class="num" data-key="{percent:.6g}">{percent:.0f}%</td>'
        f'<td class="num" data-key="{passed}">{passed}/{len(report.checks)}</td><td>{link}</td></tr>'
    )


def _errors(errors: Sequence[Outcome]) -> str:
    head = '<section id="infrastructure-errors"><h2>Infrastructure errors</h2>'
    if not errors:
        return head + "<p>None: every submission was graded.</p></section>"
    rows = "\n".join(
        f"<tr><td>{text(o.student)}</td><td>{text(o.exercise)}</td><td>{text(o.path)}</td>"
        f"<td>{text(o.error)}</td></tr>"
        for o in errors
    )
    return (
        head + f"<p>{len(errors)} submission(s) could not be graded (not the students' fault; no score is "
        'given). Rerun the same command to retry only these.</p>\n<table class="errors"><thead><tr>'
        "<th>student</th><th>exercise</th><th>file</th><th>error</th></tr></thead>\n<tbody>"
        + rows
        + "</tbody></table></section>"
    )
