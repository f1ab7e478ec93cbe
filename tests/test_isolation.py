"""A submission cannot reach what it must not: judges, solutions, secrets, the network,
the grader's files; and nothing it starts outlives its worker.

Each hostile submission is built so that getting through would change its score, so the
score shows which side of the wall it ended on. Where this machine cannot put a
confinement in force, the report must say so, and the test is skipped (``-rs`` lists it);
on the CI machine (``GRADER_REQUIRE_ISOLATION=full``, set by ``.ci/run``) it fails instead.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from grader.grading.engine import grade
from grader.grading.exercises import all_exercises, probes_modules
from grader.grading.sandbox_setup import hidden_paths, start_launcher
from grader.grading.submission import read_submission
from grader.report import Status
from grader.sandbox.client import Sandbox
from grader.sandbox.launchers import ServerLauncher
from tests.conftest import REQUIRED_ISOLATION, ROOT, TEST_LIMITS, grade_without_namespaces, require

SOLUTION = (ROOT / "solutions" / "exercise3.py").read_text(encoding="utf-8")


def write(tmp_path, name: str, preamble: str, body: str = SOLUTION):
    path = tmp_path / name
    path.write_text(textwrap.dedent(preamble) + "\n" + body, encoding="utf-8")
    return path


def test_the_reference_solution_cannot_be_stolen(grade_file, tmp_path):
    # Runs the reference solution and otherwise defines nothing: seen, it scores 20.
    path = write(tmp_path, "steal.py", f"exec(open({str(ROOT / 'solutions' / 'exercise3.py')!r}).read())",
                 body="")
    report = grade_file(path)
    require(report, "hidden files")
    assert report.score == 0
    assert "FileNotFoundError" in report.problem, report.problem


def _git_file() -> str:
    """A file of the project's history: .git/HEAD in a clone, .git itself in a worktree."""
    git = ROOT / ".git"
    return ".git/HEAD" if git.is_dir() else ".git"


# (Not tests/: under pytest it is on sys.path, which hidden_paths keeps in sight.)
@pytest.mark.parametrize("target", ["solutions/exercise3.py", "grader/checks/exercise3/judges.py",
                                    _git_file()])
def test_judges_solutions_and_history_are_out_of_sight(grade_file, tmp_path, target):
    # A correct answer that refuses to load once it has read the target's content: hidden,
    # it scores 20; seen, 0.
    content = (ROOT / target).read_bytes()
    assert content  # an empty file would read the same as its empty cover
    path = write(tmp_path, "peek.py", f"""
        import hashlib
        try:
            with open({str(ROOT / target)!r}, "rb") as handle:
                seen = hashlib.sha256(handle.read()).hexdigest()
        except OSError:
            seen = None
        assert seen != {hashlib.sha256(content).hexdigest()!r}, "read {target}"
    """)
    report = grade_file(path)
    require(report, "hidden files")
    assert report.score == 20, report.problem


def test_every_confinement_is_in_force_where_required(grade_file):
    report = grade_file(ROOT / "solutions" / "exercise3.py")
    isolation = report.isolation
    assert not set(isolation.in_force) & set(isolation.missing)
    assert (isolation.level == "full") == (not isolation.missing)
    for aspect in sorted(isolation.missing):
        require(report, aspect)  # skips here, fails on the CI machine
    assert isolation.level == "full"


def test_environment_is_scrubbed(tmp_path, monkeypatch):
    monkeypatch.setenv("D2L_GRADER_SECRET", "s3cret")
    path = write(tmp_path, "env.py", """
        import os
        assert "D2L_GRADER_SECRET" not in os.environ, "the grader's environment leaked"
    """)
    launcher = start_launcher()
    try:
        report = grade(path, all_exercises()["exercise3"], limits=TEST_LIMITS, launcher=launcher)
    finally:
        launcher.close()
    assert report.score == 20, report.problem


