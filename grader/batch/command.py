"""``grade batch DIR --out OUT`` and ``grade merge OUT... --out MERGED``.

The coordinator never imports torch: it finds submissions, serves cached reports, hands the
rest to grading processes (``pool``) and writes the class view (``aggregate``). A fully
cached rerun therefore takes well under a second per hundred submissions.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from grader.batch.discover import Found, Job, discover
from grader.batch.progress import Progress
from grader.batch.run import Outcome, Settings, default_parallel, grade_batch, read_manifest

EXIT_GRADED, EXIT_USAGE, EXIT_NO_GRADE, EXIT_INTERRUPTED = 0, 2, 3, 130
SKIPPED_SHOWN = 20


def _shard(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise click.BadParameter("write it k/N, e.g. 2/8") from None
    if not 1 <= k <= n:
        raise click.BadParameter("k/N needs 1 <= k <= N")
    return k, n


def in_shard(job: Job, shard: tuple[int, int] | None) -> bool:
    """A deterministic 1/N of the students (all of a student's exercises go together)."""
    if shard is None:
        return True
    k, n = shard
    return int(hashlib.sha256(job.student.encode()).hexdigest()[:12], 16) % n == k - 1


@click.command("batch")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the reports, gradebook.csv and summary.md.")
@click.option("--exercise", default=None, help="Grade files named after students as this exercise.")
@click.option("-j", "--jobs", "parallel", type=click.IntRange(1, 256), default=None,
              help="Submissions graded at once (default: the number of cores).")
@click.option("--timeout", type=click.FloatRange(0.1, 600), default=10.0, show_default=True,
              help="Seconds one call into a submission may take (importing it: twice that).")
@click.option("--no-cache", is_flag=True, help="Grade every submission again, even if unchanged.")
@click.option("--shard", "shard_text", default=None, metavar="K/N",
              help="Grade only the K-th of N deterministic parts (then: grade merge).")
def batch(folder: Path, out: Path, exercise: str | None, parallel: int | None, timeout: float,
          no_cache: bool, shard_text: str | None) -> None:
    """Grade every submission under FOLDER into OUT."""
    from grader.exercises import all_exercises

    known = all_exercises()
    if exercise is not None and exercise not in known:
        raise click.BadParameter(f"no exercise {exercise!r}; there are {', '.join(known)}", param_hint="--exercise")
    shard = _shard(shard_text)
    found = discover(folder, known, exercise)
    jobs = [job for job in found.jobs if in_shard(job, shard)]
    _describe(found, jobs, shard)
    if not jobs:
        raise click.UsageError(f"no submissions found under {folder}")
    out.mkdir(parents=True, exist_ok=True)
    settings = Settings(out=out, parallel=parallel or default_parallel(), timeout_s=timeout,
                        use_cache=not no_cache, hide=(folder.resolve(),))
    sys.exit(_run(jobs, settings))


def _run(jobs: Sequence[Job], settings: Settings) -> int:
    from grader.batch.pool import PoolError
    from grader.exercises import checks_version

    progress = Progress(len(jobs))
    interrupted = False
    try:
        with progress:
            outcomes = grade_batch(jobs, settings, checks_version(), progress.advance)
    except KeyboardInterrupt:
        interrupted = True
    except PoolError as exc:
        click.echo(f"Could not grade: {exc}", err=True)
        return EXIT_NO_GRADE
    _, outcomes = read_manifest(settings.out)
    from grader.batch import aggregate

    aggregate.write_all(settings.out, outcomes, interrupted)
    return _conclude(settings.out, outcomes, len(jobs), interrupted)


def _conclude(out: Path, outcomes: Sequence[Outcome], total: int, interrupted: bool) -> int:
    counts = {source: sum(o.source == source for o in outcomes) for source in ("graded", "cached", "error")}
    click.echo(f"{len(outcomes)} of {total} submissions done: {counts['graded']} graded, "
               f"{counts['cached']} from the cache, {counts['error']} infrastructure errors.", err=True)
    click.echo(f"Gradebook: {out / 'gradebook.csv'}   summary: {out / 'summary.md'}   "
               f"reports: {out / 'reports'}/", err=True)
    errors = [o for o in outcomes if o.source == "error"]
    for outcome in errors:
        click.echo(f"  could not grade {outcome.student}/{outcome.exercise} ({outcome.path}): {outcome.error}",
                   err=True)
    if interrupted:
        click.echo("Interrupted: what was graded is kept; run the same command to go on.", err=True)
        return EXIT_INTERRUPTED
    if errors:
        click.echo("Run the same command again to retry only these.", err=True)
        return EXIT_NO_GRADE
    return EXIT_GRADED


def _describe(found: Found, jobs: Sequence[Job], shard: tuple[int, int] | None) -> None:
    students = sorted({job.student for job in jobs})
    exercises = sorted({job.exercise for job in jobs})
    part = f" (shard {shard[0]}/{shard[1]} of {len(found.jobs)})" if shard else ""
    click.echo(f"Found {len(jobs)} submissions{part}: {len(students)} students × {len(exercises)} "
               f"exercises ({', '.join(exercises)}); layout: {found.layout}.", err=True)
    for skipped in found.skipped[:SKIPPED_SHOWN]:
        click.echo(f"  skipped {skipped.path}: {skipped.why}", err=True)
    if len(found.skipped) > SKIPPED_SHOWN:
        click.echo(f"  ... and {len(found.skipped) - SKIPPED_SHOWN} more files skipped", err=True)


@click.command("merge")
@click.argument("parts", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the merged reports, gradebook.csv and summary.md.")
def merge(parts: tuple[Path, ...], out: Path) -> None:
    """Combine the OUT folders of sharded batch runs into one."""
    from grader.batch import aggregate
    from grader.batch.run import MANIFEST

    outcomes: dict[tuple[str, str], Outcome] = {}
    versions = set()
    for part in parts:
        if not (part / MANIFEST).exists():
            raise click.UsageError(f"{part} holds no {MANIFEST}: is it the --out of grade batch?")
        data, found = read_manifest(part)
        versions.add(data["checks_version"])
        for outcome in found:
            if outcome.report:
                target = out / outcome.report
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(part / outcome.report, target)
            outcomes[outcome.student, outcome.exercise] = outcome
    if len(versions) > 1:
        click.echo(f"Warning: the parts were graded by different checks versions: {sorted(versions)}", err=True)
    merged = sorted(outcomes.values(), key=lambda o: (o.student, o.exercise))
    aggregate.write_all(out, merged)
    sys.exit(_conclude(out, merged, len(merged), False))
