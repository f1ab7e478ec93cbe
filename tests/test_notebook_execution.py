"""--execute: a notebook run top to bottom with nbclient, inside a worker, as a check worth
no points that says which cell failed and why."""

from __future__ import annotations

import os
import signal
import time

import nbformat
import pytest

from grader.grading.engine import grade
from grader.grading.exercises import all_exercises
from grader.report import Status
from tests.conftest import ROOT, SUBMISSIONS, TEST_LIMITS

EXERCISE = all_exercises()["exercise3"]


@pytest.fixture
def run(launcher):
    def grade_executed(path, cell_s=20.0):
        report = grade(path, EXERCISE, limits=TEST_LIMITS, launcher=launcher, execute=True, cell_s=cell_s)
        return report, report.checks[0]

    return grade_executed


def notebook(tmp_path, *cells: str):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# attempt")] + [nbformat.v4.new_code_cell(c) for c in cells]
    path = tmp_path / "attempt.ipynb"
    path.write_text(nbformat.writes(nb), encoding="utf-8")
    return path


def test_a_notebook_that_runs_passes_and_keeps_its_score(run):
    report, executed = run(SUBMISSIONS / "exercise3" / "solution_notebook.ipynb")
    assert executed.name == "notebook: runs top to bottom" and executed.max_score == 0
    assert executed.status == Status.PASSED
    assert report.score == report.max_score == 20


def test_a_failing_cell_is_named_with_its_error(run, tmp_path):
    solution = (ROOT / "solutions" / "exercise3.py").read_text(encoding="utf-8")
    report, executed = run(notebook(tmp_path, solution, "print(undefined_name)"))
    assert executed.status == Status.FAILED
    assert executed.message == "cell 3: NameError: name 'undefined_name' is not defined"
    # Grading runs the cells one by one too: the same cell is noted, and the answers still count.
    assert [note.text for note in report.notes] == [
        "cell 3, line 1: NameError: name 'undefined_name' is not defined"
    ]
    assert not report.problem and report.score == 20


# Cells that nbclient's own timeout never stopped: SIGINT is deferred, caught or ignored.
# (The swallower's try holds the for loop's back edge, where CPython delivers the signal.)
ENDLESS = {
    "busy": "while True:\n    pass",
    "swallows KeyboardInterrupt": "while True:\n    try:\n        for _ in range(10**6):\n            pass\n"
    "    except KeyboardInterrupt:\n        print('not stopping')",
    "ignores SIGINT": "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass",
}


@pytest.mark.parametrize("endless", ENDLESS.values(), ids=ENDLESS.keys())
def test_a_cell_that_never_ends_is_stopped_at_its_own_limit(run, tmp_path, endless):
    # Eight quick cells after it put the whole-run safety net (2 s per code cell + 20 s) far
    # off, so only the per-cell limit can end the run this soon.
    path = notebook(tmp_path, "x = 1", endless, *(f"v{i} = {i}" for i in range(8)))
    _, executed = run(path, cell_s=2.0)
    assert executed.status == Status.ERROR
    assert executed.message == "cell 3: the cell ran longer than 2 s"
    assert executed.duration_s < 2.0 + 12  # worker and kernel start (slow on a busy machine), the kill


def test_a_timed_out_cell_ends_the_run_and_its_kernel(tmp_path, monkeypatch):
    # Worker-side, unconfined (this test's own cells): the cells after it never run and
    # no kernel is left spinning.
    from grader.sandbox import notebook_run

    monkeypatch.chdir(tmp_path)  # the kernel's ipc sockets go here
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(c)
        for c in (
            "import os\nopen('kernel.pid', 'w').write(str(os.getpid()))",
            ENDLESS["swallows KeyboardInterrupt"],
            "open('later.txt', 'w').write('ran')",
        )
    ]

    def hung(signum: int, frame: object) -> None:  # fail rather than hang the test run
        pytest.fail("execute() did not return within 30 s")  # a BaseException: not swallowed

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(30)
    started = time.monotonic()
    try:
        outcome = notebook_run.execute(nbformat.writes(nb), 2.5)  # not a whole number: nbclient's was
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    elapsed = time.monotonic() - started
    assert outcome == {"ok": False, "cell": 2, "kind": "timeout", "error": "the cell ran longer than 2.5 s"}
    assert elapsed < 2.5 + 10
    assert not (tmp_path / "later.txt").exists()
    with pytest.raises(ProcessLookupError):
        os.kill(int((tmp_path / "kernel.pid").read_text()), 0)


def test_a_kernel_that_dies_is_reported(run, tmp_path):
    _, executed = run(notebook(tmp_path, "x = 1", "import os\nos._exit(3)", "y = 2"), cell_s=5.0)
    assert executed.status == Status.ERROR
    assert executed.message == "cell 3: Kernel died"
    assert executed.duration_s < 5.0 * 2 + 10  # seen by nbclient's poll, not the safety net


def test_a_python_file_is_not_executed(run):
    _, executed = run(SUBMISSIONS / "exercise3" / "centered_sum.py")
    assert executed.status == Status.NOT_RUN and "notebook" in executed.message
