"""``grade batch DIR --out OUT`` and ``grade merge OUT... --out MERGED``.

The coordinator never imports torch: it finds submissions, serves cached reports, hands the
rest to grading processes (``pool``) and writes the class view (``aggregate``). A fully
cached rerun therefore takes about a second per hundred submissions, start-up included.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from grader.batch.discover import Found, Job, discover
from grader.batch.progress import Progress
from grader.batch.scheduler import (
    Outcome,
    Settings,
    default_parallel,
    grade_batch,
    read_manifest,
    write_manifest,
)
from grader.cli import isolation_option, load_seed_or_usage_error, secret_file_option

EXIT_GRADED, EXIT_USAGE, EXIT_NO_GRADE, EXIT_INTERRUPTED = 0, 2, 3, 130
SKIPPED_SHOWN = 20
HTML_REPORTS_HELP = ("Also write each student's report.html beside their JSON "
                     "(reports/<student>/<exercise>.html).")


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
              help="Folder for the reports, gradebook.csv, summary.md and dashboard.html.")
@click.option("--exercise", default=None, help="Grade files named after students as this exercise.")
@click.option("-j", "--jobs", "parallel", type=click.IntRange(1, 256), default=None,
              help="Submissions graded at once (default: the number of cores).")
@click.option("--timeout", type=click.FloatRange(0.1, 600), default=10.0, show_default=True,
              help="Seconds one call into a submission may take (importing it: twice that).")
@click.option("--no-cache", is_flag=True, help="Grade every submission again, even if unchanged.")
@click.option("--shard", "shard_text", default=None, metavar="K/N",
              help="Grade only the K-th of N deterministic parts (then: grade merge).")
@click.option("--html-reports", is_flag=True, help=HTML_REPORTS_HELP)
@secret_file_option
@isolation_option
def batch(folder: Path, out: Path, exercise: str | None, parallel: int | None, timeout: float,
          no_cache: bool, shard_text: str | None, html_reports: bool, secret_file: Path | None,
          isolation: str | None) -> None:
    """Grade every submission under FOLDER into OUT."""
    from grader.grading.exercises import all_exercises
    from grader.grading.seed import secret_path
    from grader.sandbox.launchers import choose_isolation

    seed = load_seed_or_usage_error(secret_file)
    isolation, why = choose_isolation(isolation)
    if why:
        click.echo(why, err=True)
    known = all_exercises()
    if exercise is not None and exercise not in known:
        raise click.BadParameter(f"no exercise {exercise!r}; there are {', '.join(known)}",
                                 param_hint="--exercise")
    shard = _shard(shard_text)
    found = discover(folder, known, exercise)
    jobs = [job for job in found.jobs if in_shard(job, shard)]
    _describe(found, jobs, shard)
    if not jobs:
        raise click.UsageError(f"no submissions found under {folder}")
    out.mkdir(parents=True, exist_ok=True)
    _lock(out)
    secret = secret_path(secret_file)
    click.echo(seed.describe(), err=True)
    settings = Settings(out=out, parallel=parallel or default_parallel(), timeout_s=timeout,
                        use_cache=not no_cache, shard=shard, seed=seed,
                        secret_file=secret and secret.resolve(),
                        hide=(folder.resolve(), *([secret.resolve()] if secret else [])), isolation=isolation)
    sys.exit(_run(jobs, settings, html_reports))


_LOCKS: list[object] = []  # locks held until the process ends


def _lock(out: Path) -> None:
    """One batch at a time writes into OUT: a second would overwrite the first's gradebook.
    (``filelock``: an OS lock on Linux, macOS and Windows alike; it comes with torch.)"""
    from filelock import FileLock, Timeout

    lock = FileLock(out / ".lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise click.UsageError(f"another grade batch is writing into {out}; wait for it, "
                               "or give another --out") from None
    _LOCKS.append(lock)


def _run(jobs: Sequence[Job], settings: Settings, html_reports: bool = False) -> int:
    from grader.batch.pool import PoolError
    from grader.grading.exercises import checks_version

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

    aggregate.write_all(settings.out, outcomes, interrupted, student_pages=html_reports)
    return _conclude(settings.out, outcomes, len(jobs), interrupted)


def _conclude(out: Path, outcomes: Sequence[Outcome], total: int, interrupted: bool) -> int:
    counts = {source: sum(o.source == source for o in outcomes) for source in ("graded", "cached", "error")}
    click.echo(f"{len(outcomes)} of {total} submissions done: {counts['graded']} graded, "
               f"{counts['cached']} from the cache, {counts['error']} infrastructure errors.", err=True)
    click.echo(f"Gradebook: {out / 'gradebook.csv'}   summary: {out / 'summary.md'}   "
               f"dashboard: {out / 'dashboard.html'}   reports: {out / 'reports'}/", err=True)
    _warn_if_partly_isolated(out, outcomes)
    errors = [o for o in outcomes if o.source == "error"]
    for outcome in errors:
        click.echo(f"  could not grade {outcome.student}/{outcome.exercise} ({outcome.path}): "
                   f"{outcome.error}",
                   err=True)
    if interrupted:
        click.echo("Interrupted: what was graded is kept; run the same command to go on.", err=True)
        return EXIT_INTERRUPTED
    if errors:
        click.echo("Run the same command again to retry only these.", err=True)
        return EXIT_NO_GRADE
    return EXIT_GRADED


def _warn_if_partly_isolated(out: Path, outcomes: Sequence[Outcome]) -> None:
    """Where this machine could not isolate the workers fully, say so once: then students
    graded side by side may affect one another (a reviewer, without namespaces or cgroups,
    had one student's processes kill a classmate's worker). Every report says the same."""
    report = next((out / o.report for o in outcomes if o.report and (out / o.report).is_file()), None)
    if report is None:
        return
    with contextlib.suppress(OSError, ValueError):
        missing = json.loads(report.read_text(encoding="utf-8")).get("isolation", {}).get("missing", {})
        if missing:
            click.echo(f"Isolation was partial on this machine (missing: {', '.join(missing)}): "
                       "submissions graded side by side may affect one another; each report's "
                       "isolation says why.", err=True)


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


def _check_parts(parts: Sequence[Path], manifests: Sequence[dict]) -> None:
    """Parts merge only when they are the shards of one run: the same checks, time limit
    and grading seed, each shard once, none missing."""
    for key, what in (("checks_version", "checks versions"), ("timeout_s", "--timeout values"),
                      ("seed", "grading seeds")):
        values = {str(data.get(key, "public" if key == "seed" else None)) for data in manifests}
        if len(values) > 1:
            raise click.UsageError(f"the parts were graded with different {what} "
                                   f"({', '.join(sorted(values))}); "
                                   "grade them again alike")
    shards = [tuple(data["shard"]) if data.get("shard") else None for data in manifests]
    if all(shard is None for shard in shards):
        return  # unsharded runs of different students or exercises
    if None in shards or len({n for _, n in shards}) > 1:
        raise click.UsageError("the parts are not the shards of one --shard K/N run")
    given = [k for k, _ in shards]
    repeated = sorted({k for k in given if given.count(k) > 1})
    missing = sorted(set(range(1, shards[0][1] + 1)) - set(given))
    if repeated or missing:
        raise click.UsageError(f"shards given twice: {repeated or 'none'}; shards missing: "
                               f"{missing or 'none'}")


@click.command("merge")
@click.argument("parts", nargs=-1, required=True,
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the merged reports, gradebook.csv, summary.md and dashboard.html.")
@click.option("--html-reports", is_flag=True, help=HTML_REPORTS_HELP)
def merge(parts: tuple[Path, ...], out: Path, html_reports: bool) -> None:
    """Combine the OUT folders of sharded batch runs into one."""
    from grader.batch import aggregate
    from grader.batch.scheduler import MANIFEST

    if any(out.resolve() == part.resolve() for part in parts):
        raise click.UsageError("--out must be a new folder, not one of the parts")
    manifests = []
    for part in parts:
        if not (part / MANIFEST).exists():
            raise click.UsageError(f"{part} holds no {MANIFEST}: is it the --out of grade batch?")
        manifests.append(read_manifest(part))
    _check_parts(parts, [data for data, _ in manifests])
    outcomes: dict[tuple[str, str], Outcome] = {}
    for part, (_, found) in zip(parts, manifests, strict=True):
        for outcome in found:
            key = (outcome.student, outcome.exercise)
            if key in outcomes:
                raise click.UsageError(f"{outcome.student}/{outcome.exercise} is in more than one part")
            if outcome.report:
                target = out / outcome.report
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(part / outcome.report, target)
            outcomes[key] = outcome
    merged = sorted(outcomes.values(), key=lambda o: (o.student, o.exercise))
    first = manifests[0][0]
    write_manifest(out, first["checks_version"], first["timeout_s"], None, merged, len(merged),
                   first.get("seed", "public"))
    aggregate.write_all(out, merged, student_pages=html_reports)
    sys.exit(_conclude(out, merged, len(merged), False))
