"""``grade audit [EXERCISE...]``: how many wrong answers the checks catch.

    reference solution -> mutants (grader.course.mutants) -> files under OUT/mutants
      -> the batch pipeline (grading processes in parallel, primed with the solution so that
         every check replays its inputs, and a failing replay ends the check at once)
      -> per API name: mutants, caught, marked equivalent; every survivor as a diff with
         the checks it passed

A survivor is a mutant that no check fails. Those known to be correct answers all the same
are listed in ``grader/checks/<exercise>/equivalent_mutants.json`` as
``{"mutants": [{"name": ..., "reason": ...}], "structural": [check names]}``; the audit
exits 1 while another survives. A degenerate answer (zeros, the input unchanged, a
constant, ...) may pass only the structural checks of its API name (no parameters, shapes,
dtypes): one that passes another of them is over-credited, and also makes the audit exit 1
unless it is marked. (A detached copy, or parameters not registered, keeps the right values:
it must be caught, but may keep the points of checks on values, as a forward reading .data.)
"""

from __future__ import annotations

import difflib
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from grader.course.mutants import Mutant, api_names, mutants
from grader.paths import PROJECT_ROOT

EQUIVALENTS = "equivalent_mutants.json"
EXIT_CLEAN, EXIT_SURVIVORS, EXIT_USAGE, EXIT_NO_GRADE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
CAUGHT = ("failed", "error")  # a check's statuses that catch a mutant ("not run" does not)
# Degenerate answers whose values are right (only training them fails): like a forward that
# reads .data, they must be caught, but may keep the points of the checks on values.
VALUES_KEPT = ("returns a detached copy", "parameters and submodules not registered")


@dataclass
class Verdict:
    """What became of one mutant."""

    mutant: Mutant
    caught_by: list[str] = field(default_factory=list)  # the checks it failed
    passed: list[str] = field(default_factory=list)
    error: str = ""  # the grader could not grade it: no verdict
    equivalent: str = ""  # the reason it is marked equivalent, if it is
    overcredited: list[str] = field(default_factory=list)  # a degenerate answer's non-structural passes


@dataclass
class Audit:
    """One exercise's audit."""

    exercise: str
    solution: Path
    verdicts: list[Verdict]
    baseline_problem: str = ""  # why the solution itself does not pass every check
    stale: list[str] = field(default_factory=list)  # marked equivalent, but no such survivor

    @property
    def survivors(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.caught_by and not v.error and not v.equivalent]

    @property
    def overcredited(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.overcredited and not v.equivalent]

    @property
    def clean(self) -> bool:
        return (not self.baseline_problem and not self.survivors and not self.overcredited
                and not any(v.error for v in self.verdicts))


def marks(exercise: Any, path: Path | None = None) -> tuple[dict[str, str], set[str]]:
    """For ``exercise``: the mutants marked equivalent (name -> reason), and the names of its
    structural checks, from ``path`` (default: the file beside its checks)."""
    path = path or exercise.folder / EQUIVALENTS
    if not path.exists():
        return {}, set()
    data = json.loads(path.read_text(encoding="utf-8"))
    return {item["name"]: item["reason"] for item in data.get("mutants", [])}, set(data.get("structural", []))


def prepare(
    exercise: Any, solution: Path, folder: Path, only: Sequence[str] = ()
) -> list[tuple[Path, Mutant]]:
    """Write each mutant of ``solution`` (of the API names ``only``, or all) to
    ``folder/<exercise>/<n>/<exercise>.py``."""
    sources = [path.read_text(encoding="utf-8") for path in exercise.judge_files]
    names = [name for name in api_names(sources) if not only or name in only]
    found = mutants(solution.read_text(encoding="utf-8"), names)
    written = []
    for n, mutant in enumerate(found):
        path = folder / exercise.name / f"{n:04d}" / f"{exercise.name}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(mutant.source, encoding="utf-8")
        written.append((path, mutant))
    return written


