"""``%grade exerciseN``: grading from inside Jupyter or Colab, never in the student's kernel.

    %load_ext grader
    %grade exercise3                 # any option of ``grade exercise3`` may follow

gathers the code cells this kernel has run so far (IPython's raw input history, in execution
order: no need to save the notebook), writes them to a temporary notebook in which cell N is
``In [N]``, and grades it with the ``grade`` command in a subprocess, through the same
pipeline and confined workers as ever. The cell's output is what ``grade`` prints: the
table, the failures, the notes and the score.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

GRADE_TIMEOUT_S = 900  # far beyond a grading's own limits: only a wedged grader meets it


def register(ipython: Any) -> None:
    """Called by ``grader.load_ipython_extension``: adds the ``%grade`` line magic."""
    ipython.register_magic_function(lambda line: grade_magic(ipython, line), "line", "grade")


def grade_magic(ipython: Any, line: str) -> None:
    args = shlex.split(line)
    if not args or args[0].startswith("-"):
        print("usage: %grade exerciseN [options of `grade exerciseN`], e.g. %grade exercise3")
        return
    cells = session_cells(ipython)
    with tempfile.TemporaryDirectory(prefix="d2l-grade-") as folder:
        path = Path(folder) / f"{args[0]}.ipynb"
        path.write_text(notebook_of(cells), encoding="utf-8")
        command = [sys.executable, "-m", "grader.cli", args[0], str(path), "--report",
                   str(Path(folder) / "report.json"), *args[1:]]
        try:
            done = subprocess.run(
                command,
                cwd=folder,
                capture_output=True,
                text=True,
                timeout=GRADE_TIMEOUT_S,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            print(f"grading took longer than {GRADE_TIMEOUT_S} s and was stopped")
            return
    print(
        f"Graded the {sum(1 for c in cells if c.strip())} code cells this kernel ran, in the order it "
        "ran them (cell N below is In [N])."
    )
    print(done.stdout.rstrip())
    if done.returncode not in (0, 1):
        print(done.stderr.strip()[-3000:])


def session_cells(ipython: Any) -> list[str]:
    """``In[1]``, ``In[2]``, … as typed, the running cell (the one calling ``%grade``) left empty."""
    raw = list(ipython.history_manager.input_hist_raw)
    cells = [str(cell) for cell in raw[1:]]
    if cells:
        cells[-1] = ""  # the cell running now: it asked for the grade
    return cells


def notebook_of(cells: list[str]) -> str:
    """A notebook whose code cell N holds ``cells[N - 1]`` (empty cells keep the numbering)."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    notebook = new_notebook()
    notebook.cells = [new_code_cell(source) for source in cells]
    for number, cell in enumerate(notebook.cells, start=1):
        cell.id = f"in-{number}"
    return nbformat.writes(notebook)
