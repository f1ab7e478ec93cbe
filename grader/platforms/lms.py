"""``grade export canvas|moodle OUT --out FILE``: a batch's grades in an LMS's import format.

    OUT/manifest.json (grade batch, or grade merge) --+--> canvas.csv / moodle.csv
    --roster CSV (submission folder -> LMS identity) -+

Canvas reads ``Student, ID, SIS User ID, SIS Login ID, Section`` then one column per
assignment, with a "Points Possible" row under the header. Moodle's grade import reads an
identifier column (``Email address`` from a roster, else ``Username``) then one column per
grade item, mapped by hand on import. A grade the grader could not give (an infrastructure
error) is left blank, never 0; so is an exercise a student did not submit. Students on one
side only (a submission nobody in the roster owns, a roster entry without submissions) are
listed, never dropped in silence: the first cannot be imported and are left out of the
file, the second get a row of blanks.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import click

from grader.atomic import write_text_atomic
from grader.batch.scheduler import MANIFEST, Outcome, read_manifest
from grader.render import text, to_csv

ROSTER_KEY = "submission"  # the roster's column naming each student's folder in the batch
CANVAS_IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MOODLE_IDENTITY = ("Email address",)
MOODLE_WITHOUT_ROSTER = ("Username",)  # the folder names are no e-mail addresses


@dataclass(frozen=True)
class Export:
    """The file's text, and who is on one side only."""

    text: str
    unowned: list[str]  # submission folders no roster entry names: not in the file
    absent: list[str]  # roster entries without any submission: rows of blanks


def read_roster(path: Path, identity: Sequence[str]) -> dict[str, dict[str, str]]:
    """The roster CSV: a ``submission`` column and the LMS's identity columns."""
    with path.open(newline="", encoding="utf-8-sig") as handle:  # -sig: spreadsheets' BOM
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        missing = [name for name in (ROSTER_KEY, *identity) if name not in columns]
        if missing:
            raise click.UsageError(
                f"{path} lacks the column(s) {', '.join(missing)} "
                f"(it needs {ROSTER_KEY!r} and {', '.join(identity)})"
            )
        roster: dict[str, dict[str, str]] = {}
        for row in reader:
            key = (row.get(ROSTER_KEY) or "").strip()
            if key in roster:
                raise click.UsageError(f"{path}: submission {key!r} appears twice")
            if key:
                roster[key] = {name: (row.get(name) or "").strip() for name in identity}
    return roster


def default_roster(
    students: Sequence[str], identity: Sequence[str], filled: Sequence[str]
) -> dict[str, dict[str, str]]:
    """Without a roster: each folder name stands in the ``filled`` columns (the LMS matches
    on the last of them)."""
    return {s: {name: s if name in filled else "" for name in identity} for s in students}


def export(
    outcomes: Sequence[Outcome],
    roster: Mapping[str, Mapping[str, str]],
    identity: Sequence[str],
    *,
    points_row: bool,
) -> Export:
    """The import file for ``outcomes`` (one per student and exercise)."""
    exercises = sorted({o.exercise for o in outcomes})
    by_student: dict[str, dict[str, Outcome]] = {}
    for outcome in outcomes:
        by_student.setdefault(outcome.student, {})[outcome.exercise] = outcome
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*identity, *exercises])
    if points_row:
        maxima = [_points_possible(outcomes, exercise) for exercise in exercises]
        writer.writerow(["Points Possible", *[""] * (len(identity) - 1), *maxima])
    for key in sorted(roster):
        graded = by_student.get(key, {})
        writer.writerow(
            [
                *(to_csv.literal(roster[key][name]) for name in identity),
                *(_grade(graded.get(exercise)) for exercise in exercises),
            ]
        )
    return Export(
        out.getvalue(), sorted(set(by_student) - set(roster)), sorted(set(roster) - set(by_student))
    )


def _points_possible(outcomes: Sequence[Outcome], exercise: str) -> str:
    maxima = {o.max_score for o in outcomes if o.exercise == exercise and o.source != "error"}
    return text.number(max(maxima)) if maxima else ""


def _grade(outcome: Outcome | None) -> str:
    if outcome is None or outcome.source == "error" or outcome.score is None:
        return ""  # not submitted, or not graded: blank leaves the LMS's grade as it is
    return text.number(outcome.score)


@click.group("export")
def export_command() -> None:
    """Turn a batch's OUT into an LMS's grade import file."""


def _lms_command(
    name: str,
    identity: Sequence[str],
    default_identity: Sequence[str],
    filled: Sequence[str],
    points_row: bool,
) -> click.Command:
    @click.command(name, help=f"Write OUT's grades as {name.capitalize()}'s grade import CSV.")
    @click.argument("out", type=click.Path(exists=True, file_okay=False, path_type=Path))
    @click.option(
        "--out",
        "target",
        required=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help="The CSV file to write.",
    )
    @click.option(
        "--roster",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help=f"CSV with a {ROSTER_KEY!r} column (the submission folder names) and "
        f"{', '.join(identity)}. Without it, the folder name is the {filled[-1]!r}.",
    )
    def command(out: Path, target: Path, roster: Path | None) -> None:
        if not (out / MANIFEST).is_file():
            raise click.UsageError(f"{out} holds no {MANIFEST}: give the --out of grade batch or grade merge")
        _, outcomes = read_manifest(out)
        students = sorted({o.student for o in outcomes})
        columns = identity if roster else default_identity
        people = read_roster(roster, columns) if roster else default_roster(students, columns, filled)
        result = export(outcomes, people, columns, points_row=points_row)
        write_text_atomic(target, result.text)
        _tell(target, len(people), result, outcomes)

    return command


def _tell(target: Path, rows: int, result: Export, outcomes: Sequence[Outcome]) -> None:
    click.echo(f"Wrote {target}: {rows} students.")
    errors = sorted({f"{o.student}/{o.exercise}" for o in outcomes if o.source == "error"})
    if errors:
        click.echo(
            f"Left blank, not graded (infrastructure errors; rerun grade batch): {', '.join(errors)}",
            err=True,
        )
    if result.unowned:
        click.echo(f"Not in the file: no roster entry for {', '.join(result.unowned)}", err=True)
    if result.absent:
        click.echo(f"No submission (their row is blank): {', '.join(result.absent)}", err=True)


export_command.add_command(
    _lms_command("canvas", CANVAS_IDENTITY, CANVAS_IDENTITY, ("Student", "SIS Login ID"), points_row=True)
)
export_command.add_command(
    _lms_command("moodle", MOODLE_IDENTITY, MOODLE_WITHOUT_ROSTER, MOODLE_WITHOUT_ROSTER, points_row=False)
)