def run_audits(
    names: Sequence[str],
    solution: Path | None,
    out: Path,
    parallel: int,
    timeout_s: float,
    use_cache: bool,
    only: Sequence[str] = (),
    marked: Path | None = None,
) -> list[Audit]:
    """Grade every mutant of every exercise in ``names`` (of the API names ``only``, or all)
    in one batch; ``marked``: the equivalent mutants' file, instead of each exercise's."""
    from grader.batch.discover import Job
    from grader.batch.progress import Progress
    from grader.batch.scheduler import Settings, grade_batch
    from grader.grading.exercises import all_exercises, checks_version

    exercises = all_exercises()
    solutions = {name: solution or PROJECT_ROOT / "solutions" / f"{name}.py" for name in names}
    prepared = {name: prepare(exercises[name], solutions[name], out / "mutants", only) for name in names}
    jobs = [Job("solution", name, solutions[name]) for name in names]
    jobs += [
        Job(f"{name}-{path.parent.name}", name, path, mutant.affected)
        for name in names
        for path, mutant in prepared[name]
    ]
    settings = Settings(
        out=out,
        parallel=parallel,
        timeout_s=timeout_s,
        use_cache=use_cache,
        prime=tuple((solutions[name], name) for name in names),
        fail_fast=True,
    )
    with Progress(len(jobs)) as progress:
        outcomes = grade_batch(jobs, settings, checks_version(), progress.advance)
    reports = {(o.student, o.exercise): (o, _load(out / o.report) if o.report else None) for o in outcomes}
    return [_judge(exercises[name], solutions[name], prepared[name], reports, marked) for name in names]


