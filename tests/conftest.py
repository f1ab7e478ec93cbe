"""Shared fixtures: one worker server for the whole test session, as a batch would use."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from grader.grading.engine import grade
from grader.grading.exercises import all_exercises
from grader.grading.sandbox_setup import start_launcher
from grader.report import Report
from grader.sandbox.client import Limits

ROOT = Path(__file__).resolve().parents[1]
SUBMISSIONS = ROOT / "tests" / "submissions"
# Short limits keep the hang and crash cases quick; correct code needs milliseconds.
TEST_LIMITS = Limits(call_s=2.0, load_s=4.0)


@pytest.fixture(scope="session")
def launcher():
    started = start_launcher(plots=True)  # the notebook fixtures plot
    yield started
    started.close()


@pytest.fixture(scope="session")
def grade_file(launcher) -> Callable[..., Report]:
    def run(path: Path, exercise: str = "exercise3", limits: Limits = TEST_LIMITS) -> Report:
        return grade(Path(path), all_exercises()[exercise], limits=limits, launcher=launcher)

    return run


def without_timings(report: Report) -> dict:
    data = report.to_dict()
    data.pop("timings")
    for check in data["checks"]:
        check.pop("duration_s")
    return data
