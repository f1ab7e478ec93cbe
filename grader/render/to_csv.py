"""The gradebook as CSV: one row per student, one column per exercise, and a total.

A cell is the exercise's score, empty when the student has no report for it, or ``ERROR``
when the grader failed on it (no score is claimed, so it is neither 0 nor left out silently).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence

from grader.render import text
from grader.report import Report

NO_SCORE = "ERROR"
# A spreadsheet runs a cell that starts with one of these as a formula; student names come
# from file names, which students choose.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def render(rows: Mapping[str, Mapping[str, Report | None]], exercises: Sequence[str]) -> str:
    """``rows`` maps each student to their reports by exercise name."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")  # "\n": the file is written in text mode
    writer.writerow(["student", *exercises, "total"])
    for student in sorted(rows):
        reports = rows[student]
        scores = [_score(reports.get(exercise)) for exercise in exercises]
        total = sum(score for score in scores if isinstance(score, float))
        writer.writerow([literal(student), *(_cell(score) for score in scores), text.number(total)])
    return out.getvalue()


def _score(report: Report | None) -> float | str:
    if report is None:
        return ""
    return NO_SCORE if report.score is None else float(report.score)


def _cell(score: float | str) -> str:
    return text.number(score) if isinstance(score, float) else score


def literal(value: str) -> str:
    """``value`` for a CSV cell: cleaned, and never taken by a spreadsheet for a formula."""
    value = text.clean(value)
    return "'" + value if value.startswith(_FORMULA_START) else value
