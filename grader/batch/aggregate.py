"""The class view of a batch: the gradebook and a Markdown summary with an item analysis.

Both are computed from the outcomes and the reports on disk, never from a run's memory, so
``grade merge`` of shard outputs gives exactly the files of an unsharded run.
"""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

from grader.atomic import write_text_atomic
from grader.batch.scheduler import Outcome
from grader.render import to_csv
from grader.report import Isolation, Report, Status

TOP_MESSAGES = 3
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")  # failure messages shown per check


def write_all(out: Path, outcomes: Sequence[Outcome], interrupted: bool = False) -> None:
    reports = _reports(out, outcomes)
    write_text_atomic(out / "gradebook.csv", gradebook(outcomes, reports))
    write_text_atomic(out / "summary.md", summary(outcomes, reports, interrupted))


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
    unloaded = Counter(_pattern(r.problem) for r in reports if r.problem)
    passed: Counter[str] = Counter()
    seen: dict[str, float] = {}
    messages: dict[str, Counter[str]] = defaultdict(Counter)
    for report in reports:
        for check in report.checks:
            seen.setdefault(check.name, check.max_score)
            if check.status == Status.PASSED:
                passed[check.name] += 1
            elif not report.problem:  # a file that did not load fails every check alike
                messages[check.name][_pattern(check.message) or check.status.value] += 1
    lines = ["Item analysis (lowest pass rate first):", "",
             "| check | points | passed | most common failures |", "|---|---:|---:|---|"]
    for name in sorted(seen, key=lambda n: (passed[n] / len(reports), n)):
        common = _most_common(messages[name])
        lines.append(f"| {_cell(name)} | {seen[name]:g} | {100 * passed[name] / len(reports):.0f}% | "
                     f"{common} |")
    if unloaded:
        lines += ["", f"{sum(unloaded.values())} submission(s) did not load and failed every check: "
                  + _most_common(unloaded)]
    return lines + [""]


def _most_common(messages: Counter[str]) -> str:
    return "; ".join(f"{_cell(text)} ({count})" for text, count in messages.most_common(TOP_MESSAGES))


def _pattern(message: str) -> str:
    """A message's first line with its numbers masked, so that one mistake on different
    inputs counts as one: "the output's mean should be #, got #"."""
    first = message.strip().splitlines()[0][:160] if message.strip() else ""
    return NUMBER.sub("#", first)


def _cell(text: str) -> str:
    """Text for one Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")
