"""Attacks on the worker server's spare worker (worker_server._Workers.fork_spare).

A spare waits in ``worker._await_request`` as root and unconfined (no rlimits, no user
switch, no seccomp) until the next request arrives. These tests run hostile submissions
while a spare waits, and compare what a submission served by a spare can observe with what
one served by a freshly forked worker can. Security review, round of the spare worker.
"""

from __future__ import annotations

import base64
import json
import re
import textwrap
import time
import zlib
from pathlib import Path

import pytest

from grader.grading.engine import grade
from grader.grading.errors import StudentCodeProblem
from grader.grading.exercises import all_exercises
from grader.grading.sandbox_setup import start_launcher
from grader.grading.submission import read_submission
from grader.sandbox.client import Limits, Sandbox
from tests.conftest import REQUIRED_ISOLATION, ROOT, TEST_LIMITS

SOLUTION = (ROOT / "solutions" / "exercise3.py").read_text(encoding="utf-8")
EXERCISE = all_exercises()["exercise3"]

# Everything a submission can see of its process and of its surroundings, sent back as the
# message of the exception it raises while loading (compressed: messages are capped).
OBSERVE = """
import base64, json, os, resource, zlib
seen = {
    "ids": [os.getuid(), os.geteuid(), os.getgid(), os.getgroups()],
    "pid": [os.getpid(), os.getppid()],
    "fds": sorted(os.readlink(f"/proc/self/fd/{fd}").split(":")[0]
                  for fd in os.listdir("/proc/self/fd") if os.path.exists(f"/proc/self/fd/{fd}")),
    "procs": sorted(p for p in os.listdir("/proc") if p.isdigit()),
    "env": dict(os.environ),
    "cwd": os.getcwd(),
    "tmp": os.listdir("/tmp"),
    "limits": {n: resource.getrlimit(getattr(resource, n)) for n in
               ("RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_CORE")},
    "status": [line for line in open("/proc/self/status").read().splitlines()
               if line.split(":")[0] in ("Uid", "Gid", "Groups", "NSpid", "SigIgn", "CapPrm", "CapEff",
                                         "NoNewPrivs", "Seccomp")],
    "mounts": [line.split()[1:4] for line in open("/proc/self/mounts")],
}
raise RuntimeError("OBS" + base64.b64encode(zlib.compress(json.dumps(seen).encode())).decode())
"""

# While the spare forked after this worker's start waits: look for it, and for a way to it.
REACH = """
import errno, os, signal, time
time.sleep(0.5)  # the spare forked right after this worker's start is waiting by now
visible = [pid for pid in range(1, 1 << 16) if _exists(pid)]
assert visible == [1, os.getpid()], f"processes beyond our own: {visible}"
for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL, signal.SIGSTOP):
    try:
        os.kill(1, sig)
        raise AssertionError(f"signal {sig} reached pid 1")
    except PermissionError:
        pass
for path, mode in (("/proc/1/mem", "r+b"), ("/proc/1/environ", "rb")):
    try:
        open(path, mode).close()
        raise AssertionError(f"opened {path}")
    except PermissionError:
        pass
for path in ("/proc/1/fd", "/proc/1/root"):
    try:
        os.listdir(path)
        raise AssertionError(f"listed {path}")
    except PermissionError:
        pass
kinds = sorted(os.readlink(f"/proc/self/fd/{fd}").split(":")[0]
               for fd in os.listdir("/proc/self/fd") if os.path.exists(f"/proc/self/fd/{fd}"))
assert kinds.count("socket") == 1, f"descriptors: {kinds}"  # the channel, nothing of the server's
assert open("/proc/net/unix").read().count("\\n") == 1, "unix sockets in this network namespace"
assert not os.path.exists("/sys/fs/cgroup"), "the cgroup file system"
# The server's folder for workers without a /tmp of their own: only its empty mount point.
assert not os.path.isdir("/.workers") or os.listdir("/.workers") == [], os.listdir("/.workers")
assert not os.access("/.workers", os.W_OK)
"""

EXISTS = """
def _exists(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
"""


def _observe(launcher, path: Path, limits: Limits) -> tuple[dict, dict]:
    sandbox = Sandbox(launcher, read_submission(path), limits)
    try:
        with pytest.raises(StudentCodeProblem) as raised:
            sandbox.prepare()
        found = re.search(r"OBS([A-Za-z0-9+/=]+)", raised.value.message)
        assert found, raised.value.message
        return json.loads(zlib.decompress(base64.b64decode(found.group(1)))), sandbox.isolation or {}
    finally:
        sandbox.close()


def test_a_worker_served_by_the_spare_sees_what_a_fresh_one_sees(tmp_path):
    path = tmp_path / "observe.py"
    path.write_text(textwrap.dedent(OBSERVE))
    launcher = start_launcher([path], [EXERCISE])
    try:
        # The first spare is made with the default limits: a request for others gets a
        # worker made afresh, and the spare made after it has that request's limits.
        fresh, fresh_isolation = _observe(launcher, path, Limits(memory_mb=300))
        time.sleep(1.0)  # that spare is waiting by now: the next request gets it
        spare, spare_isolation = _observe(launcher, path, Limits(memory_mb=300))
    finally:
        launcher.close()
    if "process lifetime" not in fresh_isolation.get("in_force", {}) and REQUIRED_ISOLATION != "full":
        pytest.skip("no PID namespace here: nothing to compare")
    assert spare_isolation == fresh_isolation
    assert spare == fresh


def test_a_worker_cannot_reach_the_spare_waiting_beside_it(tmp_path):
    path = tmp_path / "reach.py"
    path.write_text(textwrap.dedent(EXISTS) + textwrap.dedent(REACH) + "\n" + SOLUTION)
    launcher = start_launcher([path], [EXERCISE])
    try:
        report = grade(path, EXERCISE, limits=TEST_LIMITS, launcher=launcher)
    finally:
        launcher.close()
    for aspect in ("own /proc", "user", "seccomp", "own IPC"):
        if aspect not in report.isolation.in_force:
            if REQUIRED_ISOLATION == "full":
                pytest.fail(f"{aspect} missing (GRADER_REQUIRE_ISOLATION=full)")
            pytest.skip(f"{aspect} not in force here")
    assert report.score == 20, report.problem
