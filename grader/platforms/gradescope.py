"""``grade gradescope-autograder OUT.zip --exercise exerciseN``: Gradescope's autograder archive.

What Gradescope expects at the archive's top level (its autograder specification):
``setup.sh``, run once, as root, when it builds the image, and ``run_autograder``, run for
every submission. Beside them goes the grader's source, which setup.sh installs:

    setup.sh          Python 3.11 if missing, then the grader into /autograder/venv, pinned
    run_autograder    python -m grader.platforms.gradescope_run for this exercise
    pyproject.toml, constraints.txt, README.md, grader/   (all checks, hidden ones too;
                      no solutions/, no tests/)
    grading_secret    the course secret, when one is given: it seeds the checks' inputs
                      (/autograder/source, where it lands, is hidden from student code)
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import click

from grader.cli import load_seed_or_usage_error, secret_file_option
from grader.grading.exercises import Exercise, all_exercises, withheld_checks
from grader.grading.seed import PUBLIC_SEED, GradingSeed
from grader.paths import GRADER_DIR, PROJECT_ROOT
from grader.platforms.gradescope_run import SECRET_NAME
from grader.platforms.templating import fill, template

PROJECT_FILES = ("pyproject.toml", "constraints.txt", "README.md")  # pip needs all three
SKIPPED_PARTS = {"__pycache__"}
# A fixed date: the same grader gives the same archive, byte for byte.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
EXECUTABLE, REGULAR, SECRET_MODE = 0o100755, 0o100644, 0o100600


@click.command("gradescope-autograder")
@click.argument("out", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--exercise", "exercise_name", required=True, type=click.Choice(list(all_exercises())),
              help="The exercise this Gradescope assignment grades.")
@secret_file_option
def gradescope_autograder(out: Path, exercise_name: str, secret_file: Path | None) -> None:
    """Build OUT, the autograder archive of a Gradescope programming assignment."""
    seed = load_seed_or_usage_error(secret_file)
    missing = [name for name in PROJECT_FILES if not (PROJECT_ROOT / name).is_file()]
    if missing:
        raise click.UsageError(f"{', '.join(missing)} not found in {PROJECT_ROOT}: build the archive "
                               "from a checkout of the grader")
    if withheld_checks(exercise_name) is not None:  # Gradescope is where hidden checks run
        raise click.UsageError(f"this copy of the grader lacks {exercise_name}'s hidden checks (a "
                               "student release): build the archive from the full grader")
    names = build_archive(out, all_exercises()[exercise_name], seed)
    click.echo(f"Wrote {out} ({len(names)} files) for {exercise_name}: upload it as the "
               "autograder of a Gradescope programming assignment.")
    if seed.secret:
        click.echo(
            f"It grades with the course seed {seed.fingerprint}; keep the archive as private as the secret."
        )
    else:
        click.echo(
            "Warning: no course secret (--secret-file, GRADER_SECRET): it grades with the public seed, "
            "whose inputs students can record from their release.",
            err=True,
        )


def build_archive(out: Path, exercise: Exercise, seed: GradingSeed = PUBLIC_SEED) -> list[str]:
    """Write the autograder archive for ``exercise`` to ``out`` (atomically); its names."""
    entries = [
        ("setup.sh", template("setup.sh").encode(), EXECUTABLE),
        ("run_autograder", fill(template("run_autograder"), EXERCISE=exercise.name).encode(), EXECUTABLE),
    ]
    if seed.secret:  # read by gradescope_run; at the top level, so pip never packages it
        entries.append((SECRET_NAME, seed.secret + b"\n", SECRET_MODE))
    entries += [(name, (PROJECT_ROOT / name).read_bytes(), REGULAR) for name in PROJECT_FILES]
    entries += [(name, path.read_bytes(), REGULAR) for name, path in _package_files()]
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data, mode in entries:
                info = zipfile.ZipInfo(name, ZIP_DATE)
                info.external_attr = mode << 16  # Gradescope runs run_autograder directly
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, data)
        os.replace(tmp, out)
    except BaseException:
        os.unlink(tmp)
        raise
    return [name for name, _, _ in entries]


def _package_files() -> Iterator[tuple[str, Path]]:
    """Every file of the grader package, as ``grader/...``, without compiled leftovers or
    hidden files (editor and tool caches)."""
    for path in sorted(GRADER_DIR.rglob("*")):
        parts = path.relative_to(PROJECT_ROOT).parts
        if (
            path.is_file()
            and path.suffix != ".pyc"
            and not any(part in SKIPPED_PARTS or part.startswith(".") for part in parts)
        ):
            yield "/".join(parts), path
