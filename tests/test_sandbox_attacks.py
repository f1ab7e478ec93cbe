"""A reviewer's attacks on the rebuilt sandbox (issue 11), beyond those the issue listed.

Each attack is a hostile submission, as in ``test_isolation_between_students``. Those that
got through before the fixes they name are kept so that they stay contained:

- a file left in the worker server's shared folder (``/.workers``, writable by every worker)
  reached the next student graded by the same server;
- an abstract unix socket, bound in the worker server's one network namespace, carried a
  message to a classmate's worker running beside it (the IPC namespace does not cover it);
- a worker moved its spinning processes off the core ``grade batch`` pins its slot to,
  onto the classmates' (``tests/data/attacks/spread_spinners.py``; a classmate graded beside
  it took 12× as long);
- a compromised worker's reply of 150,000 tensor views over 4 bytes cost the trusted side
  seconds and a gigabyte to decode, outside every time limit, for every example of every
  check: one submission held a grading slot for minutes.

Those that were contained already stay as tests too: crafted replies that break the
trusted side's reading of a failure (frames, line numbers, names of another form) cost only
the submission's own checks, never a grader error.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from grader.grading.engine import grade
from grader.grading.exercises import all_exercises
from grader.grading.sandbox_setup import start_launcher
from grader.grading.submission import read_submission
from grader.sandbox import wire
from grader.sandbox.client import Limits, Sandbox
from tests.conftest import ROOT, TEST_LIMITS, require

SOLUTION = (ROOT / "solutions" / "exercise3.py").read_text(encoding="utf-8")
EXERCISE = all_exercises()["exercise3"]
ATTACKS = ROOT / "tests" / "data" / "attacks"


def write(folder: Path, name: str, preamble: str, body: str = SOLUTION) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(preamble) + "\n" + body, encoding="utf-8")
    return path


# -- what one student leaves, or says, reaches no classmate ---------------------------------


def test_nothing_written_to_the_servers_folder_reaches_the_next_student(grade_file, tmp_path):
    # The session's one worker server grades both, one after the other, as a batch slot does.
    writer = write(tmp_path, "writer.py", """
        import os
        for folder in ("/.workers", "/tmp", os.getcwd()):
            try:
                with open(os.path.join(folder, "left-by-a-student"), "w") as handle:
                    handle.write("the answers are ...")
            except OSError:
                pass
    """, body="")
    grade_file(writer)
    reader = write(tmp_path, "reader.py", """
        import os
        for folder in ("/.workers", "/tmp", os.getcwd()):
            if os.path.isdir(folder):
                left = [name for name in os.listdir(folder) if name.startswith("left-by")]
                assert not left, f"an earlier student's file in {folder}"
    """)
    report = grade_file(reader)
    require(report, "allow-list file system")
    assert report.score == 20, report.problem


def test_the_servers_folder_is_out_of_reach_of_a_worker_with_its_own_tmp(grade_file, tmp_path):
    path = write(tmp_path, "look.py", """
        import os
        assert os.getcwd() == "/tmp"
        assert not os.path.isdir("/.workers") or os.listdir("/.workers") == [], os.listdir("/.workers")
    """)
    report = grade_file(path)
    require(report, "allow-list file system")
    assert report.score == 20, report.problem


ABSTRACT = "\\0d2l-attack-" + str(id(SOLUTION))


def test_an_abstract_unix_socket_carries_nothing_to_a_classmate(tmp_path):
    launcher = start_launcher()
    try:
        listener = write(tmp_path, "alice.py", f"""
            import socket, threading
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            server.bind("{ABSTRACT}")
            server.listen(5)
            def answer():
                while True:
                    client, _ = server.accept()
                    client.sendall(b"hello from alice")
                    client.close()
            threading.Thread(target=answer, daemon=True).start()
        """, body="")
        alice = Sandbox(launcher, read_submission(listener), Limits(load_s=60))
        alice.prepare()  # alive while bob is graded, as a classmate in parallel would be
        bob = write(tmp_path, "bob.py", f"""
            import socket
            client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                client.connect("{ABSTRACT}")
                heard = client.recv(100)
            except OSError:
                heard = b""
            assert not heard, f"a classmate's message over an abstract socket: {{heard!r}}"
        """)
        report = grade(bob, EXERCISE, limits=TEST_LIMITS, launcher=launcher)
        alice.close()
    finally:
        launcher.close()
    require(report, "own IPC")
    assert report.score == 20, report.problem


# -- a worker keeps to its share of the machine ----------------------------------------------


def test_a_worker_cannot_move_itself_onto_other_cores(grade_file, tmp_path):
    path = write(tmp_path, "affinity.py", """
        import os
        try:
            os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
        except OSError:
            moved = False
        else:
            moved = True
        assert not moved, "the worker changed its CPU affinity"
    """)
    report = grade_file(path)
    require(report, "seccomp")
    assert report.score == 20, report.problem


@pytest.mark.slow
def test_spinning_processes_spread_over_every_core_do_not_slow_a_classmates_slot(tmp_path):
    folder = tmp_path / "class"
    write(folder / "aaron", "exercise3.py", (ATTACKS / "spread_spinners.py").read_text(), body="")
    for student in ("bob", "carol", "dave"):
        write(folder / student, "exercise3.py", "")
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "grader", "batch", str(folder), "--out", str(out),
                             "-j", "2"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    reports = {s: json.loads((out / "reports" / s / "exercise3.json").read_text())
               for s in ("aaron", "bob", "carol", "dave")}
    if "seccomp" not in reports["bob"]["isolation"]["in_force"]:
        pytest.skip(f"no seccomp here: {reports['bob']['isolation']['missing']}")
    for student in ("bob", "carol", "dave"):
        assert reports[student]["score"] == 20, (student, reports[student]["checks"])
    # How much slower the classmates were (12 times before seccomp denied sched_setaffinity)
    # is a timing, not a verdict: the denial itself is tested above.


# -- a compromised worker's replies ---------------------------------------------------------


MANY_TENSORS = """
import struct
from grader.sandbox import wire
spec = b'{"d":"float32","z":[1],"r":[1],"o":0,"s":0}'
head = (b'{"v":{"d":[["status","ok"],["value",{"l":[{"t":0}]}]]},"t":['
        + b",".join([spec] * 150_000) + b'],"s":[4]}')
