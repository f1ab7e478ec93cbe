"""The renderings ``grade --format`` writes beside the JSON report, each under a fixed name.

The renderers are pure; what they need from the moment and the machine (the time and host
for JUnit, the student's name for the gradebook) is supplied here.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from grader.atomic import write_text_atomic
from grader.render import to_classroom, to_csv, to_gradescope, to_junit, to_markdown
from grader.report import Report

FILES = {"junit": "junit.xml", "markdown": "summary.md", "gradescope": "results.json", "csv": "gradebook.csv",
         "classroom": "classroom.json", "html": "report.html"}
# Where a missing result file shows as a failed run for the staff to rerun, not as a grade.
PLATFORM = {"gradescope": "On Gradescope", "classroom": "In GitHub Classroom"}
STEP_SUMMARY = "GITHUB_STEP_SUMMARY"


def write(report: Report, formats: Sequence[str], folder: Path, *, student: str) -> list[str]:
    """Write each of ``formats`` into ``folder``, and append the Markdown summary to the file
    ``$GITHUB_STEP_SUMMARY`` names, if any. Returns what to tell the user."""
    notes, written = [], []
    for name in dict.fromkeys(formats):  # each once, in the order given
        path = folder / FILES[name]
        try:
            write_text_atomic(path, _render(name, report, student))
        except to_gradescope.NotGradable as why:
            path.unlink(missing_ok=True)  # an older results.json must not pass for this grade
            notes.append(f"No {path}: {why}. ({PLATFORM[name]} the run then shows as failed, for the staff "
                         "to rerun once the grader is fixed.)")
            continue
        written.append(path.name)
    if written:
        notes.insert(0, f"Wrote {', '.join(written)} to {folder}")
    summary = os.environ.get(STEP_SUMMARY)
    if summary:
        _append(Path(summary), _render("markdown", report, student))
        notes.append(f"Appended the summary to ${STEP_SUMMARY}")
    return notes


def _render(name: str, report: Report, student: str) -> str:
    if name == "junit":
        now = datetime.now(UTC).replace(tzinfo=None)  # the schema's timestamps have no zone: UTC
        return to_junit.render(report, timestamp=now, hostname=socket.gethostname())
    if name == "markdown":
        return to_markdown.render(report)
    if name == "gradescope":
        return to_gradescope.render(report)
    if name == "classroom":
        return to_classroom.render(report)
    if name == "html":
        from grader.render import to_html  # matplotlib, for its figures: only when asked for

        return to_html.render(report)
    return to_csv.render({student: {report.exercise: report}}, [report.exercise])


def _append(path: Path, text: str) -> None:
    # GitHub collects the step's summary from this file; other steps may have written to it.
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text + "\n")
