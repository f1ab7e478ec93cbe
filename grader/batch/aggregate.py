"""The class view of a batch: the gradebook, a Markdown summary with an item analysis, and
the same as an HTML page with figures (``dashboard``).

All are computed from the outcomes and the reports on disk, never from a run's memory, so
``grade merge`` of shard outputs gives exactly the files of an unsharded run.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

from grader.atomic import write_text_atomic
from grader.batch import item_stats
from grader.batch.scheduler import Outcome
from grader.render import to_csv
from grader.report import Isolation, Report


def write_all(out: Path, outcomes: Sequence[Outcome], interrupted: bool = False,
              student_pages: bool = False) -> None:
    """gradebook.csv, summary.md and dashboard.html; with ``student_pages``, each report's
    page too (``grade batch --html-reports``)."""
    from grader.batch import dashboard, html_reports  # matplotlib: imported once grading is done

    reports = _reports(out, outcomes)
    write_text_atomic(out / "gradebook.csv", gradebook(outcomes, reports))
    write_text_atomic(out / "summary.md", summary(outcomes, reports, interrupted))
    if student_pages:
        html_reports.write(out, outcomes, reports)
    write_text_atomic(out / "dashboard.html", dashboard.render(outcomes, reports, interrupted, student_pages))


def _reports(out: Path, outcomes: Sequence[Outcome]) -> dict[tuple[str, str], Report]:
    found = {}
    for outcome in outcomes:
        if outcome.report:
            data = json.loads((out / outcome.report).read_text(encoding="utf-8"))
            found[outcome.student, outcome.exercise] = Report.from_dict(data)
    return found


def gradebook(outcomes: Sequence[Outcome], reports: dict[tuple[str, str], Report]) -> str:
    rows: dict[str, dict[str, Report | None]] = defaultdict(dict)
    for outcome in outcomes:
        key = (outcome.student, outcome.exercise)
        rows[outcome.student][outcome.exercise] = reports.get(key) or _no_grade(outcome)
    return to_csv.render(rows, sorted({o.exercise for o in outcomes}))


def _no_grade(outcome: Outcome) -> Report:
    """A report without checks, so without a score: the gradebook says ERROR."""
    return Report(exercise=outcome.exercise, submission=outcome.path, submission_sha256=outcome.sha256,
                  checks=(), isolation=Isolation(level="none"), grader_version="", checks_version="",
                  timings={}, problem=outcome.error)


def summary(outcomes: Sequence[Outcome], reports: dict[tuple[str, str], Report], interrupted: bool) -> str:
    students = sorted({o.student for o in outcomes})
    lines = ["# Batch summary", "",
             f"{len(students)} students, {len(outcomes)} submissions graded"
             + (" (interrupted: the rest were not graded)" if interrupted else "") + ".", ""]
    for exercise in sorted({o.exercise for o in outcomes}):
        mine = [r for (_, ex), r in sorted(reports.items()) if ex == exercise and r.score is not None]
        lines += _distribution(exercise, mine) + _item_analysis(mine)
    errors = [o for o in outcomes if o.source == "error"]
    lines += ["## Infrastructure errors", ""]
    if not errors:
        lines += ["None: every submission was graded.", ""]
    else:
        lines += [f"{len(errors)} submission(s) could not be graded (not the students' fault; "
                  "no score is given). Rerun the same command to retry only these.", ""]
        lines += [f"- {_cell(o.student)} / {o.exercise} (`{o.path}`): {_cell(o.error)}" for o in errors]
        lines.append("")
    return "\n".join(lines)


def _distribution(exercise: str, reports: Sequence[Report]) -> list[str]:
    lines = [f"## {exercise}", ""]
    if not reports:
        return lines + ["No graded submissions.", ""]
    top = reports[0].max_score
    percents = [r.percent or 0.0 for r in reports]
    scores = [r.score or 0.0 for r in reports]
    lines += [f"{len(reports)} graded; score out of {top:g}: mean {statistics.mean(scores):.1f}, "
              f"median {statistics.median(scores):g}, min {min(scores):g}, max {max(scores):g}.", "",
              "| score | submissions | |", "|---|---:|---|"]
    buckets = Counter(min(int(p // 10), 9) for p in percents)
    widest = max(buckets.values())
    for bucket in range(9, -1, -1):
        count = buckets.get(bucket, 0)
        label = "90–100%" if bucket == 9 else f"{bucket * 10}–{bucket * 10 + 9}%"
        lines.append(f"| {label} | {count} | {'█' * round(20 * count / widest)} |")
    return lines + [""]


def _item_analysis(reports: Sequence[Report]) -> list[str]:
    """Each check's pass rate across the class, and its most common failure messages."""
    if not reports:
        return []
    lines = ["Item analysis (lowest pass rate first):", "",
             "| check | points | passed | most common failures |", "|---|---:|---:|---|"]
    for item in item_stats.items(reports):
        common = "; ".join(f"{_cell(text)} ({count})" for text, count in item.failures)
        lines.append(f"| {_cell(item.name)} | {item.points:g} | {100 * item.rate:.0f}% | {common} |")
    unloaded = item_stats.unloaded(reports)
    if unloaded:
        lines += ["", f"{sum(unloaded.values())} submission(s) did not load and failed every check: "
                  + "; ".join(f"{_cell(text)} ({count})"
                              for text, count in unloaded.most_common(item_stats.TOP_MESSAGES))]
    return lines + [""]


def _cell(text: str) -> str:
    """Text for one Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")
