"""The checks an exercise declares, read from its judge modules without running them.

The release needs the hidden checks' count and points for its manifest, and the project's
tests need to know which file each check sits in; both read the ``@check`` markers here.
Importing a judge module imports torch and hypothesis, so this is for instructors' commands
and tests, never for grading.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader.authoring.judging import MARKER
from grader.grading.exercises import Exercise
from grader.paths import PROJECT_ROOT


@dataclass(frozen=True)
class DeclaredCheck:
    function: str  # the judge's function name, "test_centered_zero_mean"
    name: str  # "<target>: <property>", as reports name it
    prop: str
    hint: str
    points: float
    hidden: bool


def declared_checks(path: Path) -> list[DeclaredCheck]:
    """The checks of one judge file (``exercise.judges`` or ``exercise.hidden_judges``), in
    the order they are defined."""
    module = importlib.import_module(_module_name(path))
    found = []
    for name, value in vars(module).items():
        marker = _marker(value)
        if marker is None or not name.startswith("test") or inspect.getmodule(value) is not module:
            continue  # a judge imported from elsewhere is that module's check
        kwargs = marker.kwargs
        found.append(DeclaredCheck(
            function=name, name=f"{kwargs['target']}: {kwargs['prop']}", prop=kwargs["prop"],
            hint=kwargs.get("hint", ""), points=float(kwargs["points"]),
                                   hidden=bool(kwargs.get("hidden", False)),
        ))
    return found


def exercise_checks(exercise: Exercise) -> list[DeclaredCheck]:
    """Every check of ``exercise`` that this copy of the grader holds, public ones first."""
    return [check for path in exercise.judge_files for check in declared_checks(path)]


def _marker(value: object) -> pytest.Mark | None:
    marks = getattr(value, "pytestmark", None) if callable(value) else None
    return next((mark for mark in marks or () if getattr(mark, "name", None) == MARKER), None)


def _module_name(path: Path) -> str:
    """.../grader/checks/exercise3/judges.py -> grader.checks.exercise3.judges"""
    return ".".join(path.resolve().relative_to(PROJECT_ROOT).with_suffix("").parts)
