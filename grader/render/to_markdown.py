"""The report as Markdown, for a CI job's summary page (GitHub's ``$GITHUB_STEP_SUMMARY``).

A score line, a table of checks, then each check that did not pass. Text from the
submission either goes into a fenced code block, where nothing is interpreted, or is
escaped, so that a message cannot break the table, inject HTML or fake a heading.
"""

from __future__ import annotations

import html
import re

from grader.render import text
from grader.report import CheckResult, Report, Status

MARKS = {Status.PASSED: "✅", Status.FAILED: "❌", Status.ERROR: "💥 error",
         Status.NOT_RUN: "⏭️ not run"}
# Markdown that would act inside a line: emphasis, code, links and images, strikethrough,
# the table's own delimiter. A backslash before each makes it literal.
_ACTIVE = re.compile(r"([`*_\[\]!~|#])")


def render(report: Report) -> str:
    parts = [f"### {inline(report.exercise)}: {inline(report.submission)}", _score_line(report),
             _table(report)]
    if report.problem:
        parts.append("**Problem with the submission:**\n\n" + code_block(text.problem(report)))
    if report.notes:
        parts.append("**Notebook notes** (cells run one by one; these cost no points):\n\n"
                     + code_block("\n".join(note.text for note in report.notes)))
    parts += [_failure(report, check) for check in report.checks if check.status != Status.PASSED]
    return "\n\n".join(parts) + "\n"


def inline(value: str) -> str:
    """``value`` as literal text on one line of Markdown (a table cell, a heading)."""
    escaped = html.escape(text.clean(value), quote=False).replace("\\", "&#92;")
    return _ACTIVE.sub(r"\\\1", escaped).replace("\n", "<br>")


def code_block(value: str, info: str = "text") -> str:
    """``value`` in a fenced block whose fence is longer than any run of backticks inside."""
    value = text.clean(value)
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{value}\n{fence}"


def _score_line(report: Report) -> str:
    if report.score is None:
        return ("**No score:** the grader itself failed on this submission; this is not a grade "
                "(not your fault: tell your instructor).")
    score = f"{text.number(report.score)}/{text.number(report.max_score)}"
    return f"**Score: {score} ({report.percent or 0:.0f}%)**"


def _table(report: Report) -> str:
    rows = ["| | check | points |", "|:-:|---|--:|"]
    rows += [f"| {MARKS[check.status]} | {inline(check.name)} | {text.points(check)} |"
             for check in report.checks]
    return "\n".join(rows)


def _failure(report: Report, check: CheckResult) -> str:
    head = f"#### {MARKS[check.status]} {inline(check.name)} ({text.points(check)})"
    shown = text.failure(check, report)
    if shown.withheld:
        return f"{head}\n\n_{inline(shown.withheld.capitalize())}._"
    parts = [head]
    if shown.message:
        parts.append(code_block(shown.message))
    if shown.counterexample:
        parts.append("Shrunk input:\n\n" + code_block(shown.counterexample))
    if shown.output:
        parts.append("Your code printed:\n\n" + code_block(shown.output))
    if shown.hint:
        parts.append(f"**Hint:** {inline(shown.hint)}")
    return "\n\n".join(parts)
