"""A batch's worker server holds its memory in huge pages (grader/sandbox/huge_pages.py), so
that each of its many forks copies 70 page-table entries instead of 37,000; a one-off
grade's server does not spend the 0.2 s. Either way the workers grade alike."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from grader.grading.engine import grade
from grader.grading.exercises import all_exercises
from grader.grading.sandbox_setup import start_launcher
from tests.conftest import ROOT, TEST_LIMITS

THP = Path("/sys/kernel/mm/transparent_hugepage/enabled")
needs_collapse = pytest.mark.skipif(
    not THP.exists() or "[never]" in THP.read_text()
    or tuple(map(int, re.findall(r"\d+", Path("/proc/sys/kernel/osrelease").read_text())[:2])) < (6, 1),
    reason="needs Linux 6.1 (MADV_COLLAPSE) with transparent huge pages not turned off")


def _huge_kib(pid: int) -> int:
    rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    return int(re.search(r"AnonHugePages:\s+(\d+) kB", rollup).group(1))


@needs_collapse
@pytest.mark.parametrize("many_workers", [True, False])
def test_only_a_server_for_many_workers_collapses_its_memory(many_workers):
    exercise = all_exercises()["exercise3"]
    launcher = start_launcher((), [exercise], many_workers=many_workers)
    try:
        report = grade(ROOT / "solutions" / "exercise3.py", exercise, limits=TEST_LIMITS, launcher=launcher)
        assert report.score == report.max_score
        time.sleep(0.3)  # the collapse runs after the server says it is ready
        huge = _huge_kib(launcher._process.pid)
    finally:
        launcher.close()
    if many_workers:
        assert huge >= 64 * 1024, f"only {huge} KiB of the server in huge pages"
    elif "[madvise]" in THP.read_text():  # with "always", the kernel gives huge pages anyway
        assert huge < 64 * 1024, "a server for one grade spent its start collapsing memory"
