"""The worker server's spare worker (worker_server._Workers): forked ahead of the next
request, handed the request's settings and channel, and replaced by a fresh worker where
the request asks for other cgroup limits."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import torch

from grader.checks.exercise3 import probes
from grader.grading.exercises import all_exercises
from grader.grading.sandbox_setup import start_launcher
from grader.grading.submission import read_submission
from grader.sandbox.client import Limits, Sandbox
from grader.sandbox.wire import Opaque
from tests.conftest import REQUIRED_ISOLATION, ROOT

SOLUTION = ROOT / "solutions" / "exercise3.py"


@pytest.fixture(scope="module")
def server():
    launcher = start_launcher([SOLUTION], [all_exercises()["exercise3"]])
    yield launcher
    launcher.close()


def _isolation(launcher, limits: Limits) -> dict:
    sandbox = Sandbox(launcher, read_submission(SOLUTION), limits)
    try:
        sandbox.prepare()
        assert not isinstance(sandbox.run(probes.centered_outputs, [torch.ones(2, 3)])[0], Opaque)
        return sandbox.isolation or {}
    finally:
        sandbox.close()


def test_each_request_gets_the_cgroup_limits_it_asks_for(server):
    asked = [Limits(), Limits(memory_mb=300), Limits(memory_mb=300), Limits(), Limits(max_processes=7)]
    for limits in asked:
        time.sleep(0.2)  # the spare made after the last request is ready: it is the one offered
        in_force = _isolation(server, limits).get("in_force", {})
        if "worker memory" not in in_force:
            if REQUIRED_ISOLATION == "full":
                pytest.fail("no cgroup for workers (GRADER_REQUIRE_ISOLATION=full)")
            pytest.skip("no cgroups on this machine")
        assert f"{limits.memory_mb + 256} MiB" in in_force["worker memory"]
        assert f"at most {limits.max_processes} processes" in in_force["worker processes"]


def test_workers_back_to_back_are_each_their_own(server):
    """Requests that come before the spare is ready: each still gets a worker of its own."""
    pids = []
    for _ in range(4):
        sandbox = Sandbox(server, read_submission(SOLUTION), Limits())
        try:
            pids.append(sandbox.prepare().pid)
        finally:
            sandbox.close()
    assert len(set(pids)) == 4


def test_nothing_outlives_the_server_spare_included():
    launcher = start_launcher([SOLUTION], [all_exercises()["exercise3"]])
    server_pid = launcher._process.pid
    _isolation(launcher, Limits())  # one worker used, one spare made after it
    time.sleep(0.3)
    spare = _descendants(server_pid)
    assert spare, "the server has no spare worker"
    launcher.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and [pid for pid in spare if _alive(pid)]:
        time.sleep(0.05)
    assert not [pid for pid in spare if _alive(pid)]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _descendants(pid: int) -> list[int]:
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = [], [pid]
    while frontier:
        frontier = [child for child, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def test_a_submission_that_closes_its_channel_is_told_so(grade_file, tmp_path):
    """Only the worker itself holds its channel (fresh or spare alike): closing it is seen at
    once, and said as such, not as a time-out nor as a memory kill."""
    path = tmp_path / "exercise3.py"
    path.write_text("import os, time\nfor fd in range(3, 64):\n    try:\n        os.close(fd)\n"
                    "    except OSError:\n        pass\ntime.sleep(30)\n")
    report = grade_file(path)
    assert report.score == 0
    assert "closed the worker's connection to the grader while importing" in report.problem


STACK_PROBE = '''
import traceback, zlib
import torch
from torch import nn

WHERE = zlib.crc32("|".join(f"{f.filename}:{f.lineno}" for f in traceback.extract_stack()).encode())

class CenteredLayer(nn.Module):
    def forward(self, X):
        return torch.tensor([float(WHERE)], dtype=torch.float64)
'''


def test_every_worker_runs_the_submission_from_the_same_stack(tmp_path):
    """torch.jit.trace writes the Python stack into the files it saves: a student's saved
    model must be the same bytes whichever spare served it (the first one, one forked after a
    request, one forked to fit other limits), or replayed and plain grading send different
    files to the judges."""
    path = tmp_path / "exercise3.py"
    path.write_text(STACK_PROBE)
    launcher = start_launcher([path], [all_exercises()["exercise3"]])
    try:
        stacks = set()
        for limits, pause in [(Limits(), 0.3), (Limits(), 0), (Limits(memory_mb=300), 0), (Limits(), 0.3)]:
            time.sleep(pause)
            sandbox = Sandbox(launcher, read_submission(path), limits)
            try:
                stacks.add(float(sandbox.run(probes.centered_outputs, [torch.ones(1)])[0]))
            finally:
                sandbox.close()
    finally:
        launcher.close()
    assert len(stacks) == 1, "workers forked from different places in the server"


def test_a_second_connection_that_goes_away_mid_request_leaves_the_server_serving(server):
    """A second judging process killed while it waits for a worker (the grader was
    interrupted): the server's answer finds no one, and the grader's own connection must
    still get workers (a reviewer's finding: the server's loop died on the broken pipe)."""
    import json
    import socket

    for _ in range(3):
        linked = server.connect()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        limits = Limits()
        config = {"workdir": "/tmp", "memory_mb": limits.memory_mb, "cpu_s": limits.cpu_s,
                  "file_mb": limits.file_mb, "max_processes": limits.max_processes, "debug": False}
        request = {"op": "spawn", "config": config}
        linked._ctrl.shutdown(socket.SHUT_RD)  # gone before the answer: it can only fail
        socket.send_fds(linked._ctrl, [json.dumps(request).encode() + b"\n"], [theirs.fileno()])
        theirs.close()
        linked._ctrl.close()
        ours.close()
    time.sleep(0.5)
    assert server._process.poll() is None, "the server died"
    assert _isolation(server, Limits()) is not None  # a worker, with the solution imported
