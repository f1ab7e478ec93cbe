"""The report as Gradescope's ``results.json`` (gradescope-autograders.readthedocs.io, "specs").

Each check is a test with its own ``visibility``. A hidden check's details (message, shrunk
input, hint, printed output) go only into its own ``output``, which Gradescope shows with the
test, that is only once its visibility allows; the top-level ``output`` holds nothing that
depends on a check, not even the total, which would give hidden results away.

A report without a score (the grader failed, ``gradable`` is False) has no ``results.json``:
Gradescope needs a score in a valid file, and a 0 would be recorded as the student's grade.
Without the file, Gradescope marks the run "The autograder failed to execute correctly",
asks the student to contact the course staff, and the staff can rerun the autograder once
the grader is fixed. ``render`` raises ``NotGradable`` with the reason, for the log.
"""

from __future__ import annotations

import json
import math
from typing import Any

from grader.render import text
from grader.report import CheckResult, Report, Status

VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")


class NotGradable(ValueError):
    """The report claims no score, so there must be no results.json (see the module's doc)."""


def render(report: Report, *, hidden_visibility: str = "after_published") -> str:
    """``results.json`` for ``report``; hidden checks get ``hidden_visibility``."""
    if hidden_visibility not in VISIBILITIES:
        raise ValueError(f"hidden_visibility must be one of {', '.join(VISIBILITIES)}, "
                         f"not {hidden_visibility!r}")
    if report.score is None:
        raise NotGradable(f"no score for {report.submission} ({report.exercise}): the grader failed: "
                          + (text.problem(report) or _first_grader_error(report)))
    results: dict[str, Any] = {
        "score": float(report.score),
        "max_score": float(report.max_score),
        "execution_time": math.ceil(report.timings.get("total_s", 0.0)),  # whole seconds, as documented
        "output": _output(report),
        "output_format": "text",  # the default, "simple_format", would render a student's text as HTML
        "visibility": "visible",
        "stdout_visibility": "hidden",  # the grader's log is for the staff
        "tests": [_test(check, hidden_visibility) for check in report.checks],
    }
    return json.dumps(results, indent=2, ensure_ascii=False) + "\n"


def _output(report: Report) -> str:
    lines = [f"{report.exercise}: {text.clean(report.submission)}, "
             f"graded by d2l-grader {report.grader_version}"]
    if report.problem:
        lines.append(f"Problem with the submission: {text.problem(report)}")
    if report.notes:
        lines += ["Notebook notes (cells run one by one; these cost no points):",
                  *(f"  {text.clean(note.text)}" for note in report.notes)]
    return "\n".join(lines)


def _test(check: CheckResult, hidden_visibility: str) -> dict[str, Any]:
    return {
        "name": text.clean(check.name),
        "score": float(check.score),
        "max_score": float(check.max_score),
        # Gradescope knows only these two; an error or a check not run did not pass.
        "status": "passed" if check.status == Status.PASSED else "failed",
        "output": _details(check),
        "visibility": hidden_visibility if check.hidden else "visible",
    }


def _details(check: CheckResult) -> str:
    if check.status == Status.PASSED:
        return ""
    # Gradescope withholds a hidden test's output until its visibility allows.
    shown = text.failure(check, show_hidden=True)
    lines = [f"{check.status}: {shown.message}" if shown.message else str(check.status)]
    if shown.counterexample:
        lines += ["shrunk input:", shown.counterexample]
    if shown.output:
        lines += ["your code printed:", shown.output]
    if shown.hint:
        lines.append(f"hint: {shown.hint}")
    return "\n".join(lines)


def _first_grader_error(report: Report) -> str:
    faults = [text.message(check) for check in report.checks if check.fault == "grader"]
    return faults[0] if faults else "no check ran"
