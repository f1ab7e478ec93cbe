"""The exercises the grader knows: one package under ``grader/checks`` each."""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import grader

CHECKS_DIR = Path(__file__).resolve().parent / "checks"
GRADER_DIR = Path(grader.__file__).resolve().parent


@dataclass(frozen=True)
class Exercise:
    name: str  # "exercise3"
    title: str  # "Custom layers"

    @property
    def judges(self) -> Path:
        return CHECKS_DIR / self.name / "judges.py"

    @property
    def probes_module(self) -> str:
        return f"grader.checks.{self.name}.probes"


@lru_cache(maxsize=1)
def all_exercises() -> dict[str, Exercise]:
    found = {}
    for folder in sorted(CHECKS_DIR.glob("exercise*/")):
        if (folder / "judges.py").exists() and (folder / "probes.py").exists():
            package = importlib.import_module(f"grader.checks.{folder.name}")
            found[folder.name] = Exercise(folder.name, getattr(package, "TITLE", folder.name))
    return found


def probes_modules(exercises: Iterable[Exercise] | None = None) -> list[str]:
    """The probe modules a worker server imports before any submission: the shared ones and
    those of ``exercises`` (default: all)."""
    chosen = all_exercises().values() if exercises is None else exercises
    return ["grader.checks.common_probes", *(e.probes_module for e in chosen)]


@lru_cache(maxsize=1)
def checks_version() -> str:
    """A hash of the grader's code, judges and probes: what a report's verdicts depend on."""
    digest = hashlib.sha256()
    for path in sorted(GRADER_DIR.rglob("*")):
        if path.suffix in (".py", ".ini") and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(GRADER_DIR)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]
