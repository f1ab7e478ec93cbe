"""--execute: a notebook run top to bottom with nbclient, inside a worker, as a check worth
no points that says which cell failed and why."""

from __future__ import annotations

import nbformat
import pytest

from grader.engine import grade
from grader.exercises import all_exercises
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
    assert "cell 3, line 1" in report.problem  # importing the code cells fails there too


def test_a_cell_that_never_ends_is_stopped(run, tmp_path):
    _, executed = run(notebook(tmp_path, "x = 1", "while True:\n    pass"), cell_s=2.0)
    assert executed.status == Status.ERROR
    assert "time limit" in executed.message or "ran longer than 2 s" in executed.message


def test_a_python_file_is_not_executed(run):
    _, executed = run(SUBMISSIONS / "exercise3" / "centered_sum.py")
    assert executed.status == Status.NOT_RUN and "notebook" in executed.message
