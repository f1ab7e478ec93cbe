"""``grade release OUT``: the students' copy of the course, with the hidden checks kept back.

OUT gets the exercises (``exercises/*.py`` and ``*.ipynb``), the grader package without any
``hidden_*`` file (``hidden_judges.py``, ``hidden_probes.py``, ...), ``pyproject.toml``,
``constraints.txt`` and a student README and Makefile. In each exercise's checks folder a
manifest (``hidden.json``) takes the hidden judges' place: how many there are and their
points, nothing about what they check, so that the student's ``grade exerciseN`` can say
what will run on submission. Reference solutions, the project's tests (whose fixtures are
realistic solutions), benchmarks and history stay behind: only what is listed here is
copied, so nothing new leaks by default.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import click

from grader.course.audit import EQUIVALENTS
from grader.grading import file_choice
from grader.grading.exercises import HIDDEN_MANIFEST, HIDDEN_PREFIX, Exercise, all_exercises
from grader.paths import GRADER_DIR, PROJECT_ROOT
from grader.report import HiddenChecks

COPIED_FILES = ("pyproject.toml", "constraints.txt")
# Everything a release writes at OUT's top level: what --force replaces, and nothing else
# (a student-facing repository's .git, say, stays).
WRITTEN = ("exercises", "grader", *COPIED_FILES, "README.md", "Makefile", "MANIFEST.in", ".gitignore")
# A course secret kept beside the grader by mistake (grader.grading.seed) never ships.
SECRET_PATTERNS = ("*.secret", "grading_secret")
# Build and cache litter; everything hidden (hidden_judges.py, and hidden_probes.py or any
# other hidden_* file or folder holding what only hidden checks use); any manifest a source
# tree may hold, since the release writes its own; and the audit's list of equivalent
# mutants, whose names quote the reference solution.
LEFT_OUT = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".pytest_cache", ".hypothesis",
                                  ".ruff_cache", f"{HIDDEN_PREFIX}*", HIDDEN_MANIFEST,
                                  file_choice.STUBS_MANIFEST, EQUIVALENTS, *SECRET_PATTERNS)


class ReleaseError(Exception):
    """The release cannot be written there (the message says why)."""


@click.command("release")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True,
              help="Write into OUT even if it is not empty, replacing what a release writes there.")
def release(out: Path, force: bool) -> None:
    """Write the students' copy of the course into OUT, hidden checks kept back."""
    try:
        withheld = write_release(out, force=force)
    except ReleaseError as error:
        raise click.UsageError(str(error)) from None
    click.echo(f"Wrote the student release to {out}")
    for name, hidden in withheld.items():
        click.echo(f"  {name}: {hidden.count} hidden check(s), {hidden.points:g} point(s) kept back")


def write_release(out: Path, *, force: bool = False) -> dict[str, HiddenChecks]:
    """Write the release into ``out``; returns each exercise's withheld checks."""
    check_target(out, force)
    exercises = all_exercises()
    withheld = {name: hidden_checks_of(exercise) for name, exercise in exercises.items()}
    out.mkdir(parents=True, exist_ok=True)
    for name in WRITTEN:
        _remove(out / name)
    _copy_exercises(out / "exercises")
    shutil.copytree(GRADER_DIR, out / "grader", ignore=LEFT_OUT)
    for name, hidden in withheld.items():
        _write_manifest(out / "grader" / "checks" / name / HIDDEN_MANIFEST, hidden)
        file_choice.write_manifest(out / "grader" / "checks" / name,
                                   sorted((out / "exercises").glob(f"{name}.*")))
    for name in COPIED_FILES:
        shutil.copy2(PROJECT_ROOT / name, out / name)
    from grader.course.release_texts import gitignore, makefile, manifest_in, readme

    (out / "README.md").write_text(readme(exercises, withheld), encoding="utf-8")
    (out / "Makefile").write_text(makefile(), encoding="utf-8")
    (out / "MANIFEST.in").write_text(manifest_in(), encoding="utf-8")
    (out / ".gitignore").write_text(gitignore(), encoding="utf-8")
    return withheld


def hidden_checks_of(exercise: Exercise) -> HiddenChecks:
    """The count and points of ``exercise``'s hidden checks: from its hidden judges, or, when
    this grader is itself a release, from the manifest that stands in for them."""
    if exercise.withheld is not None:
        return exercise.withheld
    from grader.course.check_inventory import declared_checks  # imports the judges: torch, hypothesis

    hidden = declared_checks(exercise.hidden_judges) if exercise.hidden_judges.exists() else []
    return HiddenChecks(count=len(hidden), points=sum(check.points for check in hidden))


def check_target(out: Path, force: bool) -> None:
    """Raise ReleaseError unless a release may be written into ``out``."""
    if not (PROJECT_ROOT / "exercises").is_dir() or not (PROJECT_ROOT / "pyproject.toml").is_file():
        raise ReleaseError(f"the grader runs from {PROJECT_ROOT}, which is not a course checkout "
                           "(no exercises/ or pyproject.toml); release from the instructors' checkout")
    target = out.resolve()
    if target.exists() and not target.is_dir():
        raise ReleaseError(f"{out} is a file, not a folder")
    # Replacing OUT's grader/ and exercises/ must never touch the ones being copied.
    copied = (PROJECT_ROOT / "exercises", GRADER_DIR)
    if target == PROJECT_ROOT or any(target == folder or folder in target.parents for folder in copied):
        raise ReleaseError(f"{out} would overwrite the course it copies ({PROJECT_ROOT}); "
                           "choose another folder")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise ReleaseError(f"{out} is not empty; give --force to replace the release in it")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _copy_exercises(folder: Path) -> None:
    folder.mkdir()
    for path in sorted((PROJECT_ROOT / "exercises").iterdir()):
        if path.suffix in (".py", ".ipynb") and path.is_file():
            shutil.copy2(path, folder / path.name)


def _write_manifest(path: Path, hidden: HiddenChecks) -> None:
    points = int(hidden.points) if float(hidden.points).is_integer() else hidden.points
    data = {"count": hidden.count, "points": points,
            "about": "checks kept back from this copy of the grader: they run when the work is submitted"}
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
