"""A batch's grading process: ``engine.grade`` in a loop, one job per line on stdin.

Trusted, like the process of ``grade exercise3``: it runs the judges and asks its own worker
server for workers, which never see the batch's folders. Several run side by side because
pytest, which runs the judges, is one session per process. The protocol is JSON lines on
an inherited pipe (stdout is pointed at stderr, so nothing printed can corrupt it):

    <- {"ready": true}
    -> {"id": 7, "path": "...", "exercise": "exercise3"}
    <- {"id": 7, "report": {...}}            or  {"id": 7, "error": "..."}
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from grader.grading.seed import GradingSeed


def main() -> None:
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # whatever anything prints goes to stderr, not into the protocol
    options = json.loads(sys.argv[1])
    _pin(int(options.get("slot", 0)))
    from grader.sandbox.confine import keep_trusted_memory_private

    keep_trusted_memory_private()  # this process holds the judges and the course secret
    from grader.grading.exercises import all_exercises
    from grader.grading.sandbox_setup import start_launcher

    exercises = all_exercises()
    chosen = [exercises[name] for name in options["exercises"]]
    seed = _seed(options)
    launcher = start_launcher((), chosen, extra_hidden=[Path(p) for p in options["hide"]],
                              plots=bool(options.get("plots")), isolation=options.get("isolation"),
                              many_workers=True)
    try:
        _serve(protocol, exercises, launcher, options, seed)
    finally:
        launcher.close()


def _seed(options: dict[str, Any]) -> GradingSeed:
    """The coordinator's grading seed, read again here (the secret never crosses a pipe or
    a command line); a secret that changed since the coordinator read it stops the run."""
    from grader.grading.seed import load_seed, secret_path

    file = Path(options["secret_file"]) if options.get("secret_file") else None
    seed = load_seed(file)
    if seed.fingerprint != options.get("seed", "public"):
        raise SystemExit(f"the course secret changed during the run ({secret_path(file) or 'GRADER_SECRET'})")
    return seed


def _pin(slot: int) -> None:
    """Keep this process, its worker server and every worker on one core of their own, so
    that a submission that spins (a fork bomb, an endless loop) slows only its own slot
    while its time limit runs, not the other submissions being graded."""
    if hasattr(os, "sched_setaffinity"):
        cores = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cores[slot % len(cores)]})


def _serve(protocol: TextIO, exercises: dict[str, Any], launcher: Any, options: dict[str, Any],
           seed: GradingSeed) -> None:
    from grader.fast_start import imports_unscanned

    with imports_unscanned():  # torch, pytest, hypothesis
        from grader.grading.engine import grade
        from grader.grading.replay import Tapes
        from grader.grading.warm_judges import WarmJudges
        from grader.sandbox.client import Limits

    limits = Limits.for_timeout(float(options["timeout_s"]))
    # The inputs of checks passed so far, replayed for the next submissions. ``grade audit``
    # records them from the solutions first and has a failing replay end its check.
    tapes = Tapes(fail_fast=bool(options.get("fail_fast")))
    unprimed = {name: Path(path) for path, name in options.get("prime", [])}
    judges = WarmJudges()  # each exercise's judges collected once, in one pytest session
    _send(protocol, {"ready": True})
    for line in sys.stdin:
        job = json.loads(line)
        try:
            if job["exercise"] in unprimed:  # before its exercise's first job: record the tapes
                grade(unprimed.pop(job["exercise"]), exercises[job["exercise"]], limits=limits,
                      launcher=launcher, tapes=tapes, seed=seed, judges=judges)
            report = grade(Path(job["path"]), exercises[job["exercise"]], limits=limits, launcher=launcher,
                           tapes=tapes, seed=seed, targets=job.get("targets"), judges=judges)
            _send(protocol, {"id": job["id"], "report": report.to_dict()})
        except Exception as exc:  # noqa: BLE001 - the grader's own failure: an infrastructure error
            detail = traceback.format_exception_only(exc)[-1].strip()
            _send(protocol, {"id": job["id"], "error": f"the grader failed: {detail}"})


def _send(protocol: TextIO, message: dict[str, Any]) -> None:
    protocol.write(json.dumps(message) + "\n")
    protocol.flush()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):  # the coordinator stops us; it says so
        main()
    sys.stdout.flush()
    os._exit(0)  # skip torch's teardown
