"""The sandbox's parts on their own: the seccomp program, finding delegated cgroups, and the
worker's capped output."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import glob
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from grader.grading.errors import GraderFault
from grader.grading.submission import read_submission
from grader.sandbox import cgroups, seccomp, worker_server
from grader.sandbox.client import Sandbox
from grader.sandbox.confine import Confinement
from grader.sandbox.launchers import CLOSE_S, ServerLauncher
from grader.sandbox.worker import OUTPUT_CAP, CappedOutput
from tests.conftest import ROOT, grade_without_namespaces

SOLUTION = (ROOT / "solutions" / "exercise3.py").read_text(encoding="utf-8")


@pytest.mark.parametrize("machine", sorted(seccomp.TABLES))
def test_every_seccomp_jump_lands_inside_the_program(machine):
    program = seccomp.program(machine)
    for at, (code, jt, jf, _) in enumerate(program):
        if code in (seccomp.JEQ, seccomp.JGE, seccomp.JSET):
            assert 0 <= jt < 256 and at + 1 + jt < len(program)
            assert 0 <= jf < 256 and at + 1 + jf < len(program)
    assert program[-1][0] == seccomp.RET  # no way to run off the end
    assert all(name in seccomp.TABLES[machine][1] for name in seccomp.DENIED)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="seccomp is Linux's")
def test_denied_calls_fail_in_a_worker(grade_file, tmp_path):
    # Each call would let a submission leave its namespaces or talk to another student.
    path = tmp_path / "calls.py"
    path.write_text(textwrap.dedent("""
        import ctypes, errno, os
        libc = ctypes.CDLL(None, use_errno=True)
        allowed = []
        for name, call in [("unshare", lambda: libc.unshare(0x10000000)),  # a user namespace
                           ("keyctl", lambda: libc.syscall(250, 0, -4, 0, 0, 0)),
                           ("ptrace", lambda: libc.ptrace(0, 0, 0, 0)),  # PTRACE_TRACEME
                           ("pidfd_getfd", lambda: libc.syscall(438, -1, 0, 0))]:  # else EBADF
            if call() == 0 or ctypes.get_errno() != errno.EPERM:
                allowed.append(name)
        assert not allowed, f"allowed: {allowed}"
        assert os.fork() or os._exit(0) or True  # ordinary processes still start
    """) + SOLUTION)
    report = grade_file(path)
    if "seccomp" not in report.isolation.in_force:
        pytest.skip(f"seccomp not in force here: {report.isolation.missing['seccomp']}")
    assert report.score == 20, report.problem


def fake_machine(tmp_path, cgroup: str, mountinfo: str, files: dict[str, str]):
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "cgroup").write_text(cgroup)
    (proc / "mountinfo").write_text(mountinfo)
    for name, text in files.items():
        path = tmp_path / "root" / name.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return str(proc), str(tmp_path / "root")


V2_MOUNT = "30 25 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n"


def test_cgroup_v2_delegated_to_the_parent_is_used(tmp_path):
    proc, root = fake_machine(tmp_path, "0::/grader.scope/main\n", V2_MOUNT, {
        "/sys/fs/cgroup/grader.scope/cgroup.subtree_control": "cpu memory pids\n",
        "/sys/fs/cgroup/grader.scope/main/cgroup.subtree_control": "\n"})
    found = cgroups.prepare(proc, root)
    try:
        assert found.missing == {}
        assert [(h.version, h.controllers) for h in found.hierarchies] == [(2, ("memory", "pids"))]
        made = tmp_path / "root/sys/fs/cgroup/grader.scope" / f"{cgroups.PREFIX}{os.getpid()}"
        assert (made / "cgroup.subtree_control").read_text() == "+memory +pids"
    finally:
        for hierarchy in found.hierarchies:
            os.close(hierarchy.fd)
            os.close(hierarchy.parent_fd)


def test_cgroup_v2_without_delegation_says_why(tmp_path):
    proc, root = fake_machine(tmp_path, "0::/user.slice/session.scope\n", V2_MOUNT, {
        "/sys/fs/cgroup/user.slice/session.scope/cgroup.subtree_control": "\n",
        "/sys/fs/cgroup/user.slice/cgroup.subtree_control": "memory\n"})
    found = cgroups.prepare(proc, root)
    assert found.hierarchies == []
    assert set(found.missing) == {"memory", "pids"}
    assert "not delegated" in found.missing["pids"]


def test_cgroup_v1_hierarchies_are_found_under_their_mounts(tmp_path):
    mountinfo = ("40 25 0:35 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
                 "41 25 0:36 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n")
    proc, root = fake_machine(tmp_path, "4:memory:/jobs/a\n8:pids:/\n", mountinfo, {
        "/sys/fs/cgroup/memory/jobs/a/memory.limit_in_bytes": "1\n",
        "/sys/fs/cgroup/pids/pids.max": "max\n"})
    found = cgroups.prepare(proc, root)
    try:
        assert sorted(h.controllers for h in found.hierarchies) == [("memory",), ("pids",)]
        assert (tmp_path / "root/sys/fs/cgroup/memory/jobs/a" / f"{cgroups.PREFIX}{os.getpid()}").is_dir()
    finally:
        for hierarchy in found.hierarchies:
            os.close(hierarchy.fd)
            os.close(hierarchy.parent_fd)


class DeadLauncher:
    """Starts workers that die before saying hello (each a `sleep` it then kills)."""

    name = "dead"
    preload: list[str] = []

    def start(self, config):
        import socket
        import subprocess

        from grader.sandbox.channel import Channel
        from grader.sandbox.launchers import WorkerHandle

        ours, theirs = socket.socketpair()
        theirs.close()
        self.process = subprocess.Popen(["sleep", "30"], start_new_session=True)
        return WorkerHandle(self.process.pid, Channel(ours.detach()), self)

    def poll(self, pid):
        return self.process.poll()

    def wait(self, pid):
        return self.process.wait()

    def close(self):
        pass


def test_a_worker_failing_to_start_is_the_graders_fault_until_the_students_code_ran(tmp_path):
    from grader.grading.errors import GraderFault, StudentCodeProblem
    from grader.grading.submission import read_submission
    from grader.sandbox.client import Limits, Sandbox

    path = tmp_path / "ok.py"
    path.write_text(SOLUTION)
    sandbox = Sandbox(DeadLauncher(), read_submission(path), Limits(load_s=1))
    with pytest.raises(GraderFault):
        sandbox.prepare()  # no code of the student's ran: the machinery failed
    sandbox._code_ran = True  # as after a first worker imported the submission
    sandbox._worker = None
    with pytest.raises(StudentCodeProblem, match="after its code had run"):
        sandbox._started_worker()
    sandbox.close()


def test_capped_output_keeps_the_first_characters_and_counts_the_rest():
    out = CappedOutput()
    out.write("a" * (OUTPUT_CAP - 3))
    assert out.write("bcdef") == 5  # straddles the cap: three kept, two counted
    out.write(12345)  # print() passes str; anything else is made one
    assert out.text() == "a" * (OUTPUT_CAP - 3) + "bcd" + "\n… (7 more characters)"
    out.reset()
    assert out.text() == "" and out.write("") == 0 and out.text() == ""


def test_a_worker_that_cannot_be_forked_fails_its_request_and_leaves_nothing(monkeypatch):
    """A fork that fails (no memory or process to spare) answers that request with an error
    (the grader reports a grader fault) instead of ending the worker server for every later
    request; the working folder made for the worker is removed, its channel closed."""
    server = Confinement()
    server.have("hidden files", "the server's private /tmp")  # so the server makes a folder
    workers = worker_server._Workers(cgroups.Cgroups(), server, {"namespaces": False, "tmp_mb": 64})
    before = set(glob.glob(f"{workers.work_base}/worker-*"))

    def no_fork() -> int:
        raise OSError(errno.EAGAIN, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    read_fd, write_fd = os.pipe()  # the channel the worker would have served
    answer = worker_server._started_afresh(workers, {"memory_mb": 512, "max_processes": 64}, write_fd)
    os.close(read_fd)
    assert answer == {"error": "the worker server could not fork a worker (Resource temporarily unavailable)"}
    assert not workers.live
    assert set(glob.glob(f"{workers.work_base}/worker-*")) == before
    with pytest.raises(OSError):
        os.fstat(write_fd)


def test_a_spawn_the_server_could_not_fork_is_a_grader_fault_for_that_check(monkeypatch, tmp_path):
    """The server's ``{"error": ...}`` answer (above) reaches the grader as a grader fault
    with its reason, and the launcher's connection is left as it was, for the next request."""
    path = tmp_path / "exercise3.py"
    path.write_text(SOLUTION, encoding="utf-8")
    launcher = ServerLauncher([], [], namespaces=False)
    error = "the worker server could not fork a worker (Resource temporarily unavailable)"
    monkeypatch.setattr(launcher, "_request", lambda message, fd=None: {"error": error})
    try:
        sandbox = Sandbox(launcher, read_submission(path))
        with pytest.raises(GraderFault, match=r"could not fork a worker \(Resource temporarily"):
            sandbox.prepare()
        sandbox.close()
        monkeypatch.undo()
        sandbox = Sandbox(launcher, read_submission(path))
        assert sandbox.prepare().pid > 0  # the next request is served
        sandbox.close()
    finally:
        monkeypatch.undo()
        launcher.close()


