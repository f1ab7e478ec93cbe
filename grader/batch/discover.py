"""Finding the submissions in an instructor's folder: who submitted what for which exercise.

Layouts recognised (DIR is the folder given to ``grade batch``):

    DIR/<student>/exercise3.py|.ipynb           a folder per student
    DIR/<student>.py|.ipynb   with --exercise   a file per student, one exercise
    DIR/submitted/<student>/<assignment>/...    nbgrader; DIR may also be submitted/ itself
    DIR/<repo>/exercises/exercise3.py|.ipynb    GitHub Classroom clones: the repositories'
                                                common "<assignment>-" prefix is dropped

Within a student's folder a file counts when its name is an exercise's (exercise3.ipynb) or
when it sits in a folder of that name (nbgrader's submitted/alice/exercise3/work.ipynb), or,
with --exercise, when it is the student's only .py/.ipynb file. Everything else that looks
like code is listed as skipped, with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

from grader.grading.file_choice import choose

SUFFIXES = (".py", ".ipynb")
# Never submissions: editor and OS litter, and the course's own code in Classroom clones.
IGNORED_DIRS = {".git", ".github", ".ipynb_checkpoints", "__pycache__", "__MACOSX", ".venv", "venv",
                "grader", "tests", "solutions", "benchmarks", "reports", "node_modules"}


@dataclass(frozen=True)
class Job:
    """One submission to grade."""

    student: str
    exercise: str
    path: Path
    targets: tuple[str, ...] | None = None  # grade only these API names' checks (grade audit)


@dataclass(frozen=True)
class Skipped:
    path: Path
    why: str


@dataclass(frozen=True)
class Found:
    jobs: list[Job]
    skipped: list[Skipped]
    layout: str  # a phrase for the user: which layout was recognised


def discover(root: Path, exercises: Collection[str], exercise: str | None = None) -> Found:
    """The submissions under ``root`` for the known ``exercises`` (``exercise``: the one
    exercise that files named otherwise are graded as)."""
    root, layout = _submissions_root(root)
    candidates: dict[tuple[str, str], list[Path]] = {}
    skipped: list[Skipped] = []
    for path in _code_files(root):
        if path.is_symlink():  # a link grades what it points to: a classmate's file, the solutions
            skipped.append(Skipped(path, f"a symbolic link (to {os.readlink(path)}): not graded"))
            continue
        parts = path.relative_to(root).parts
        if len(parts) == 1:
            if exercise is None:
                skipped.append(Skipped(path, "a file directly in DIR: give --exercise N to grade "
                                             "files named after students"))
            else:
                candidates.setdefault((path.stem, exercise), []).append(path)
                layout = "a file per student"
            continue
        chosen = _exercise_of(parts[1:], exercises, exercise)
        if chosen is None:
            skipped.append(Skipped(path,
                                   "not named after an exercise (" + ", ".join(sorted(exercises)) + ")"))
            continue
        candidates.setdefault((parts[0], chosen), []).append(path)
    jobs = []
    for (student, name), paths in sorted(candidates.items()):
        best, others = _pick(paths, name)
        jobs.append(Job(student, name, best))
        instead = f"{best.relative_to(root)} is graded as {student}'s {name} instead"
        skipped += [Skipped(p, instead) for p in others]
    jobs, classroom = _drop_common_prefix(jobs, root)
    return Found(jobs, sorted(skipped, key=lambda s: str(s.path)), classroom or layout)


def _submissions_root(root: Path) -> tuple[Path, str]:
    if (root / "submitted").is_dir():
        return root / "submitted", "nbgrader (submitted/<student>/<assignment>/)"
    if root.name == "submitted":
        return root, "nbgrader (submitted/<student>/<assignment>/)"
    return root, "a folder per student"


def _code_files(root: Path) -> Iterator[Path]:
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in IGNORED_DIRS and not d.startswith("."))
        for name in sorted(files):
            if name.endswith(SUFFIXES) and not name.startswith("."):
                yield Path(folder) / name


def _exercise_of(parts: tuple[str, ...], exercises: Collection[str], exercise: str | None) -> str | None:
    """The exercise a file inside a student's folder is for, from its name or its folders."""
    stem = Path(parts[-1]).stem
    if stem in exercises:
        return stem
    for folder in reversed(parts[:-1]):
        if folder in exercises:
            return folder
    return exercise


def _pick(paths: list[Path], exercise: str) -> tuple[Path, list[Path]]:
    """One file per student and exercise: those named after the exercise first, then the
    one that is not the untouched stub, or the more recently saved (as ``grade`` does)."""
    named = [path for path in paths if path.stem == exercise]
    chosen, others, _ = choose(named or paths, exercise)
    return chosen, others + [path for path in paths if named and path not in named]


def _drop_common_prefix(jobs: list[Job], root: Path) -> tuple[list[Job], str]:
    """GitHub Classroom names repositories "<assignment>-<username>": keep the username."""
    if not jobs or not all(job.path.relative_to(root).parts[1:2] == ("exercises",) for job in jobs):
        return jobs, ""
    students = sorted({job.student for job in jobs})
    prefix = os.path.commonprefix(students) if len(students) > 1 else ""
    prefix = prefix[: prefix.rfind("-") + 1]
    if not prefix or any(s == prefix for s in students):
        return jobs, "GitHub Classroom clones (<repo>/exercises/)"
    renamed = [Job(job.student.removeprefix(prefix), job.exercise, job.path) for job in jobs]
    return renamed, f"GitHub Classroom clones (<repo>/exercises/, prefix {prefix!r} dropped)"
