"""Every exercise's material, graded end to end.

For each exercise: the reference solution scores full marks, the student stub (.py and
.ipynb) scores 0 with "not implemented" on every check, and every fixture in
``tests/submissions/<exercise>/`` scores exactly as its ``expected.json`` entry says:
the score, every check that does not pass with its status, and message fragments. Checks
a fixture does not list must pass. A notebook's entry may list its ``notes`` (each the
start of one note's text, in order).
"""

from __future__ import annotations

import fnmatch
import json

import pytest

from grader.grading.exercises import all_exercises
from grader.report import Status
from tests.conftest import ROOT, SUBMISSIONS

EXERCISES = sorted(all_exercises())


def scored_here(check) -> bool:
    """False for a check worth no points that cannot run on this machine (a GPU check)."""
    return not (check.status == Status.NOT_RUN and check.max_score == 0)


def expectations() -> list[tuple[str, str, dict]]:
    cases = []
    for exercise in EXERCISES:
        path = SUBMISSIONS / exercise / "expected.json"
        if not path.exists():
            continue  # test_every_fixture_has_an_expectation fails for it
        expected = json.loads(path.read_text(encoding="utf-8"))
        cases += [(exercise, name, entry) for name, entry in sorted(expected.items())]
    return cases


@pytest.mark.parametrize("exercise", EXERCISES)
def test_every_fixture_has_an_expectation(exercise):
    folder = SUBMISSIONS / exercise
    files = {p.name for p in folder.iterdir() if p.suffix in (".py", ".ipynb")}
    assert (folder / "expected.json").exists(), f"{exercise} has no fixtures with expectations"
    assert files == set(json.loads((folder / "expected.json").read_text(encoding="utf-8")))


@pytest.mark.parametrize(("exercise", "name", "expected"), expectations(),
                         ids=[f"{e}/{n}" for e, n, _ in expectations()])
def test_fixture_scores_as_expected(grade_file, exercise, name, expected):
    assert_as_expected(grade_file(SUBMISSIONS / exercise / name, exercise), expected)


def assert_as_expected(report, expected: dict) -> None:
    """The report scores as the fixture's expected.json entry says."""
    not_passed = {c.name: c.status.value for c in report.checks
                  if c.status != Status.PASSED and scored_here(c)}
    assert not_passed == expected["not_passed"]
    assert report.score == expected["score"]
    for check_name, fragment in expected["message_contains"].items():
        for check in report.checks:
            if check_name in ("*", check.name) and check.status != Status.PASSED:
                assert fragment in check.message.lower(), (check.name, check.message)
    if "notes" in expected:  # a notebook's notes: the start of each text, "*" matching anything
        texts = [note.text for note in report.notes]
        assert len(texts) == len(expected["notes"]), texts
        for text, start in zip(texts, expected["notes"], strict=True):
            assert fnmatch.fnmatchcase(text, start + "*"), (text, start)
    for check in report.checks:
        if check.status != Status.PASSED:
            assert check.message, check.name
            assert check.fault in ("student", "") and "Traceback" not in check.message


@pytest.mark.parametrize("exercise", EXERCISES)
def test_reference_solution_scores_full_marks(grade_file, exercise):
    report = grade_file(ROOT / "solutions" / f"{exercise}.py", exercise)
    failing = [(c.name, c.message) for c in report.checks if c.status != Status.PASSED and scored_here(c)]
    assert not failing
    assert report.score == report.max_score > 0


@pytest.mark.parametrize("exercise", EXERCISES)
@pytest.mark.parametrize("suffix", [".py", ".ipynb"])
def test_student_stub_scores_zero_saying_not_implemented(grade_file, exercise, suffix):
    report = grade_file(ROOT / "exercises" / f"{exercise}{suffix}", exercise)
    assert report.score == 0
    for check in report.checks:
        assert check.status == Status.ERROR, check.name
        assert check.message.startswith("not implemented"), (check.name, check.message)
        assert check.fault == "student"
