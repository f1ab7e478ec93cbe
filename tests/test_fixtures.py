"""Every exercise's material, graded end to end.

For each exercise: the reference solution scores full marks, the student stub (.py and
.ipynb) scores 0 with "not implemented" on every check, and every fixture in
``tests/submissions/<exercise>/`` scores exactly as its ``expected.json`` entry says:
the score, every check that does not pass with its status, and for each of them a message
fragment that names the cause. Checks a fixture does not list must pass, except the two
worth no points that need a real GPU: where there is none they are exactly the checks not
run, saying "no GPU"; where there is one they run (their outcome is the GPU's business).
The rest of a report is the same on a machine with a GPU and without: the student's code
never sees a real GPU, only simulated counts.
A notebook's entry may list its ``notes`` (each the start of one note's text, in order).
"""

from __future__ import annotations

import fnmatch
import json

import pytest
import torch

from grader.grading.exercises import all_exercises
from grader.report import Status
from tests.conftest import ROOT, SUBMISSIONS

EXERCISES = sorted(all_exercises())


# The checks that need a real GPU (exercise6), worth no points.
GPU_CHECKS = frozenset({"to_device: moves a tensor and a module to a real GPU (cuda:0)",
                        "model_device: finds a net on a real GPU (cuda:0)",
                        "load_params_to: loads a file saved on a real GPU onto it (cuda:0)"})


def assert_gpu_checks_ran_where_they_can(checks) -> None:
    """Without a GPU, ``checks`` (GPU checks the student's code did not break) are not run,
    saying "no GPU"; with one, they ran."""
    for check in checks:
        assert check.name in GPU_CHECKS and check.max_score == 0, check.name
        if torch.cuda.is_available():
            assert check.status != Status.NOT_RUN, (check.name, check.message)
        else:
            assert (check.status, check.message) == (Status.NOT_RUN, "no GPU")


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
    """The report scores as the fixture's expected.json entry says (see the module's
    docstring), and each message fragment is found where the entry says."""
    listed = expected["not_passed"]
    gpu = [c for c in report.checks if c.name in GPU_CHECKS and c.name not in listed]
    not_passed = {c.name: c.status.value for c in report.checks
                  if c.status != Status.PASSED and c.name not in {g.name for g in gpu}}
    assert not_passed == listed
    assert report.score == expected["score"]
    assert_gpu_checks_ran_where_they_can(gpu)
    fragments = expected["message_contains"]
    # A fragment per check that does not pass, under its name or "*" (every such check).
    assert set(fragments) <= {"*", *listed}, (
        f"keys naming no check that fails: {set(fragments) - {'*', *listed}}"
    )
    assert ("*" in fragments and listed) or set(fragments) == set(listed), (
        f"checks without a message fragment: {set(listed) - set(fragments)}"
    )
    if "notes" in expected:  # a notebook's notes: the start of each text, "*" matching anything
        texts = [note.text for note in report.notes]
        assert len(texts) == len(expected["notes"]), texts
        for text, start in zip(texts, expected["notes"], strict=True):
            assert fnmatch.fnmatchcase(text, start + "*"), (text, start)
    for check in report.checks:
        if check.name in listed:
            for key in ("*", check.name):
                if key in fragments:
                    assert fragments[key] in check.message.lower(), (check.name, check.message)
            assert check.message, check.name
            assert check.fault in ("student", "") and "Traceback" not in check.message


@pytest.mark.parametrize("exercise", EXERCISES)
def test_reference_solution_scores_full_marks(grade_file, exercise):
    report = grade_file(ROOT / "solutions" / f"{exercise}.py", exercise)
    gpu = [c for c in report.checks if c.name in GPU_CHECKS]
    failing = [
        (c.name, c.message) for c in report.checks if c.status != Status.PASSED and c.name not in GPU_CHECKS
    ]
    assert not failing
    assert_gpu_checks_ran_where_they_can(gpu)
    assert all(c.status == Status.PASSED for c in gpu if c.status != Status.NOT_RUN)
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