def test_network_is_unreachable(grade_file, tmp_path):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        path = write(tmp_path, "net.py", f"""
            import socket
            try:
                socket.create_connection(("127.0.0.1", {port}), timeout=1).close()
                reached = True
            except OSError:
                reached = False
            assert not reached, "reached the grader's machine over the network"
        """)
        report = grade_file(path)
    require(report, "network")
    assert report.score == 20, report.problem


def test_no_process_outlives_the_worker(grade_file, tmp_path):
    marker = f"4242.{os.getpid()}"  # a `sleep` argument no other process on this machine uses
    path = write(tmp_path, "spawn.py", f"""
        import subprocess
        subprocess.Popen(["sleep", "{marker}"], start_new_session=True)
    """)
    report = grade_file(path)
    assert report.score == 20, report.problem
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        found = subprocess.run(["pgrep", "-f", f"sleep {marker}"], capture_output=True, text=True)
        left = [int(pid) for pid in found.stdout.split()]
        if not left:
            break
        time.sleep(0.1)
    for pid in left:  # the submission's own `sleep`, by its unique argument
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    require(report, "process lifetime")  # without a PID namespace, a new session escapes
    assert not left, "a process started by the submission is still running"


@pytest.mark.skipif(os.geteuid() != 0, reason="a student may write their own files")
def test_grader_files_cannot_be_changed(grade_file, tmp_path):
    target = ROOT / "grader" / "__init__.py"
    before = target.read_bytes()
    path = write(tmp_path, "tamper.py", f"""
        try:
            with open({str(target)!r}, "a") as handle:
                handle.write("# tampered\\n")
            tampered = True
        except OSError:
            tampered = False
        assert not tampered, "changed the grader's own code"
    """)
    report = grade_file(path)
    assert target.read_bytes() == before
    assert report.score == 20, report.problem


def test_a_crash_costs_only_its_own_checks(grade_file, tmp_path):
    body = SOLUTION.replace("class FourierHalf(nn.Module):",
                            "class FourierHalf(nn.Module):\n    def __init__(self):\n"
                            "        super().__init__()\n        import os\n        os._exit(3)\n")
    path = write(tmp_path, "crash.py", "", body=body)
    report = grade_file(path)
    crashed = [c for c in report.checks if c.status != Status.PASSED]
    assert {c.target for c in crashed} == {"FourierHalf"}
    assert all("exit code 3" in c.message for c in crashed)
    assert report.score == 16


def test_memory_bomb_in_forward_is_stopped(grade_file, tmp_path):
    body = SOLUTION.replace("return X - X.mean()", "return torch.ones(2**40) + X")
    assert body != SOLUTION
    path = write(tmp_path, "bomb.py", "", body=body)
    report = grade_file(path)
    broken = {c.target for c in report.checks if c.status != Status.PASSED}
    assert broken == {"CenteredLayer"}
    assert all("memory" in c.message for c in report.checks if c.target == "CenteredLayer")


def test_fresh_interpreter_fallback_grades_the_same(tmp_path):
    from grader.sandbox.launchers import SpawnLauncher

    exercise = all_exercises()["exercise3"]
    launcher = SpawnLauncher(probes_modules(), hidden_paths())
    # Each worker imports torch before its first word, which the import time limit bounds:
    # seconds on a busy runner.
    limits = dataclasses.replace(TEST_LIMITS, load_s=60.0)
    try:
        report = grade(ROOT / "tests" / "submissions" / "exercise3" / "centered_sum.py", exercise,
                       limits=limits, launcher=launcher)
    finally:
        launcher.close()
    assert report.score == 17
    assert "forkserver" in report.isolation.missing
    assert report.isolation.level == "partial"


def test_without_namespaces_it_still_grades_and_says_what_is_missing():
    report = grade_without_namespaces(ROOT / "tests" / "submissions" / "exercise3" / "centered_sum.py")
    assert report.score == 17
    assert report.isolation.level == "partial"
    assert {"network", "hidden files", "process lifetime"} <= set(report.isolation.missing)
    assert "resource limits" in report.isolation.in_force
    assert "user" in report.isolation.in_force or "user" in report.isolation.missing
    # No pids cgroup: the user entry says which process cap there is, if any (a reviewer
    # found "RLIMIT_NPROC instead" claimed where none was set).
    assert "worker processes" in report.isolation.missing
    user = {**report.isolation.in_force, **report.isolation.missing}["user"]
    assert "processes of that user" in user or "no cap on its processes" in user, user