def _load(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _judge(
    exercise: Any,
    solution: Path,
    prepared: list[tuple[Path, Mutant]],
    reports: dict[tuple[str, str], Any],
    path: Path | None = None,
) -> Audit:
    marked, structural = marks(exercise, path)
    outcome, baseline = reports.get(("solution", exercise.name), (None, None))
    problem = _baseline_problem(outcome, baseline)
    verdicts = []
    for path, mutant in prepared:
        outcome, report = reports.get((f"{exercise.name}-{path.parent.name}", exercise.name), (None, None))
        verdict = Verdict(mutant)
        if report is None or report.get("score") is None:
            verdict.error = (outcome.error if outcome is not None else "") or "not graded"
        else:
            for check in report["checks"]:
                if check["status"] in CAUGHT:
                    verdict.caught_by.append(check["name"])
                elif check["status"] == "passed":
                    verdict.passed.append(check["name"])
                    if (
                        mutant.kind == "degenerate"
                        and not mutant.name.endswith(VALUES_KEPT)
                        and check["name"] not in structural
                        and mutant.target in check.get("target", "").split("/")
                    ):
                        verdict.overcredited.append(check["name"])
            verdict.equivalent = marked.get(mutant.name, "")
        verdicts.append(verdict)
    return Audit(exercise.name, solution, verdicts, problem, _stale(marked, verdicts))


def _stale(marked: dict[str, str], verdicts: list[Verdict]) -> list[str]:
    """Marks that name no mutant left to excuse: a mutant now caught (and not over-credited),
    or one no longer made of an API name this audit mutated (the solution changed)."""
    made = {v.mutant.name: v for v in verdicts}
    audited = {v.mutant.target for v in verdicts}
    stale = []
    for name in marked:
        verdict = made.get(name)
        if verdict is None:
            if name.split(":")[0].split(".")[0] in audited:
                stale.append(name)
        elif verdict.caught_by and not verdict.overcredited and not verdict.error:
            stale.append(name)
    return sorted(stale)


def _baseline_problem(outcome: Any, report: dict[str, Any] | None) -> str:
    if report is None or report.get("score") is None:
        return f"the solution could not be graded: {getattr(outcome, 'error', '') or 'no report'}"
    failing = [c["name"] for c in report["checks"] if c["status"] in CAUGHT]
    if failing:
        return "the solution itself fails " + "; ".join(failing)
    return ""


# -- what the instructor reads ---------------------------------------------------------------


def render(audit: Audit, seconds: float | None = None) -> str:
    lines = [f"{audit.exercise}: audit of {audit.solution}"]
    if audit.baseline_problem:
        lines.append(f"  cannot audit: {audit.baseline_problem}")
        return "\n".join(lines) + "\n"
    by_target: dict[str, list[Verdict]] = {}
    for verdict in audit.verdicts:
        by_target.setdefault(verdict.mutant.target, []).append(verdict)
    width = max((len(t) for t in by_target), default=0)
    for target, verdicts in by_target.items():
        caught = sum(bool(v.caught_by) for v in verdicts)
        marked = sum(bool(v.equivalent and not v.caught_by) for v in verdicts)
        left = len(verdicts) - caught - marked
        over = sum(bool(v.overcredited and not v.equivalent) for v in verdicts)
        lines.append(
            f"  {target:<{width}}  {caught:3d} of {len(verdicts):3d} caught"
            + (f", {marked} marked equivalent" if marked else "")
            + (f", {left} NOT CAUGHT" if left else "")
            + (f", {over} degenerate answers OVER-CREDITED" if over else "")
        )
    totals = _totals(audit)
    timing = f" in {seconds:.1f} s" if seconds is not None else ""
    lines.append(
        f"  total: {totals['mutants']} mutants, {totals['caught']} caught, "
        f"{totals['equivalent']} marked equivalent, {totals['survivors']} survivors, "
        f"{totals['overcredited']} degenerate answers over-credited{timing}"
    )
    for verdict in audit.verdicts:
        if verdict.error:
            lines.append(f"\n  not graded: {verdict.mutant.name}: {verdict.error}")
    original = _original(audit)
    for verdict in audit.survivors:
        lines.append(f"\n  SURVIVOR {verdict.mutant.name}")
        lines += ["    " + line for line in _diff(original, verdict.mutant.source)]
        lines.append("    passed: " + ("; ".join(verdict.passed) or "no check ran"))
    for verdict in audit.overcredited:
        lines.append(
            f"\n  OVER-CREDITED {verdict.mutant.name}: a degenerate answer passes "
            + "; ".join(verdict.overcredited)
        )
    for name in audit.stale:
        lines.append(f"\n  note: marked equivalent but not a survivor now: {name}")
    return "\n".join(lines) + "\n"


def _totals(audit: Audit) -> dict[str, int]:
    return {
        "mutants": len(audit.verdicts),
        "caught": sum(bool(v.caught_by) for v in audit.verdicts),
        "equivalent": sum(bool(v.equivalent and not v.caught_by) for v in audit.verdicts),
        "survivors": len(audit.survivors),
        "overcredited": len(audit.overcredited),
    }


def _original(audit: Audit) -> str:
    import ast

    return ast.unparse(ast.parse(audit.solution.read_text(encoding="utf-8")))


def _diff(original: str, mutated: str) -> list[str]:
    from grader.course.mutants import HELPERS

    mutated = mutated.removesuffix("\n" + HELPERS)
    lines = difflib.unified_diff(
        original.splitlines(), mutated.splitlines(), "solution", "mutant", n=1, lineterm=""
    )
    return [line for line in lines if not line.startswith(("---", "+++"))][:40]


# -- the command ------------------------------------------------------------------------------


@click.command("audit")
@click.argument("names", metavar="[EXERCISE]...", nargs=-1)
@click.option(
    "--solution",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="The reference solution to mutate (default: solutions/<exercise>.py); one exercise only.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep the mutants, reports and cache here (a rerun regrades only what changed).",
)
@click.option(
    "-j",
    "--jobs",
    "parallel",
    type=click.IntRange(1, 256),
    default=None,
    help="Mutants graded at once (default: the number of cores).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 600),
    default=3.0,
    show_default=True,
    help="Seconds one call into a mutant may take (a mutant can loop forever).",
)
@click.option(
    "--target",
    "only",
    multiple=True,
    metavar="API_NAME",
    help="Mutate only this API name's code (repeatable; default: every API name).",
)
@click.option(
    "--equivalents",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help=f"The equivalent mutants and structural checks (default: {EQUIVALENTS} beside the checks).",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the figures per exercise as JSON here.",
)
def audit(
    names: tuple[str, ...],
    solution: Path | None,
    out: Path | None,
    parallel: int | None,
    timeout: float,
    only: tuple[str, ...],
    equivalents: Path | None,
    json_path: Path | None,
) -> None:
    """Grade one-edit mutants and degenerate answers of the reference solution of each
    EXERCISE (default: all) and show those that no check catches. Exit status: 0 every
    survivor is marked equivalent, 1 some are not, 3 some could not be graded."""
    from grader.batch.scheduler import default_parallel
    from grader.grading.exercises import all_exercises

    known = all_exercises()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise click.BadParameter(f"no exercise {unknown[0]!r}; there are {', '.join(known)}")
    if solution is not None and len(names) != 1:
        raise click.UsageError("--solution needs exactly one EXERCISE")
    started = time.perf_counter()
    folder = out or Path(tempfile.mkdtemp(prefix="grade-audit-"))
    try:
        audits = run_audits(
            list(names or known),
            solution,
            folder,
            parallel or default_parallel(),
            timeout,
            use_cache=out is not None,
            only=only,
            marked=equivalents,
        )
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(EXIT_INTERRUPTED)
    finally:
        if out is None:
            shutil.rmtree(folder, ignore_errors=True)
    seconds = time.perf_counter() - started
    for one in audits:
        click.echo(render(one))
    click.echo(f"audited {len(audits)} exercise(s) in {seconds:.1f} s")
    if json_path is not None:
        figures = {a.exercise: _totals(a) for a in audits}
        json_path.write_text(
            json.dumps({"seconds": round(seconds, 2), "exercises": figures}, indent=1) + "\n"
        )
    if any(a.baseline_problem or any(v.error for v in a.verdicts) for a in audits):
        sys.exit(EXIT_NO_GRADE)
    sys.exit(EXIT_CLEAN if all(a.clean for a in audits) else EXIT_SURVIVORS)
