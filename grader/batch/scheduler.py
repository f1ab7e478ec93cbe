"""Grading a batch: cached reports first, the rest through the pool, every result on disk.

OUT/
    reports/<student>/<exercise>.json   the report of ``grade``, one per submission
    manifest.json                       what this run graded: job, hash, score or error
    gradebook.csv, summary.md           written from the manifest (``aggregate``)
    cache/                              reports by submission hash and checks version
    logs/                               the grading processes' stderr
Every file is written atomically, so a crash or Ctrl-C leaves whole files only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from grader.atomic import write_text_atomic
from grader.batch.cache import ReportCache
from grader.batch.discover import Job
from grader.batch.pool import MARGIN_S, Pool
from grader.grading.sandbox_setup import plotting
from grader.grading.seed import PUBLIC, PUBLIC_SEED, GradingSeed
from grader.grading.submission import file_sha256

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Outcome:
    """What became of one job: a report (graded now or taken from the cache) or an error."""

    student: str
    exercise: str
    path: str
    sha256: str
    source: str  # "graded", "cached" or "error" (an infrastructure error: no score)
    report: str = ""  # relative to OUT
    score: float | None = None
    max_score: float = 0.0
    error: str = ""


@dataclass(frozen=True)
class Settings:
    out: Path
    parallel: int
    timeout_s: float
    use_cache: bool = True
    hide: tuple[Path, ...] = ()  # folders no worker may see besides OUT (the batch's DIR)
    shard: tuple[int, int] | None = None  # (k, N): this run grades the k-th of N parts
    seed: GradingSeed = PUBLIC_SEED  # which inputs the checks draw (grader.grading.seed)
    secret_file: Path | None = None  # where the grading processes read the secret (else: the environment)
    # ``grade audit``: (path, exercise) each grading process grades first, unreported, so that
    # its replay tapes come from a correct answer; and a failing replay ends its check at once.
    prime: tuple[tuple[Path, str], ...] = ()
    fail_fast: bool = False
    isolation: str | None = None  # "full", "portable" or by platform (launchers.choose_isolation)


def report_path(job: Job) -> str:
    return f"reports/{job.student}/{job.exercise}.json"


def grade_batch(jobs: Sequence[Job], settings: Settings, checks_version: str,
                progress: Callable[[Outcome], None]) -> list[Outcome]:
    """Grade ``jobs`` into ``settings.out``; ``progress`` hears of each job as it ends.

    On KeyboardInterrupt the outcomes so far go into the manifest and the interrupt
    propagates. After a crash the cache still holds every report finished, so a rerun
    resumes there.
    """
    from grader.sandbox.limits import Limits

    cache = ReportCache(settings.out / "cache", checks_version, settings.timeout_s, settings.seed.fingerprint)
    outcomes: dict[Job, Outcome] = {}
    hashes = {job: file_sha256(job.path) for job in jobs}

    def finish(job: Job, report: dict[str, Any] | None, error: str) -> None:
        outcome = _record(settings.out, job, hashes[job], report, error, "graded")
        if report is not None and outcome.source == "graded":  # --no-cache refreshes the cache too
            cache.put(job.exercise, hashes[job], report)
        outcomes[job] = outcome
        progress(outcome)

    todo = []
    for job in jobs:
        cached = cache.get(job.exercise, hashes[job]) if settings.use_cache else None
        if cached is None:
            todo.append(job)
            continue
        outcomes[job] = _record(settings.out, job, hashes[job], cached, "", "cached")
        progress(outcomes[job])
    try:
        if todo:
            limits = Limits.for_timeout(settings.timeout_s)
            options = {"hide": [str(p) for p in (*settings.hide, settings.out)],
                       "timeout_s": settings.timeout_s, "exercises": sorted({job.exercise for job in todo}),
                       # the secret's path (never the secret) and the fingerprint it must give
                       "secret_file": str(settings.secret_file) if settings.secret_file else None,
                       "seed": settings.seed.fingerprint,
                       "prime": [[str(path), name] for path, name in settings.prime],
                       "fail_fast": settings.fail_fast, "isolation": settings.isolation,
                       # a class whose notebooks plot: every worker server imports pyplot once
                       "plots": plotting(job.path for job in todo)}
            pool = Pool(settings.parallel, options, settings.out / "logs",
                        limits.budget_s + limits.load_s + MARGIN_S)
            pool.run(todo, finish)
    finally:
        _write_manifest(settings, checks_version, jobs, outcomes)
    return [outcomes[job] for job in jobs if job in outcomes]


def _record(out: Path, job: Job, sha256: str, report: dict[str, Any] | None, error: str,
            source: str) -> Outcome:
    """Write the job's report (under the student's own path) and say what became of it."""
    base = {"student": job.student, "exercise": job.exercise, "path": str(job.path), "sha256": sha256}
    if report is None:
        return Outcome(**base, source="error", error=error or "no report")
    report = dict(report, submission=str(job.path))  # a cached report may be a classmate's copy
    relative = report_path(job)
    write_text_atomic(out / relative, json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    if report.get("score") is None:
        problem = report.get("problem") or next(
            (c["message"] for c in report.get("checks", []) if c.get("fault") == "grader"), "")
        return Outcome(**base, source="error", report=relative, max_score=report.get("max_score", 0.0),
                       error=problem.splitlines()[0] if problem else "the grader could not finish")
    return Outcome(**base, source=source, report=relative, score=report["score"],
                   max_score=report.get("max_score", 0.0))


def _write_manifest(settings: Settings, checks_version: str, jobs: Sequence[Job],
                    outcomes: dict[Job, Outcome]) -> None:
    write_manifest(settings.out, checks_version, settings.timeout_s, settings.shard,
                   [outcomes[job] for job in jobs if job in outcomes], len(jobs), settings.seed.fingerprint)


def write_manifest(out: Path, checks_version: str, timeout_s: float, shard: tuple[int, int] | None,
                   outcomes: Sequence[Outcome], jobs: int, seed: str = PUBLIC) -> None:
    data = {"checks_version": checks_version, "timeout_s": timeout_s, "seed": seed, "jobs": jobs,
            "shard": list(shard) if shard else None, "outcomes": [asdict(o) for o in outcomes]}
    write_text_atomic(out / MANIFEST, json.dumps(data, indent=1) + "\n")


def read_manifest(out: Path) -> tuple[dict[str, Any], list[Outcome]]:
    data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    return data, [Outcome(**item) for item in data["outcomes"]]


def default_parallel() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