def test_files_outside_the_working_directory_are_read_only(grade_file, tmp_path):
    # /var/tmp and /dev/shm are writable by anyone on most systems.
    path = write(tmp_path, "persist.py", """
        import os
        wrote = []
        for folder in ("/var/tmp", "/dev/shm"):
            try:
                with open(os.path.join(folder, "d2l-grader-persist"), "w") as handle:
                    handle.write("left behind")
                wrote.append(folder)
            except OSError:
                pass
        with open("scratch.txt", "w") as handle:  # its own working directory is writable
            handle.write("fine")
        assert not wrote, f"wrote outside its working directory: {wrote}"
    """)
    report = grade_file(path)
    require(report, "read-only files")
    assert report.score == 20, report.problem


def test_an_infinite_loop_costs_one_time_limit_per_target(grade_file):
    report = grade_file(ROOT / "tests" / "submissions" / "exercise3" / "infinite_loop_forward.py")
    centered = [c for c in report.checks if c.target == "CenteredLayer"]
    assert all(c.status == Status.ERROR and "time limit" in c.message for c in centered)
    again = [c for c in centered if "not run again" in c.message]
    assert len(again) == len(centered) - 1 >= 1
    # Not run again: none waits for a time limit, as each would if its code ran (a bound in
    # the checks' own units, that a busy machine does not reach).
    assert sum(c.duration_s for c in again) < TEST_LIMITS.call_s


def test_rewriting_the_probes_in_the_worker_gains_nothing(grade_file, tmp_path):
    # Replaces every probe of exercise3 with one that answers "no outputs" or "no
    # parameters", hoping that judges check each output they get and pass on none.
    path = write(tmp_path, "rewrite_probes.py", """
        import sys
        from grader.checks import common_probes
        from grader.checks.exercise3 import probes

        def empty(sub, *args):
            return {"parameters": {}, "outputs": []} if len(args) == 3 else []
        empty.__grader_probe__ = True
        for name in dir(probes):
            if not name.startswith("_") and callable(getattr(probes, name)):
                setattr(probes, name, empty)
        del common_probes.parameter_shapes  # this one is reported as tampering
    """)
    report = grade_file(path)
    assert report.score == 0
    assert report.gradable  # the student's doing, not a grader error
    assert all(c.status in (Status.FAILED, Status.ERROR) for c in report.checks)
    assert any("tampered" in c.message for c in report.checks)