def _copy_of_fd(pid: int, fd: int) -> int:
    """A copy of process ``pid``'s file descriptor ``fd`` (pidfd_getfd), as a submission's
    daemon could take one where workers run as the grader's user; skips where refused."""
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        copy = libc.syscall(438, pidfd, fd, 0)
    finally:
        os.close(pidfd)
    if copy < 0:
        pytest.skip(f"pidfd_getfd refused here: {os.strerror(ctypes.get_errno())}")
    return copy


@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="pidfd_open is Linux's")
def test_close_ends_and_reaps_the_server_though_a_copy_of_its_connection_lives_on():
    """Another process holding the server's end of the connection, and writing into it, must
    neither keep ``close`` waiting for an end of the connection that never comes nor leave
    the server unreaped (found by a reviewer, without namespaces: ``grade`` hung for good)."""
    launcher = ServerLauncher([], [], namespaces=False)
    launcher._await_ready()
    server_end = int(launcher._process.args[4])  # its fd number, passed to the server as is
    held = socket.socket(fileno=_copy_of_fd(launcher._process.pid, server_end))
    stop = threading.Event()

    def chatter() -> None:
        while not stop.wait(0.2):
            with contextlib.suppress(OSError):
                held.send(b" ")

    threading.Thread(target=chatter, daemon=True).start()
    closing = threading.Thread(target=launcher.close, daemon=True)
    try:
        closing.start()
        closing.join(timeout=CLOSE_S + 10)
        assert not closing.is_alive(), "close() is still waiting"
        assert launcher._process.returncode is not None  # exited and reaped
    finally:
        stop.set()
        held.close()


