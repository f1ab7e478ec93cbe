"""The report as one self-contained HTML page (``report.html``), for a student to open.

A score line, the table of checks, then each check that did not pass: its message, the
shrunk input, what the code printed, the hint, and the figure its judge supplied (a
histogram against the expected distribution, or a wrong output against the right one).
Hidden checks show their status and points only. Text is escaped (``html_page``).
"""

from __future__ import annotations

from grader.authoring.figure_data import checked
from grader.render import figures, html_page
from grader.render import text as rules
from grader.render.html_page import pre, text
from grader.report import CheckResult, Report, Status

MARKS = {Status.PASSED: "✓ passed", Status.FAILED: "✗ failed", Status.ERROR: "✗ error",
         Status.NOT_RUN: "– not run"}
HIDDEN = "A hidden check: details are not shown."


def render(report: Report) -> str:
    parts = [f"<h1>{text(report.exercise)}: {text(report.submission)}</h1>", _score_line(report)]
    if report.hidden_checks and report.hidden_checks.count:
        hidden = report.hidden_checks
        parts.append(f'<p class="note">Not run here: {hidden.count} hidden check(s) worth '
                     f"{rules.number(hidden.points)} point(s), run when your work is submitted.</p>")
    if report.problem:
        parts.append('<h2>Problem with the submission</h2>' + pre(rules.problem(report)))
    parts.append(_table(report))
    failing = [(i, check) for i, check in enumerate(report.checks, 1) if check.status != Status.PASSED]
    if failing:
        parts.append("<h2>What did not pass</h2>")
        parts += [_failure(report, i, check) for i, check in failing]
    parts.append(_footer(report))
    return html_page.page(f"{report.exercise}: {report.submission}", "\n".join(parts))


def status_class(status: Status) -> str:
    return status.value.replace(" ", "-")


def _score_line(report: Report) -> str:
    if report.score is None:
        return ('<p class="error"><strong>No score:</strong> the grader itself failed on this submission; '
                "this is not a grade (not your fault: tell your instructor).</p>")
    return (f"<p><strong>Score: {rules.number(report.score)}/{rules.number(report.max_score)} "
            f"({report.percent or 0:.0f}%)</strong></p>")


def _table(report: Report) -> str:
    rows = []
    for i, check in enumerate(report.checks, 1):
        prop = check.name.removeprefix(f"{check.target}: ")
        name = text(prop)
        if check.status != Status.PASSED:
            name = f'<a href="#check-{i}">{name}</a>'
        rows.append(
            f'<tr data-check="{html_page.attr(check.name)}"><td class="status {status_class(check.status)}">'
            f"{MARKS[check.status]}</td><td>{text(check.target)}</td><td>{name}</td>"
            f'<td class="num">{rules.points(check)}</td></tr>'
        )
    head = '<tr><th></th><th>target</th><th>property</th><th class="num">points</th></tr>'
    return (
        f'<h2>Checks</h2>\n<table class="checks">\n<thead>{head}</thead>\n<tbody>\n'
        + "\n".join(rows)
        + "\n</tbody>\n</table>"
    )


def _failure(report: Report, index: int, check: CheckResult) -> str:
    head = (
        f'<section class="check" id="check-{index}"><h3 class="{status_class(check.status)}">'
        f"{MARKS[check.status]}: {text(check.name)} ({rules.points(check)})</h3>"
    )
    if check.hidden:
        return f'{head}<p class="note">{HIDDEN}</p></section>'
    if rules.repeats_problem(report, check):
        return f'{head}<p class="note">See the problem with the submission above.</p></section>'
    parts = [head]
    if check.message:
        parts.append(pre(rules.message(check)))
    if check.counterexample:
        parts.append('<p class="label">Shrunk input:</p>' + pre(check.counterexample))
    if check.output:
        parts.append('<p class="label">Your code printed:</p>' + pre(check.output.strip()))
    hint = rules.failure(check).hint  # the one rule for when a hint shows
    if hint:
        parts.append(f"<p><strong>Hint:</strong> {text(hint)}</p>")
    figure = checked(check.figure)
    if figure is not None:
        caption = figure["title"] + (f" ({figure['note']})" if figure["note"] else "")
        parts.append(html_page.figure(figures.draw(figure), caption))
    return "\n".join(parts) + "</section>"


def _footer(report: Report) -> str:
    return (
        f'<p class="note">Isolation: {text(report.isolation.level)}. Graded by d2l-grader '
        f"{text(report.grader_version)}, checks {text(report.checks_version)}; submission sha256 "
        f"{text(report.submission_sha256)}.</p>"
    )
