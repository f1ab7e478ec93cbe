"""``grade watch exerciseN [PATH]``: grade again each time the file is saved, kept warm.

    start the worker server once -> grade -> print the table -> wait for a save (polling
    the file's size and mtime, then its hash) -> grade again with the same worker server
    and the same pytest-ready process -> print the table and what changed -> ... -> Ctrl-C

Each run is the pipeline of ``grade exerciseN`` (``engine.grade``), with the same
confinement and the same report; only the start-up is paid once. Like a batch, a run replays
the inputs of checks that passed before (``grading.replay``), and a check whose replay fails
runs under hypothesis afresh, shrinking included: the verdicts are those of a cold run.
A save is graded once the file has stopped changing for ``SETTLE_S`` (editors write in
steps) and only when its bytes changed (a touch regrades nothing).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from grader.grading.submission import file_sha256
from grader.report import Report, Status

# A save is seen within POLL_S, and graded once the file has kept still for SETTLE_S (an
# editor that writes in steps; one caught halfway is graded again when it ends).
POLL_S = 0.05
SETTLE_S = 0.05
MARK = {Status.PASSED: "✓", Status.FAILED: "✗", Status.ERROR: "✗", Status.NOT_RUN: "–"}


@dataclass(frozen=True)
class Stamp:
    """What a save changes: the file's size and mtime (cheap), then its bytes."""

    size: int
    mtime_ns: int

    @staticmethod
    def of(path: Path) -> Stamp | None:
        try:
            stat = path.stat()
        except OSError:  # an editor replacing the file: it is back in a moment
            return None
        return Stamp(stat.st_size, stat.st_mtime_ns)


def changes(before: Report | None, after: Report) -> list[str]:
    """What differs between two runs, for a student: each check whose status changed, then
    the score ("CenteredLayer: output has zero mean ✗ → ✓", "score 16/20 → 20/20")."""
    if before is None:
        return []
    old = {check.name: check.status for check in before.checks}
    lines = [f"{check.name} {MARK[old[check.name]]} → {MARK[check.status]}"
             for check in after.checks if check.name in old and old[check.name] != check.status]
    lines += [f"{check.name}: new" for check in after.checks if check.name not in old]
    if (before.score, before.max_score) != (after.score, after.max_score):
        lines.append(f"score {_score(before)} → {_score(after)}")
    return lines


def _score(report: Report) -> str:
    return "no score" if report.score is None else f"{report.score:g}/{report.max_score:g}"


def wait_for_save(path: Path, last_sha256: str, *, sleep: Callable[[float], None] = time.sleep) -> None:
    """Block until ``path`` holds bytes other than ``last_sha256`` (the ones last graded:
    a save during grading counts) and has stopped changing."""
    seen: Stamp | None = None
    while True:
        now = Stamp.of(path)
        if now is None or now == seen:
            sleep(POLL_S)
            continue
        seen = now
        sleep(SETTLE_S)  # editors write in steps: wait until the file stops changing
        if Stamp.of(path) != seen:
            continue
        try:
            digest = file_sha256(path)
        except OSError:
            continue
        if digest != last_sha256:
            return


def watch(path: Path, grade_once: Callable[[], Report], show: Callable[[Report, list[str]], None]) -> None:
    """Grade ``path`` now and after every save, until interrupted (KeyboardInterrupt: the
    caller says goodbye)."""
    previous: Report | None = None
    while True:
        report = grade_once()
        show(report, changes(previous, report))
        previous = report
        wait_for_save(path, report.submission_sha256)
