"""Grading processes for a batch, and the loop that keeps them busy.

Each process (``grader.batch.grading_process``) grades one submission at a time with its own worker
server. A process that dies, or takes longer than any submission can (its time limits plus
a margin), is killed and replaced; its submission is an infrastructure error, never a score.
They run in sessions of their own so that Ctrl-C reaches only this process, which stops
them itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from grader.batch.discover import Job

START_S = 180.0  # a grading process imports torch and starts its worker server: seconds
MARGIN_S = 60.0  # beyond a submission's own time limits, before its grading process is killed

Done = Callable[[Job, dict[str, Any] | None, str], None]  # job, report (or None), error
_Ended = tuple[Job, dict[str, Any] | None, str]  # what Done is told of one job


class PoolError(RuntimeError):
    """The grading processes cannot run at all (they fail to start)."""


class _Runner:
    def __init__(self, slot: int, options: dict[str, Any], log: Path) -> None:
        self.slot = slot
        self.log = log
        with open(log, "ab") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "grader.batch.grading_process", json.dumps(dict(options, slot=slot))],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, start_new_session=True)
        self.ready = False
        self.job: Job | None = None
        self.deadline = time.monotonic() + START_S
        self._buffer = b""

    def assign(self, job_id: int, job: Job, seconds: float) -> None:
        self.job, self.deadline = job, time.monotonic() + seconds
        line = {"id": job_id, "path": str(job.path), "exercise": job.exercise}
        if job.targets is not None:
            line["targets"] = list(job.targets)
        self.process.stdin.write((json.dumps(line) + "\n").encode())
        self.process.stdin.flush()

    def read(self) -> list[dict[str, Any]] | None:
        """The messages that arrived, or None at end of file (the process is gone)."""
        chunk = os.read(self.process.stdout.fileno(), 1 << 20)
        if not chunk:
            return None
        self._buffer += chunk
        *lines, self._buffer = self._buffer.split(b"\n")
        return [json.loads(line) for line in lines if line.strip()]

    def finish(self, grace_s: float = 10.0) -> int:
        """End it by closing its input, as it ends when no job is left; killed if it has not
        ended in ``grace_s``. Whatever of its group is left is killed too."""
        with contextlib.suppress(OSError):
            self.process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=grace_s)
        return self.kill()

    def kill(self) -> int:
        with contextlib.suppress(ProcessLookupError):  # already gone
            if hasattr(os, "killpg"):  # the whole group: its worker server and workers too
                os.killpg(self.process.pid, signal.SIGKILL)
            else:  # Windows: no process groups to kill, nor SIGKILL
                self.process.kill()
        return self.process.wait()

    def log_tail(self) -> str:
        try:
            lines = self.log.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return lines[-1][:300] if lines else ""


class Pool:
    """``parallel`` grading processes working through jobs; ``done`` hears of each job."""

    def __init__(self, parallel: int, options: dict[str, Any], logs: Path, job_s: float) -> None:
        self.parallel, self.options, self.logs, self.job_s = parallel, options, logs, job_s
        self._selector = selectors.DefaultSelector()
        self._runners: list[_Runner] = []
        self._started = 0
        self._failed_starts = 0

    def run(self, jobs: Sequence[Job], done: Done) -> None:
        pending = deque(enumerate(jobs))
        by_id = dict(enumerate(jobs))
        self.logs.mkdir(parents=True, exist_ok=True)
        try:
            for slot in range(min(self.parallel, len(jobs))):
                self._start(slot)
            finished: list[_Ended] = []
            while True:
                for runner in self._runners:
                    if runner.ready and runner.job is None and pending:
                        job_id, job = pending.popleft()
                        runner.assign(job_id, job, self.job_s)
                # Reports are written once every free process has its next job: no process
                # waits while the coordinator writes files.
                for job, report, error in finished:
                    done(job, report, error)
                if not pending and all(r.job is None for r in self._runners):
                    break
                finished = self._wait(by_id)
            self.close(graceful=True)
        finally:
            self.close()

    def close(self, graceful: bool = False) -> None:
        """End the grading processes: ``graceful`` (every job done) lets each end by itself,
        so that its worker server removes its workers' cgroups; else (interrupted, failed)
        they are killed at once."""
        for runner in self._runners:
            self._selector.unregister(runner.process.stdout)
            if graceful:
                runner.finish()
            else:
                runner.kill()
        self._runners.clear()

    def _start(self, slot: int) -> None:
        self._started += 1
        runner = _Runner(slot, self.options, self.logs / f"grader-{self._started}.log")
        self._runners.append(runner)
        self._selector.register(runner.process.stdout, selectors.EVENT_READ, runner)

    def _replace(self, runner: _Runner) -> None:
        self._selector.unregister(runner.process.stdout)
        self._runners.remove(runner)
        runner.kill()
        if not runner.ready:
            self._failed_starts += 1
            if self._failed_starts >= 3:
                raise PoolError(f"the grading processes fail to start: {runner.log_tail()} "
                                f"(log: {runner.log})")
        self._start(runner.slot)

    def _wait(self, by_id: dict[int, Job]) -> list[_Ended]:
        """The jobs that ended (graded, failed or stopped), each with its report or error."""
        finished: list[_Ended] = []
        now = time.monotonic()
        timeout = max(0.0, min(r.deadline for r in self._runners) - now)
        for key, _ in self._selector.select(min(timeout, 1.0)):
            runner: _Runner = key.data
            messages = runner.read()
            if messages is None:
                code = runner.process.poll()
                if runner.job is not None:
                    finished.append((runner.job, None, f"the grading process died (exit status {code}); "
                                                       f"its log: {runner.log}"))
                self._replace(runner)
                continue
            for message in messages:
                if message.get("ready"):
                    runner.ready, self._failed_starts = True, 0
                elif "id" in message:
                    job = by_id[message["id"]]
                    runner.job = None
                    finished.append((job, message.get("report"), message.get("error", "")))
        for runner in list(self._runners):
            if time.monotonic() > runner.deadline and (runner.job is not None or not runner.ready):
                if runner.job is not None:
                    finished.append((runner.job, None, f"grading took longer than {self.job_s:g} s, beyond "
                                     "every time limit of the submission; the grading process was stopped"))
                self._replace(runner)
        return finished
