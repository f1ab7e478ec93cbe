"""Nothing one student runs reaches, starves or outlives into another's grading (issue 11).

Each attack is a hostile submission. An attack on the grader's secrets defines the
reference answer only when it gets through, so its score shows which side of the wall it
ended on. An attack on classmates runs while (or before) a classmate is graded; the
classmate's submission asserts that nothing of the attacker reached it, so a classmate
keeps full marks exactly when the attack was contained. Where this machine cannot put a
confinement in force, the report must say so, and the test is skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from grader.grading.engine import grade
from grader.grading.exercises import all_exercises
from grader.grading.sandbox_setup import start_launcher
from grader.grading.submission import read_submission
from grader.sandbox.client import Limits, Sandbox
from tests.conftest import ROOT, TEST_LIMITS

SOLUTION = (ROOT / "solutions" / "exercise3.py").read_text(encoding="utf-8")
EXERCISE = all_exercises()["exercise3"]
MARKER = f"d2l-isolation-{os.getpid()}"  # in names no other process on this machine uses


def write(folder: Path, name: str, preamble: str, body: str = SOLUTION) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(preamble) + "\n" + body, encoding="utf-8")
    return path


def require(report, *aspects: str) -> None:
    for aspect in aspects:
        if aspect not in report.isolation.in_force:
            assert aspect in report.isolation.missing, aspect  # never silently less
            pytest.skip(f"{aspect} not in force here: {report.isolation.missing[aspect]}")


@pytest.fixture
def outside_tmp():
    """A world-readable folder outside /tmp (workers get a fresh /tmp of their own anyway),
    as a course copy under /srv or /home would be."""
    folder = Path("/var/tmp") / MARKER
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    yield folder
    shutil.rmtree(folder)


# -- 1. the file system is an allow-list --------------------------------------------------


def test_a_course_copy_elsewhere_on_the_machine_is_out_of_sight(grade_file, outside_tmp):
    copy = outside_tmp / "course" / "solutions"
    copy.mkdir(parents=True)
    (copy / "exercise3.py").write_text(SOLUTION)
    os.chmod(copy / "exercise3.py", 0o644)
    path = write(outside_tmp / "student", "steal.py", f"exec(open({str(copy / 'exercise3.py')!r}).read())",
                 body="")
    report = grade_file(path)
    require(report, "allow-list file system")
    assert report.score == 0
    assert "FileNotFoundError" in report.problem


def test_a_classmates_file_is_out_of_sight_in_a_single_grade(outside_tmp):
    write(outside_tmp / "class" / "bob", "exercise3.py", "")
    alice = write(outside_tmp / "class" / "alice", "exercise3.py",
                  f"exec(open({str(outside_tmp / 'class' / 'bob' / 'exercise3.py')!r}).read())", body="")
    report = grade(alice, EXERCISE, limits=TEST_LIMITS)  # as `grade exercise3 class/alice/...`
    require(report, "allow-list file system")
    assert report.score == 0
    assert "FileNotFoundError" in report.problem


def test_the_root_holds_only_what_is_allowed(grade_file, tmp_path):
    path = write(tmp_path, "look.py", f"""
        import os
        seen = []
        for secret in ("/etc/passwd", "/home", "/srv", "/var", "/sys", "/run", "/mnt"):
            if os.path.exists(secret):
                seen.append(secret)
        # Of the checkout, only the grader's package (and a virtual environment in it).
        seen += sorted(set(os.listdir({str(ROOT)!r})) - {{"grader", ".venv"}})
        assert not seen, f"sees {{seen}}"
        assert os.listdir("/tmp") == [] or os.getcwd() == "/tmp", "a /tmp shared with others"
    """)
    report = grade_file(path)
    require(report, "allow-list file system")
    assert report.score == 20, report.problem


def test_proc_shows_no_other_process(grade_file, tmp_path):
    sleeper = subprocess.Popen(["sleep", f"30.{os.getpid()}"])  # a command line to look for
    try:
        path = write(tmp_path, "ps.py", f"""
            import os
            lines = []
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    with open(f"/proc/{{pid}}/cmdline", "rb") as handle:
                        lines.append(handle.read())
                except OSError:
                    pass
            assert not any(b"30.{os.getpid()}" in line for line in lines), "saw another process"
            assert len(lines) <= 3, f"{{len(lines)}} processes visible"
        """)
        report = grade_file(path)
    finally:
        sleeper.kill()
        sleeper.wait()
    require(report, "own /proc")
    assert report.score == 20, report.problem


# -- 2. nothing shared between workers -----------------------------------------------------

# System V shared memory (key K) and the user keyring (description MARKER), through libc.
IPC_HELPERS = f"""
import ctypes, os
_libc = ctypes.CDLL(None, use_errno=True)
_libc.shmat.restype = ctypes.c_void_p
_libc.syscall.restype = ctypes.c_long
KEY = 0x5D21{os.getpid() % 0xFFFF:04X}

