"""``%load_ext grader`` and ``%grade exerciseN`` in a real kernel (ipykernel through nbclient):
the cells the kernel ran, in the order it ran them, graded outside the kernel."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from grader.course.notebooks import py_to_notebook
from grader.grading.grade_magic import notebook_of
from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def solution_cells(exercise: str) -> list[str]:
    notebook = py_to_notebook((ROOT / "solutions" / f"{exercise}.py").read_text(encoding="utf-8"))
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def run_in_kernel(tmp_path, cells: list[str]) -> str:
    """Run ``cells`` in a fresh kernel; return the text the last cell printed."""
    notebook = new_notebook()
    notebook.cells = [new_code_cell(source) for source in cells]
    NotebookClient(notebook, timeout=600, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = notebook.cells[-1].outputs
    assert all(output.output_type == "stream" for output in outputs), outputs
    return "".join(output.text for output in outputs)


def test_grade_in_a_kernel_grades_the_cells_run_so_far(tmp_path):
    cells = solution_cells("exercise3")
    # An answer redefined wrongly and then fixed, and the extension loaded halfway: what the
    # kernel ran, in its order, is graded (the fix wins).
    wrong = "class CenteredLayer(nn.Module):\n    def forward(self, X):\n        return X - X.sum()"
    shown = run_in_kernel(tmp_path, [*cells[:2], "%load_ext grader", wrong, cells[1], *cells[2:],
                                     "%grade exercise3"])
    assert "Graded the 8 code cells this kernel ran" in shown
    assert "CenteredLayer" in shown and "FourierHalf" in shown and "keeps (n + 1) // 2 coefficients" in shown
    assert "Score: 20/20 (100%)" in shown


def test_grade_shows_failures_and_notes_by_input_number(tmp_path):
    cells = solution_cells("exercise3")
    buggy = cells[1].replace("return X - X.mean()", "return X - X.sum()")
    shown = run_in_kernel(
        tmp_path, [cells[0], buggy, *cells[2:], "1 / 0", "%load_ext grader", "%grade exercise3"]
    )
    assert "CenteredLayer: output has zero mean" in shown
    assert "cell 6, line 1: ZeroDivisionError: division by zero" in shown  # In [6]
    assert "Score: 17/20 (85%)" in shown


def test_the_session_notebook_keeps_input_numbers():
    notebook = nbformat.reads(notebook_of(["a = 1", "", "b = 2"]), as_version=4)
    assert [cell.source for cell in notebook.cells] == ["a = 1", "", "b = 2"]