CRAFTED = struct.pack("<I", len(head)) + head + bytes(4)
real_dumps = wire.dumps
wire.dumps = lambda value: (CRAFTED if isinstance(value, dict) and value.get("status") == "ok"
                            else real_dumps(value))
"""


def _replying(reply: str) -> str:
    return f"""
        from grader.sandbox import worker
        def call(request, state):
            return {reply}
        worker._HANDLERS["call"] = call
    """


@pytest.mark.parametrize("attack", [
    pytest.param(MANY_TENSORS, marks=pytest.mark.slow),  # the worker builds its 7 MB reply itself
    _replying('{"status": "raised", "type": "E", "message": "m", "frames": 5}'),
    _replying('{"status": "raised", "type": "E", "message": "m", "frames": [["NaN", {}, None]]}'),
    _replying('{"status": "syntax", "lineno": "abc", "text": 5}'),
    _replying('{"status": "missing", "name": ["x"] * 100000}'),
    _replying('{"status": "raised", "type": "E", "message": "z" * (30 << 20), "frames": []}'),
    _replying('{"status": "ok", "value": {"outputs": [[[[]]]] * 1000}}'),
], ids=["many-tensors", "frames-not-a-list", "frames-of-garbage", "syntax-of-garbage", "missing-a-list",
        "30-MiB-message", "nested-garbage"])
def test_a_crafted_reply_costs_only_the_submissions_own_checks(grade_file, tmp_path, attack):
    path = write(tmp_path, "crafted.py", attack)
    report = grade_file(path)
    assert report.score == 0
    assert report.checks and not [check for check in report.checks if check.fault == "grader"], \
        [(check.name, check.message[:200]) for check in report.checks if check.fault == "grader"]
    assert all(check.status in ("failed", "error") for check in report.checks)
    assert len(json.dumps(report.to_dict())) < 300_000
    if attack is MANY_TENSORS:
        assert all("not a result" in check.message for check in report.checks if not check.hidden)


def test_a_message_of_more_tensors_than_a_worker_sends_is_refused():
    spec = {"d": "float32", "z": [1], "r": [1], "o": 0, "s": 0}
    head = json.dumps({"v": {"t": 0}, "t": [spec] * (wire.MAX_ITEMS + 1), "s": [4]}).encode()
    with pytest.raises(wire.DecodeError, match="tensors"):
        wire.loads(struct.pack("<I", len(head)) + head + bytes(4))


def test_a_message_of_more_values_than_a_worker_sends_is_refused():
    value = wire.dumps([0] * (wire.MAX_NODES + 1))
    with pytest.raises(wire.DecodeError, match="values"):
        wire.loads(value)
    assert wire.loads(wire.dumps([0] * 1000)) == [0] * 1000


def test_a_reply_header_beyond_the_cap_is_refused_before_it_is_parsed():
    head = b'{"v":{"l":[' + b",".join([b'{"d":[]}'] * (wire.MAX_REPLY_HEADER // 8 + 1)) + b']},"t":[],"s":[]}'
    with pytest.raises(wire.DecodeError, match="header"):
        wire.loads(struct.pack("<I", len(head)) + head, max_header=wire.MAX_REPLY_HEADER)


def test_a_container_too_large_to_send_crosses_whole_as_one_stand_in():
    sent = wire.plain({"few": [1.0] * 10, "many": [1.0] * (wire.MAX_ITEMS + 1)})
    assert sent["few"] == [1.0] * 10 and wire.is_opaque(sent["many"])
    wire.loads(wire.dumps({"status": "ok", "value": sent}), max_header=wire.MAX_REPLY_HEADER)
