"""Shared fixtures: one worker server for the whole test session, as a batch would use."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from grader.grading.engine import grade
from grader.grading.exercises import all_exercises, probes_modules
from grader.grading.sandbox_setup import hidden_paths, start_launcher
from grader.report import Report
from grader.sandbox.client import Limits
from grader.sandbox.launchers import ServerLauncher

ROOT = Path(__file__).resolve().parents[1]
SUBMISSIONS = ROOT / "tests" / "submissions"
# Short limits keep the hang and crash cases quick; correct code needs milliseconds.
TEST_LIMITS = Limits(call_s=2.0, load_s=4.0)
# "full" on the CI machine (Linux, root; .ci/run sets it): there every confinement must be in
# force, and a test of one that is missing fails instead of being skipped.
REQUIRED_ISOLATION = os.environ.get("GRADER_REQUIRE_ISOLATION", "")
if REQUIRED_ISOLATION not in ("", "full"):
    raise pytest.UsageError(f"GRADER_REQUIRE_ISOLATION={REQUIRED_ISOLATION!r}: only 'full' is known")


@pytest.fixture(scope="session")
def launcher():
    started = start_launcher(plots=True, many_workers=True)  # the notebook fixtures plot
    yield started
    started.close()


@pytest.fixture(scope="session")
def grade_file(launcher) -> Callable[..., Report]:
    def run(path: Path, exercise: str = "exercise3", limits: Limits = TEST_LIMITS) -> Report:
        return grade(Path(path), all_exercises()[exercise], limits=limits, launcher=launcher)

    return run


def grade_without_namespaces(path: Path, exercise: str = "exercise3") -> Report:
    """``path`` graded by a worker server of its own with namespaces turned off, as on a
    machine that refuses them (workers may then run as the grader's user)."""
    launcher = ServerLauncher(probes_modules(), hidden_paths(), namespaces=False)
    try:
        return grade(Path(path), all_exercises()[exercise], limits=TEST_LIMITS, launcher=launcher)
    finally:
        launcher.close()


def without_timings(report: Report) -> dict:
    data = report.to_dict()
    data.pop("timings")
    for check in data["checks"]:
        check.pop("duration_s")
    return data


def require(report: Report, aspect: str) -> None:
    """Go on only where ``aspect`` of the isolation is in force. Where this machine cannot
    put it in force the report must say why; then the test is skipped (``-rs`` lists it),
    except on a machine that must have full isolation, where it fails."""
    if aspect in report.isolation.in_force:
        return
    assert aspect in report.isolation.missing, f"{aspect}: neither in force nor said to be missing"
    why = f"{aspect} not in force here: {report.isolation.missing[aspect]}"
    if REQUIRED_ISOLATION == "full":
        pytest.fail(f"{why} (GRADER_REQUIRE_ISOLATION=full)")
    pytest.skip(why)