def test_a_submission_killed_by_sigkill_is_reported_as_killed(grade_file, tmp_path):
    """The signal that ends the confined process comes back through the PID namespace's
    pid 1 as an exit code, which the worker turns back into the signal: SIGKILL (what the
    memory cgroup sends) was lost on the way and read as "exit code 70"."""
    path = write(tmp_path, "sigkill.py", """
        import os, signal
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    report = grade_file(path)
    require(report, "process lifetime")
    assert report.score == 0
    assert "killed (signal 9)" in report.problem, report.problem


def test_a_killed_workers_processes_are_reaped_by_its_server(tmp_path):
    """Killing a worker orphans the pid 1 of its namespace for a moment. Left to the
    machine's init, which may reap late, its zombie kept the worker's cgroup busy, and the
    server's cgroups stayed behind after a batch; the server reaps it itself."""
    solution = tmp_path / "exercise3.py"
    solution.write_text(SOLUTION, encoding="utf-8")
    launcher = ServerLauncher(probes_modules(), hidden_paths())
    try:
        groups = []
        for _ in range(3):
            sandbox = Sandbox(launcher, read_submission(solution), TEST_LIMITS)
            sandbox.prepare()
            groups.append(sandbox._worker.pid)  # the worker's process group: W, S and R
            isolation = sandbox.isolation or {}
            sandbox.close()  # kills the whole group
    finally:
        launcher.close()  # the server ends once it has reaped everything
    if "process lifetime" not in isolation.get("in_force", {}):
        if REQUIRED_ISOLATION == "full":
            pytest.fail("no PID namespace (GRADER_REQUIRE_ISOLATION=full)")
        pytest.skip("no PID namespace: no pid 1 to orphan")
    left = [pid for pid in _pids() if _process_group(pid) in groups]
    assert not left, f"processes of killed workers are left, unreaped: {left}"


def test_without_namespaces_the_server_adopts_nothing_a_submission_detached(tmp_path):
    """Without PID namespaces a process the submission detached (a new session) outlives
    its worker, as the report says ("process lifetime" missing). It must not become the
    worker server's: the server would wait for it at its end, for nothing."""
    marker = f"4343.{os.getpid()}"  # a `sleep` argument no other process on this machine uses
    path = write(tmp_path, "detach.py", f"""
        import subprocess
        subprocess.Popen(["sleep", "{marker}"], start_new_session=True)
    """)
    launcher = ServerLauncher(probes_modules(), hidden_paths(), namespaces=False)
    try:
        sandbox = Sandbox(launcher, read_submission(path), TEST_LIMITS)
        worker = sandbox.prepare().pid
        sandbox.close()  # kills the worker; its detached `sleep` is orphaned
        deadline = time.monotonic() + 5
        parents: list[int | None] = []
        while time.monotonic() < deadline and (not parents or worker in parents):
            found = subprocess.run(["pgrep", "-f", f"sleep {marker}"], capture_output=True, text=True)
            parents = [_parent(int(pid)) for pid in found.stdout.split()]
            time.sleep(0.05)
        server = launcher._process.pid
    finally:
        launcher.close()
        subprocess.run(["pkill", "-f", f"sleep {marker}"], capture_output=True)
    assert parents, "the detached process never started"
    assert server not in parents, "the worker server adopted the submission's detached process"


def _pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def _parent(pid: int) -> int | None:
    return _stat_field(pid, 1)


def _process_group(pid: int) -> int | None:
    return _stat_field(pid, 2)


def _stat_field(pid: int, index: int) -> int | None:
    """A number from ``/proc/<pid>/stat``, counted after the command name (0: state); None
    where the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[index])
    except (OSError, IndexError, ValueError):
        return None


HOLDER = """
import ctypes, os, sys, time
from grader.sandbox.confine import keep_trusted_memory_private
os.setgid(65534); os.setuid(65534)
ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)  # dumpable, as a user's processes are (setuid cleared it)
if sys.argv[1] == "private":
    keep_trusted_memory_private()
print(os.getpid(), flush=True)
time.sleep(30)
"""


def _reads_as_nobody(path: str, text: bytes) -> str:
    """Whether a process of user nobody finds ``text`` in ``path``: "found", "refused" or "not found"."""
    pid = os.fork()
    if pid == 0:
        code = 3
        try:
            os.setgid(65534)
            os.setuid(65534)
            with open(path, "rb") as file:
                code = 0 if text in file.read() else 2
        except PermissionError:
            code = 1
        finally:
            os._exit(code)
    return ["found", "refused", "not found", "failed"][os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])]


@pytest.mark.parametrize("private", [True, False])
def test_the_graders_environment_is_out_of_reach_of_its_own_user(private):
    """A process of the same user (a worker without namespaces) cannot read the grading
    process's environment, which may hold GRADER_SECRET (found by a reviewer). The
    unprotected case shows the test can tell."""
    if os.geteuid() != 0:
        pytest.skip("needs root, to run both processes as nobody")
    env = {**os.environ, "GRADER_SECRET": "course-secret-42", "PYTHONPATH": str(ROOT)}
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, "private" if private else "open"],
                              stdout=subprocess.PIPE, text=True, env=env)
    try:
        pid = int(holder.stdout.readline())
        found = _reads_as_nobody(f"/proc/{pid}/environ", b"course-secret-42")
        assert found == ("refused" if private else "found")
    finally:
        holder.kill()
        holder.wait()
