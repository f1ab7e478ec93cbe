"""The report as the result GitHub Classroom's grading reporter reads (``classroom.json``).

``classroom-resources/autograding-grading-reporter`` takes one base64-encoded JSON result
per graded step, ``{"version": 1, "status", "max_score", "tests": [...]}``, and tells
Classroom the sum of the tests' ``score`` out of the steps' ``max_score``: so each check is
a test carrying its own points, and the points reach Classroom as the grader gave them.
A hidden check's details stay out (its name and points only), as in every student output.

A report without a score (the grader failed) has no result, as for Gradescope: Classroom
would record a 0 as the student's grade. ``render`` raises ``NotGradable`` instead; the
reporter step then fails without a grade and the run can be re-run.
"""

from __future__ import annotations

import json
from typing import Any

from grader.render import text
from grader.render.to_gradescope import NotGradable
from grader.report import CheckResult, Report, Status

__all__ = ["NotGradable", "render"]


def render(report: Report) -> str:
    if report.score is None:
        raise NotGradable(f"no score for {report.submission} ({report.exercise}): the grader failed: "
                          + (text.problem(report) or "no check ran"))
    passed = all(check.status == Status.PASSED for check in report.checks)
    result = {
        "version": 1,
        "status": "pass" if passed else "fail",
        "max_score": float(report.max_score),
        "tests": [_test(check) for check in report.checks],
    }
    return json.dumps(result, ensure_ascii=False) + "\n"


def _test(check: CheckResult) -> dict[str, Any]:
    status = {Status.PASSED: "pass", Status.FAILED: "fail"}.get(check.status, "error")
    message = ""
    if check.status != Status.PASSED:  # the shared rules: a hidden check's details withheld
        sections = text.failure(check)
        message = sections.withheld or (f"{check.status}: {sections.message}" if sections.message else "")
    return {"name": text.clean(check.name), "status": status, "message": message, "line_no": 0,
            "execution_time": f"{check.duration_s:.2f}s", "score": float(check.score)}
