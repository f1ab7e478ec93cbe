"""``grade batch --html-reports``: each student's ``report.html`` beside their JSON report.

``reports/<student>/<exercise>.html`` is rendered from ``<exercise>.json`` (``to_html``), so
an instructor can hand it out. Each page ends with the sha256 of the JSON it was rendered
from; a page whose JSON is unchanged is kept, so a cached rerun draws no figure again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path

from grader.atomic import write_text_atomic
from grader.batch.scheduler import Outcome
from grader.report import Report


def page_path(outcome: Outcome) -> str:
    """The page of ``outcome``'s report, relative to OUT ("" when it has no report)."""
    return str(Path(outcome.report).with_suffix(".html").as_posix()) if outcome.report else ""


def write(out: Path, outcomes: Sequence[Outcome], reports: Mapping[tuple[str, str], Report]) -> int:
    """Write the pages that are missing or were rendered from another JSON; returns how many."""
    from grader.render import to_html

    written = 0
    for outcome in outcomes:
        report = reports.get((outcome.student, outcome.exercise))
        if report is None:
            continue
        page = out / page_path(outcome)
        stamp = f"<!-- rendered from a JSON report of sha256 {_sha256(out / outcome.report)} -->\n"
        if page.exists() and page.read_text(encoding="utf-8").endswith(stamp):
            continue
        write_text_atomic(page, to_html.render(report) + stamp)
        written += 1
    return written


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