def shm_send(text, size=1 << 20):
    shm = _libc.shmget(KEY, size, 0o1666)  # IPC_CREAT | rw for all
    if shm < 0:
        return False
    address = _libc.shmat(shm, None, 0)
    ctypes.memmove(address, text, len(text))
    return True

def shm_receive():
    shm = _libc.shmget(KEY, 0, 0)
    if shm < 0:
        return b""
    return ctypes.string_at(_libc.shmat(shm, None, 0), 5)

def key_send(text):  # add_key("user", MARKER, text, @u)
    return _libc.syscall(248, b"user", b"{MARKER}", text, len(text), -4) > 0

def key_receive():  # request_key("user", MARKER, NULL, @u)
    return _libc.syscall(249, b"user", b"{MARKER}", None, -4) > 0
"""


SEND = "sent = [shm_send(b'hello'), key_send(b'hello')]"
RECEIVE = """
assert shm_receive() != b"hello", "a message in shared memory reached a classmate"
assert not key_receive(), "a message in the keyring reached a classmate"
"""


def _hold(launcher, path: Path) -> Sandbox:
    """The submission imported in a worker that stays alive (a classmate's, in parallel)."""
    sandbox = Sandbox(launcher, read_submission(path), Limits(load_s=60))
    sandbox.prepare()
    return sandbox


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="System V IPC and keyrings: Linux")
def test_shared_memory_and_keys_carry_nothing_to_a_classmate(tmp_path):
    launcher = start_launcher()
    try:
        sender = _hold(launcher, write(tmp_path, "alice.py", IPC_HELPERS + SEND))
        bob = write(tmp_path, "bob.py", IPC_HELPERS + RECEIVE)
        report = grade(bob, EXERCISE, limits=TEST_LIMITS, launcher=launcher)
        sender.close()
    finally:
        launcher.close()
    require(report, "own IPC", "seccomp")
    assert report.score == 20, report.problem
    listed = subprocess.run(["ipcs", "-m"], capture_output=True, text=True).stdout
    assert f"0x5d21{os.getpid() % 0xFFFF:04x}" not in listed.lower(), "the segment outlived the grading"


def test_a_fork_bomb_does_not_starve_a_classmate(tmp_path):
    launcher = start_launcher()
    try:
        bomber = _hold(launcher, write(tmp_path, "bomb.py", BOMB))
        classmate = write(tmp_path, "threads.py", """
            import subprocess, threading
            threading.Thread(target=lambda: None).start()
            subprocess.run(["true"], check=True)
        """)
        report = grade(classmate, EXERCISE, limits=TEST_LIMITS, launcher=launcher)
        bomber.close()
    finally:
        launcher.close()
    require(report, "worker processes")
    assert report.score == 20, report.problem


BOMB = """
import os, time
started = time.monotonic()
while time.monotonic() - started < 5:  # as many processes as it may start in 5 s
    try:
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
    except OSError:
        break
"""


# -- 3. the worker is bounded as a whole ----------------------------------------------------


