"""grade(submission, exercise) -> Report: the one pipeline every command goes through.

    read the file -> start a worker (forked from the worker server) -> import the
    submission there -> run the exercise's judges with pytest in this process, each asking
    the worker for probe results -> collect one CheckResult per judge -> Report

``grade exerciseN`` splits the judges between this process and one forked from it, each
with its own worker (``two_judges``); the report is the same.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import io
import time
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Hypothesis imports numpy.random at its first example (to seed it): here, once, before the
# judging process forks, rather than in each judging process (10 ms each).
import numpy.random  # noqa: F401

import grader
from grader.grading import two_judges
from grader.grading.exercises import Exercise, checks_version
from grader.grading.pytest_plugin import GradingSession
from grader.grading.sandbox_setup import start_launcher
from grader.grading.seed import PUBLIC_SEED, GradingSeed
from grader.grading.submission import Submission, read_submission
from grader.grading.text_caps import cap, cap_checks
from grader.paths import CHECKS_DIR
from grader.report import CheckResult, Isolation, Report, Status
from grader.sandbox.client import Limits, Sandbox
from grader.sandbox.launchers import Launcher

if TYPE_CHECKING:
    from grader.grading.replay import Tapes
    from grader.grading.warm_judges import WarmJudges

__all__ = ["grade"]

DEFAULT_LIMITS = Limits()
# Plugins that would only cost time here (two run gc.collect() after every test; logging
# swaps handlers around every phase of every test).
UNUSED_PYTEST_PLUGINS = ("cacheprovider", "warnings", "faulthandler", "pastebin", "doctest",
                         "unraisableexception", "threadexception", "logging", "junitxml", "stepwise",
                         "legacypath", "tmpdir", "recwarn", "setuponly", "setupplan", "debugging",
                         "monkeypatch", "subtests", "unittest")


def grade(
    path: Path,
    exercise: Exercise,
    *,
    limits: Limits = DEFAULT_LIMITS,
    launcher: Launcher | None = None,
    execute: bool = False,
    cell_s: float = 60.0,
    tapes: Tapes | None = None,
    seed: GradingSeed = PUBLIC_SEED,
    targets: Collection[str] | None = None,
    split: bool = False,
    judges: WarmJudges | None = None,
) -> Report:
    """Grade the submission at ``path`` as ``exercise``.

    ``execute`` first runs a notebook top to bottom with nbclient (``cell_s`` per cell), in
    a worker like any other, and reports that as a check worth no points. ``tapes`` (batch
    grading) replays the inputs of checks that passed for earlier submissions. ``seed``
    chooses the inputs hypothesis draws (public, or a course secret's). ``targets``
    (``grade audit``) runs only the checks of those API names. ``split`` judges in two
    processes where the machine has a core to spare (``two_judges``; not with ``tapes``,
    which live in this process). ``judges`` (batch, watch) runs them in a pytest session
    kept open across submissions (``warm_judges``).
    """
    started = time.perf_counter()
    own_launcher = launcher is None
    launcher = launcher or start_launcher([path], [exercise])
    import pytest
    import torch

    torch.set_num_threads(1)  # judges compute little; threads only contend with the workers
    _freeze_imported_objects()

    submission = read_submission(path)
    judge = functools.partial(_judge, exercise, submission, limits, tapes, seed, targets, judges)
    partner, theirs = None, None
    try:
        if split and tapes is None and judges is None and two_judges.can_split(launcher):
            linked = launcher.connect()  # type: ignore[attr-defined]
            try:
                partner = two_judges.fork(lambda: judge(linked, part=1).results_only())
            except OSError:  # no process to spare: this one judges it all
                partner = None
            finally:
                linked.close()  # the forked process's connection, not ours
        sandbox = Sandbox(launcher, submission, limits)
        executed = _execution_check(sandbox, cell_s) if execute else []
        judging = time.perf_counter()
        ours = judge(launcher, part=0 if partner else None, sandbox=sandbox)
        if ours.exit_code == pytest.ExitCode.INTERRUPTED and not ours.collect_errors:
            raise KeyboardInterrupt  # half the checks are no grade: report nothing
        theirs = partner.result() if partner else None
    finally:
        if partner and theirs is None:  # interrupted, or failed: its results are not wanted
            partner.kill()
        if own_launcher:
            launcher.close()
    if theirs and theirs["exit_code"] == pytest.ExitCode.INTERRUPTED and not theirs["collect_errors"]:
        raise KeyboardInterrupt
    finished = time.perf_counter()
    results = ours.merged(theirs)
    checks = cap_checks([_utf8_check(check) for check in executed + results])
    problem = submission.load_error or ""
    if sandbox.load_problem is not None:
        problem = cap(_utf8(sandbox.load_problem.message))
    collect_errors = ours.collect_errors + (theirs["collect_errors"] if theirs else [])
    if collect_errors or not checks:
        detail = collect_errors[0] if collect_errors else ours.output[-2000:]
        problem = f"grader error: the judges did not run (pytest exit {int(ours.exit_code)})\n{detail}"
        checks = ()
    return Report(
        exercise=exercise.name,
        submission=str(path),
        submission_sha256=submission.sha256,
        checks=checks,
        isolation=_isolation(sandbox, problem),
        grader_version=grader.__version__,
        checks_version=checks_version(),
        timings={"total_s": round(finished - started, 3), "judging_s": round(finished - judging, 3)},
        problem=problem,
        hidden_checks=exercise.withheld,
        seed=seed.fingerprint,
        notes=sandbox.notes,
    )


@dataclasses.dataclass
class _Judged:
    """What one judging process found: its checks' results and where each goes."""

    results: list[CheckResult]
    positions: list[int]
    collect_errors: list[str]
    exit_code: int
    output: str = ""

    def results_only(self) -> dict[str, Any]:
        """What the forked judging process sends back (``two_judges``)."""
        return {"results": self.results, "positions": self.positions,
                "collect_errors": self.collect_errors, "exit_code": int(self.exit_code)}

    def merged(self, theirs: dict[str, Any] | None) -> list[CheckResult]:
        """Every check's result, in the judges' order, this process's and the other's."""
        if theirs is None:
            return list(self.results)
        placed = zip(self.positions + theirs["positions"], self.results + theirs["results"], strict=True)
        return [result for _, result in sorted(placed, key=lambda pair: pair[0])]


def _judge(exercise: Exercise, submission: Submission, limits: Limits, tapes: Tapes | None,
           seed: GradingSeed, targets: Collection[str] | None, judges: WarmJudges | None,
           launcher: Launcher, part: int | None = None, sandbox: Sandbox | None = None) -> _Judged:
    """Run the exercise's judges (``part``: this process's share of them) against the
    submission, in a worker from ``launcher`` (or ``sandbox``'s): in a pytest session of
    their own, or in ``judges``'s."""
    import pytest

    sandbox = sandbox or Sandbox(launcher, submission, limits)
    if judges is not None:
        try:
            return judges.run(exercise, sandbox, tapes, seed, targets)
        finally:
            sandbox.close()
    session = GradingSession(sandbox, tapes, seed, targets, part)
    output = io.StringIO()
    try:
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            exit_code = pytest.main(pytest_args(exercise), plugins=[session])
    finally:
        sandbox.close()
    return _Judged(session.results, session.positions, session.collect_errors, int(exit_code),
                   output.getvalue())


def pytest_args(exercise: Exercise, terminal: bool = True) -> list[str]:
    """How pytest runs an exercise's judges: the public ones, then hidden ones where this
    copy of the grader has them (given by path, so pytest collects them whatever
    pytest.ini's python_files says). ``terminal``: with pytest's terminal reporter, whose
    output the report shows where the judges did not run.

    --assert=plain: judges fail through expect()/Fail with messages of their own, never a
    bare assert (tests/test_judges_style.py), so rewriting their modules is time for nothing.
    """
    args = [*map(str, exercise.judge_files), "-c", str(CHECKS_DIR / "pytest.ini"), "--rootdir",
            str(CHECKS_DIR), "-s", "--assert=plain"]
    args += ["-q", "--tb=line"] if terminal else ["-p", "no:terminal"]
    for plugin in UNUSED_PYTEST_PLUGINS:
        args += ["-p", f"no:{plugin}"]
    return args


_frozen = False


def _freeze_imported_objects() -> None:
    """Once per process, after the big imports: move what torch, pytest and hypothesis made
    out of the garbage collector's sight. Collections then scan only what grading makes;
    the first one hypothesis forces would otherwise walk all of torch (a tenth of a second)."""
    global _frozen
    if not _frozen:
        gc.freeze()
        _frozen = True


def _utf8(text: str) -> str:
    """``text`` without lone surrogates, which a student's exception message can carry and
    no UTF-8 file (the JSON report) or terminal can hold."""
    return text.encode("utf-8", "replace").decode("utf-8")


def _utf8_check(check: CheckResult) -> CheckResult:
    return dataclasses.replace(check, message=_utf8(check.message), output=_utf8(check.output),
                               counterexample=_utf8(check.counterexample))


def _execution_check(sandbox: Sandbox, cell_s: float) -> list[CheckResult]:
    """"notebook: runs top to bottom", worth no points: the notebook as the student ran it."""
    base = {"name": "notebook: runs top to bottom", "target": "notebook", "score": 0.0, "max_score": 0.0}
    submission = sandbox.submission
    if submission.kind != "ipynb" or submission.load_error:
        why = "only a notebook can be executed" if submission.kind != "ipynb" else submission.load_error
        return [CheckResult(**base, status=Status.NOT_RUN, message=why)]
    started = time.perf_counter()
    text = submission.path.read_text(encoding="utf-8")
    # The worker stops a cell at cell_s by killing the kernel and names the cell. This bound
    # on the whole run is only a safety net for a worker that hangs itself, so it leaves
    # room beyond every cell's limit for starting the kernel and killing it (seconds).
    cells = sum(1 for line in submission.cell_lines.values() if line[1] == 1) or 1
    outcome = sandbox.execute_notebook(text, cell_s, min(cell_s * cells + 20, sandbox.limits.budget_s))
    duration = round(time.perf_counter() - started, 4)
    if outcome.get("ok") is True:
        return [CheckResult(**base, status=Status.PASSED, duration_s=duration)]
    where = f"cell {outcome.get('cell')}: " if outcome.get("cell") else ""
    status = Status.FAILED if outcome.get("kind") == "raised" else Status.ERROR
    return [CheckResult(**base, status=status, message=f"{where}{outcome.get('error')}", fault="student",
                        duration_s=duration)]


def _isolation(sandbox: Sandbox, problem: str) -> Isolation:
    data = sandbox.isolation
    if data is None:
        why = "no worker ran the submission" + (f": {problem.splitlines()[0]}" if problem else "")
        return Isolation(level="none", missing={"process": why})
    missing = dict(data.get("missing", {}))
    return Isolation(level="partial" if missing else "full", in_force=dict(data.get("in_force", {})),
                     missing=missing)

