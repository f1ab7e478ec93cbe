"""One pytest session across submissions (grader/grading/warm_judges.py), as batch grading
and ``grade watch`` judge: each report is the one a fresh session writes, whatever was
graded before it in the same session."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.grading import exercises
from grader.grading.engine import grade
from grader.grading.exercises import all_exercises
from grader.grading.warm_judges import WarmJudges
from grader.sandbox import client
from tests.conftest import ROOT, SUBMISSIONS, TEST_LIMITS, without_timings

EX3 = SUBMISSIONS / "exercise3"
# In this order, in one session: a time limit, then a correct answer; a crash, then a
# notebook with notes; mistakes that shrink, the same mistake in several checks, a missing
# package; another exercise in between (two sessions open at once); stubs and solutions.
SEQUENCE = [
    ("exercise3", EX3 / "infinite_loop_forward.py"),
    ("exercise3", ROOT / "solutions" / "exercise3.py"),
    ("exercise3", EX3 / "os_exit.py"),
    ("exercise3", EX3 / "nb_undefined_after_error.ipynb"),
    ("exercise5", ROOT / "solutions" / "exercise5.py"),
    ("exercise3", EX3 / "mylinear_no_relu.py"),
    ("exercise3", EX3 / "centered_sum.py"),
    ("exercise3", EX3 / "missing_package.py"),
    ("exercise5", ROOT / "exercises" / "exercise5.py"),
    ("exercise3", ROOT / "exercises" / "exercise3.py"),
    ("exercise3", ROOT / "solutions" / "exercise3.py"),
    *((name, ROOT / "solutions" / f"{name}.py") for name in ("exercise1", "exercise2", "exercise4",
                                                             "exercise6")),
]


@pytest.fixture(scope="module")
def fresh(launcher) -> dict[tuple[str, Path], dict]:
    """Each case's report from a pytest session of its own."""
    return {(name, path): without_timings(grade(path, all_exercises()[name], limits=TEST_LIMITS,
                                                launcher=launcher))
            for name, path in dict.fromkeys(SEQUENCE)}


def test_a_warm_session_reports_what_fresh_sessions_do(launcher, fresh):
    judges = WarmJudges()
    try:
        for exercise, path in SEQUENCE:
            warm = grade(path, all_exercises()[exercise], limits=TEST_LIMITS, launcher=launcher,
                         judges=judges)
            assert without_timings(warm) == fresh[exercise, path], f"{path.name} after the ones before it"
    finally:
        judges.close()


def test_an_interrupted_run_leaves_the_next_submission_a_working_session(launcher, fresh, monkeypatch):
    judges = WarmJudges()
    real_run, calls = client.Sandbox.run, []

    def interrupted_once(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_run(self, *args, **kwargs)

    solution, exercise = ROOT / "solutions" / "exercise3.py", all_exercises()["exercise3"]
    try:
        monkeypatch.setattr(client.Sandbox, "run", interrupted_once)
        with pytest.raises(KeyboardInterrupt):
            grade(solution, exercise, limits=TEST_LIMITS, launcher=launcher, judges=judges)
        report = grade(solution, exercise, limits=TEST_LIMITS, launcher=launcher, judges=judges)
    finally:
        judges.close()
    assert without_timings(report) == fresh["exercise3", solution]


def test_judges_that_fail_to_import_give_a_report_in_either_session(launcher, tmp_path, monkeypatch):
    """A grader fault, not an interrupt: pytest calls a collection error an interruption."""
    broken = tmp_path / "judges_broken.py"
    broken.write_text("import a_module_nobody_installed\n")
    monkeypatch.setattr(exercises.Exercise, "judge_files", property(lambda self: [broken]))
    solution, exercise = ROOT / "solutions" / "exercise3.py", all_exercises()["exercise3"]
    judges = WarmJudges()
    try:
        reports = [grade(solution, exercise, limits=TEST_LIMITS, launcher=launcher, judges=each)
                   for each in (None, judges, judges)]
    finally:
        judges.close()
    assert reports[1].isolation == reports[0].isolation  # a worker imported it in either
    for report in reports:
        assert not report.checks
        assert report.problem.startswith("grader error: the judges did not run")
        assert "a_module_nobody_installed" in report.problem
