"""Judging in two processes at once, for a single ``grade`` on a machine with a core to spare.

The grader's process forks once its imports are done; each process runs the checks of some
of the API names, with a worker of its own for the submission, from the same worker server
(``ServerLauncher.connect``). All the checks of one API name stay in one process and in
their order, so that what one check of a name tells the next ("not run again" after a time
limit, "(same cause as ...)") reads as it does in one process. The forked process sends its
results back through a pipe and exits; the report lists every check in the judges' order.

While one process waits for its worker the other judges: on two cores the checks take
about two thirds of the time. A batch already keeps every core busy and does not split.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import signal
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from grader.grading.errors import GraderFault
from grader.paths import CHECKS_DIR

PARTS = 2
# How long each check took on the reference solution (written by benchmarks/check_durations.py).
DURATIONS = CHECKS_DIR / "durations.json"


def assign(items: list[pytest.Item], target_of: Callable[[pytest.Item], str],
           name_of: Callable[[pytest.Item], str] = str) -> list[int]:
    """The part (0 or 1) of each item: whole API names, balanced by what their checks cost."""
    weights: dict[str, float] = {}
    for item, cost in zip(items, _costs(items, name_of), strict=True):
        target = target_of(item)
        weights[target] = weights.get(target, 0) + cost
    load = [0.0] * PARTS
    part_of: dict[str, int] = {}
    for target in sorted(weights, key=lambda t: -weights[t]):  # stable: ties in judges' order
        part = load.index(min(load))
        part_of[target] = part
        load[part] += weights[target]
    return [part_of[target_of(item)] for item in items]


def _costs(items: list[pytest.Item], name_of: Callable[[pytest.Item], str]) -> list[float]:
    """What each check costs: how long it took on the reference solution (``DURATIONS``),
    else an estimate from its examples in the same unit. Examples alone weigh checks badly
    where one example is costly (exercise5's traced models: 4 examples, 0.2 s)."""
    durations = recorded_durations()
    recorded = [durations.get(_exercise(item), {}).get(name_of(item)) for item in items]
    known = [(cost, _examples(item)) for cost, item in zip(recorded, items, strict=True) if cost is not None]
    per_example = sum(cost for cost, _ in known) / sum(n for _, n in known) if known else 1.0
    return [cost if cost is not None else _examples(item) * per_example
            for cost, item in zip(recorded, items, strict=True)]


def _exercise(item: pytest.Item) -> str:
    return Path(str(getattr(item, "path", ""))).parent.name  # grader/checks/<exercise>/judges.py


@lru_cache(maxsize=1)
def recorded_durations() -> dict[str, dict[str, float]]:
    """exercise -> check name -> seconds, from ``DURATIONS`` (empty where it is missing)."""
    try:
        return json.loads(DURATIONS.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _examples(item: pytest.Item) -> int:
    """Roughly what a check costs: its hypothesis examples (a plain check: a few calls), and
    as much again as five examples for what every check pays once (its set-up, the first
    call into new code, hypothesis's start)."""
    settings = getattr(getattr(item, "obj", None), "_hypothesis_internal_use_settings", None)
    return int(getattr(settings, "max_examples", 5)) + 5


def can_split(launcher: Any) -> bool:
    """Whether this machine and launcher allow a second judging process."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cores >= 2 and hasattr(launcher, "connect") and hasattr(os, "fork")


class Partner:
    """The forked judging process: its results, once it is done."""

    def __init__(self, pid: int, read_fd: int) -> None:
        self.pid, self._read_fd = pid, read_fd

    def result(self) -> dict[str, Any]:
        with os.fdopen(self._read_fd, "rb") as pipe:
            data = pipe.read()
        status = os.waitpid(self.pid, 0)[1]
        if not data:
            raise GraderFault(f"the second judging process ended without results "
                              f"(exit code {os.waitstatus_to_exitcode(status)})")
        return pickle.loads(data)  # noqa: S301 - written by our own fork, never by student code

    def kill(self) -> None:
        """End it where its results are no longer wanted (the grader was interrupted)."""
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        with contextlib.suppress(OSError):
            os.close(self._read_fd)


def fork(body: Callable[[], dict[str, Any]]) -> Partner:
    """Run ``body`` in a forked process; its return value comes back by ``Partner.result``."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child ends with os._exit (coverage cannot see it)
        os.close(read_fd)
        code = 70
        try:
            from grader.sandbox.confine import set_parent_death_signal

            set_parent_death_signal()  # the grader died: so does its second judge
            data = pickle.dumps(body())
            with os.fdopen(write_fd, "wb") as pipe:
                pipe.write(data)
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    return Partner(pid, read_fd)
