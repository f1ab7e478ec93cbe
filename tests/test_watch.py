"""``grade watch``: grading again after each save, with what changed."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading

import pytest

from grader.grading import watch
from tests.conftest import ROOT, SUBMISSIONS

WRONG = SUBMISSIONS / "exercise3" / "centered_sum.py"  # CenteredLayer subtracts the sum
RIGHT = ROOT / "solutions" / "exercise3.py"


def test_changes_name_each_check_that_changed_and_the_score(grade_file):
    before, after = grade_file(WRONG), grade_file(RIGHT)
    lines = watch.changes(before, after)
    assert "CenteredLayer: output has zero mean ✗ → ✓" in lines
    assert lines[-1] == f"score {before.score:g}/20 → 20/20"
    assert watch.changes(None, after) == []
    assert watch.changes(after, after) == []


class _Stop(Exception):
    pass


def _sleeper(limit: int, on_call=None):
    calls = []

    def sleep(_seconds: float) -> None:
        calls.append(_seconds)
        if on_call is not None:
            on_call(len(calls))
        if len(calls) > limit:
            raise _Stop

    return sleep


def test_a_save_with_new_bytes_ends_the_wait(tmp_path):
    path = tmp_path / "exercise3.py"
    path.write_text("x = 1\n")
    graded = watch.file_sha256(path)

    def save(call: int) -> None:
        if call == 2:
            path.write_text("x = 2  # a real edit\n")

    watch.wait_for_save(path, graded, sleep=_sleeper(50, save))  # returns: no _Stop


def test_a_touch_or_the_same_bytes_grade_nothing(tmp_path):
    path = tmp_path / "exercise3.py"
    path.write_text("x = 1\n")
    graded = watch.file_sha256(path)

    def touch(call: int) -> None:
        if call in (2, 5):
            path.write_text("x = 1\n")
            os.utime(path, ns=(call * 10**9, call * 10**9))

    with pytest.raises(_Stop):
        watch.wait_for_save(path, graded, sleep=_sleeper(30, touch))


def test_a_save_while_grading_is_graded_next(tmp_path):
    path = tmp_path / "exercise3.py"
    path.write_text("x = 2\n")  # saved after the bytes below were graded
    watch.wait_for_save(path, "sha256 of what was graded before", sleep=_sleeper(50))


def _lines(stream, found: list[str], event: threading.Event) -> None:
    for line in stream:
        found.append(line)
        event.set()


@pytest.mark.slow
def test_grade_watch_regrades_on_save_and_stops_on_ctrl_c(tmp_path):
    path = tmp_path / "exercise3.py"
    shutil.copyfile(WRONG, path)
    report = tmp_path / "report.json"
    process = subprocess.Popen([sys.executable, "-m", "grader", "watch", "exercise3", str(path),
                                "--report", str(report)], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, encoding="utf-8")
    out: list[str] = []
    err: list[str] = []
    arrived = threading.Event()
    readers = [threading.Thread(target=_lines, args=(stream, lines, arrived), daemon=True)
               for stream, lines in ((process.stdout, out), (process.stderr, err))]
    for reader in readers:
        reader.start()
    try:
        _wait_for(lambda: sum("Watching" in line for line in err) == 1, arrived)
        assert json.loads(report.read_text())["score"] == 17
        shutil.copyfile(RIGHT, path)  # the student saves a fix
        _wait_for(lambda: sum("Watching" in line for line in err) == 2, arrived)
        assert json.loads(report.read_text())["score"] == 20
        process.send_signal(signal.SIGINT)
        process.wait(timeout=120)
        for reader in readers:
            reader.join(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0
    assert "Stopped watching." in "".join(err)
    printed = "".join(out)
    assert "CenteredLayer: output has zero mean ✗ → ✓" in printed and "score 17/20 → 20/20" in printed


def _wait_for(condition, arrived: threading.Event, timeout_s: float = 240.0) -> None:
    """Until ``condition()`` holds; the generous bound only keeps a broken run from hanging."""
    import time

    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "grade watch printed nothing in time"
        arrived.wait(1.0)
        arrived.clear()