@pytest.mark.parametrize("attack", [
    # Each attack defines the answers only if it got its memory. One shared mapping of
    # 1.5 GiB: shared memory is not data, so RLIMIT_DATA misses it.
    """
    import mmap
    block = mmap.mmap(-1, 3 << 29, mmap.MAP_SHARED)
    for offset in range(0, len(block), 4096):
        block[offset] = 1
    """,
    # Five children of 400 MiB each: every one within the per-process limit.
    """
    import os, time
    children = []
    for _ in range(5):
        pid = os.fork()
        if pid == 0:
            data = bytearray(400 << 20)
            data[::4096] = b"x" * len(range(0, 400 << 20, 4096))  # every page touched
            time.sleep(30)
            os._exit(0)
        children.append(pid)
    time.sleep(3)
    alive = sum(os.waitpid(pid, os.WNOHANG) == (0, 0) for pid in children)
    assert alive == 5  # two GiB held by five children: then the answers are defined
    """,
], ids=["shared-mapping", "five-children"])
def test_memory_is_bounded_for_the_worker_as_a_whole(grade_file, tmp_path, attack):
    path = write(tmp_path, "memory.py", attack)
    report = grade_file(path)
    require(report, "worker memory")
    assert report.score == 0, "the submission held more memory than a worker may"


# -- 5. workers' folders ---------------------------------------------------------------


def test_pre_created_worker_folders_block_no_later_worker(grade_file, tmp_path):
    path = write(tmp_path, "squat.py", """
        import os
        last = int(open("/proc/loadavg").read().split()[-1])
        for pid in range(max(1, last - 100), last + 2000):
            try:
                os.mkdir(f"/tmp/worker-{pid}", 0o700)
            except OSError:
                pass
    """, body="")
    grade_file(path)
    report = grade_file(ROOT / "solutions" / "exercise3.py")
    assert report.score == 20, report.problem
    assert all(check.fault != "grader" for check in report.checks)


# -- 6. text from workers is capped on the trusted side -------------------------------------


def test_a_huge_error_message_gives_a_small_report(grade_file, tmp_path):
    body = SOLUTION.replace("return X - X.mean()", "raise ValueError('x' * (4 << 20))")
    assert body != SOLUTION
    path = write(tmp_path, "shout.py", """
        import grader.sandbox.worker as worker
        worker._safe_str = str  # lifts the worker's own cap
        print("y" * (4 << 20))
    """, body=body)
    report = grade_file(path)
    size = len(json.dumps(report.to_dict()))
    assert size < 300_000, f"a {size}-character report"
    assert any("cut by the grader" in check.message for check in report.checks)
    assert report.score == 13  # CenteredLayer's 7 points lost, the others kept


# -- all of it in one batch, with classmates ----------------------------------------------


def test_a_batch_with_hostile_students_keeps_classmates_whole(tmp_path, outside_tmp):
    course = outside_tmp / "course" / "solutions"
    course.mkdir(parents=True)
    (course / "exercise3.py").write_text(SOLUTION)
    folder = tmp_path / "class"
    hostile = {
        "alice": f"exec(open({str(folder / 'bob' / 'exercise3.py')!r}).read())",
        "carol": f"exec(open({str(course / 'exercise3.py')!r}).read())",
    }
    for student, preamble in hostile.items():
        write(folder / student, "exercise3.py", preamble, body="")
    write(folder / "dave", "exercise3.py", IPC_HELPERS + SEND)
    write(folder / "frank", "exercise3.py", BOMB)
    write(folder / "heidi", "exercise3.py", "import grader.sandbox.worker as w\nw._safe_str = str",
          body=SOLUTION.replace("return X - X.mean()", "raise ValueError('x' * (4 << 20))"))
    classmates = {"bob": "", "erin": IPC_HELPERS + RECEIVE, "grace": """
        import subprocess, threading
        threading.Thread(target=lambda: None).start()
        subprocess.run(["true"], check=True)
    """}
    for student, preamble in classmates.items():
        write(folder / student, "exercise3.py", preamble)
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "grader", "batch", str(folder), "--out", str(out),
                             "-j", "2", "--timeout", "2"], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    reports = {s: json.loads((out / "reports" / s / "exercise3.json").read_text())
               for s in [*hostile, *classmates, "dave", "frank", "heidi"]}
    in_force = reports["bob"]["isolation"]["in_force"]
    if "allow-list file system" not in in_force:
        pytest.skip(f"no allow-list root here: {reports['bob']['isolation']['missing']}")
    for student in classmates:
        assert reports[student]["score"] == 20, (student, reports[student]["checks"])
    for student in hostile:
        assert reports[student]["score"] == 0, student
    assert (out / "reports" / "heidi" / "exercise3.json").stat().st_size < 300_000
