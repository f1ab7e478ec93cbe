"""Where hidden checks live: only in ``hidden_judges.py``, which a student release leaves out
whole. A hidden check in ``judges.py`` would ship to students; a public one in
``hidden_judges.py`` would silently vanish from their copy.
"""

from __future__ import annotations

import importlib

import pytest

from grader.course.check_inventory import declared_checks, exercise_checks
from grader.grading.exercises import all_exercises

EXERCISES = sorted(all_exercises())


@pytest.mark.parametrize("exercise", EXERCISES)
def test_judges_py_holds_only_public_checks(exercise):
    checks = declared_checks(all_exercises()[exercise].judges)
    assert checks
    assert [c.name for c in checks if c.hidden] == []


@pytest.mark.parametrize("exercise", EXERCISES)
def test_hidden_judges_py_holds_only_hidden_checks(exercise):
    path = all_exercises()[exercise].hidden_judges
    if not path.exists():
        pytest.skip(f"{exercise} has no hidden checks")
    checks = declared_checks(path)
    assert checks, f"{path} declares no checks"
    assert [c.name for c in checks if not c.hidden] == []


@pytest.mark.parametrize("exercise", EXERCISES)
def test_public_judges_do_not_need_the_hidden_ones(exercise):
    """The release deletes hidden_judges.py: nothing public may import it."""
    source = all_exercises()[exercise].judges.read_text(encoding="utf-8")
    assert "hidden_judges" not in source


@pytest.mark.parametrize("exercise", EXERCISES)
def test_every_check_is_declared_once(exercise):
    """Each judge is collected from one file only (a test function imported into
    hidden_judges.py from judges.py would run twice)."""
    exercise_ = all_exercises()[exercise]
    names = [c.name for c in exercise_checks(exercise_)]
    assert len(names) == len(set(names))
    if exercise_.hidden_judges.exists():
        module = importlib.import_module(f"grader.checks.{exercise}.hidden_judges")
        assert not [name for name in vars(module) if name.startswith("test")
                    and name not in {c.function for c in declared_checks(exercise_.hidden_judges)}]


def test_probes_only_hidden_checks_call_are_preloaded_too(tmp_path, monkeypatch):
    """hidden_probes.py, where an exercise has one, is imported by the worker server like
    probes.py (a release leaves it out with the hidden judges)."""
    from grader.grading import exercises

    monkeypatch.setattr(exercises, "CHECKS_DIR", tmp_path)
    (tmp_path / "exercise9").mkdir()
    exercise = exercises.Exercise("exercise9", "a test")
    expected = ["grader.checks.common_probes", "grader.checks.exercise9.probes"]
    assert exercises.probes_modules([exercise]) == expected
    (tmp_path / "exercise9" / "hidden_probes.py").write_text("")
    assert exercise.probes_modules == ["grader.checks.exercise9.probes",
                                       "grader.checks.exercise9.hidden_probes"]