def test_a_program_the_submission_execs_does_not_hold_the_channel(tmp_path):
    """A worker that ends while a program it exec'd lives on is seen to end at once: the
    channel is not handed down through exec (found by a reviewer: "time limit" after 2 s)."""
    forward = ("    def forward(self, X):\n"
               "        import os, sys\n"
               "        if os.fork() == 0:\n"
               "            os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(30)'])\n"
               "        os._exit(3)")
    # Without namespaces: with them, R's end ends its whole PID namespace, the program too.
    message = _centered_layer_message_without_namespaces(tmp_path / "exec_then_exit.py", forward)
    assert "exit code 3" in message, message


def test_removing_a_workers_group_ends_what_is_left_in_it():
    """Without PID namespaces a submission's detached daemon outlives its worker: removing
    the worker's cgroup ends it, rather than leaving it running and the group behind (found
    by a reviewer: `grade` 2 s slower, the daemon and the group left over)."""
    groups = cgroups.prepare()
    if not groups.hierarchies:
        pytest.skip(f"no cgroups here: {groups.missing}")
    name = groups.create(256 * 2**20, 16)
    daemon = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        for hierarchy in groups.hierarchies:
            cgroups._write_at(hierarchy.fd, f"{name}/cgroup.procs", str(daemon.pid))
        groups.remove(name)
        assert daemon.wait(timeout=5) == -signal.SIGKILL
        assert not groups.pending  # the group is gone
    finally:
        daemon.kill()
        groups.close()


def test_a_failed_spawn_after_the_code_ran_is_still_a_grader_fault(monkeypatch, tmp_path):
    """Without a pids cgroup per worker, the processes that used up the machine's may be
    another student's: a spawn that fails after this submission's code ran must not cost it
    points (a reviewer's batch gave a correct classmate 5/20 when it did), only a grade
    given again later."""
    path = tmp_path / "exercise3.py"
    path.write_text(SOLUTION, encoding="utf-8")
    launcher = ServerLauncher([], [], namespaces=False)
    try:
        sandbox = Sandbox(launcher, read_submission(path))
        sandbox.prepare()
        sandbox._stop_worker()  # as after a crash: the next call needs a new worker
        assert "worker processes" in sandbox.isolation["missing"]  # no cgroups without namespaces
        error = "the worker server could not fork a worker (Resource temporarily unavailable)"
        monkeypatch.setattr(launcher, "_request", lambda message, fd=None: {"error": error})
        with pytest.raises(GraderFault, match="could not fork"):
            sandbox.prepare()
        sandbox.close()
    finally:
        monkeypatch.undo()
        launcher.close()


def test_workers_without_namespaces_cannot_read_the_servers_memory(tmp_path):
    """Without namespaces a worker may run as the worker server's user: the server (whose
    memory every classmate's worker is forked from) is not dumpable, and neither is the
    worker it forks (found by a reviewer: a submission read /proc/<server>/mem)."""
    forward = ("    def forward(self, X):\n"
               "        import ctypes\n"
               "        raise ValueError(f'dumpable={ctypes.CDLL(None).prctl(3, 0, 0, 0, 0)}')")
    message = _centered_layer_message_without_namespaces(tmp_path / "dumpable.py", forward)
    assert "dumpable=0" in message, message


def _centered_layer_message_without_namespaces(path: Path, forward: str) -> str:
    """The first message of a CenteredLayer check, for the solution with ``forward`` in
    place of CenteredLayer's, graded with namespaces turned off."""
    path.write_text(SOLUTION.replace("    def forward(self, X):\n        return X - X.mean()", forward, 1))
    report = grade_without_namespaces(path)
    messages = [check.message for check in report.checks if check.target == "CenteredLayer" and check.message]
    assert messages, report.problem
    return messages[0]
