"""Reading submissions: a notebook's cells are translated to Python and located in its source."""

from __future__ import annotations

from pathlib import Path

import nbformat

from grader.grading.submission import Submission, functions_only, read_submission


def test_ipython_syntax_becomes_python_keeping_lines(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("%matplotlib inline\n!nvidia-smi\nfiles = !ls\nx = 1 % 2\ntorch?")
    ]
    path = tmp_path / "n.ipynb"
    path.write_text(nbformat.writes(notebook), encoding="utf-8")
    submission = read_submission(path)
    lines = submission.source.splitlines()
    assert lines[:5] == [
        "get_ipython().run_line_magic('matplotlib', 'inline')",
        "get_ipython().system('nvidia-smi')",
        "files = get_ipython().getoutput('ls')",
        "x = 1 % 2",
        "get_ipython().run_line_magic('pinfo', 'torch')",
    ]
    assert submission.cells == ((1, 1, 5),)


def test_notebook_lines_map_back_to_cells(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# title"),
        nbformat.v4.new_code_cell("a = 1\nb = 2"),
        nbformat.v4.new_code_cell("%%bash\nls\n"),
        nbformat.v4.new_code_cell("c = 3"),
    ]
    path = tmp_path / "n.ipynb"
    path.write_text(nbformat.writes(notebook), encoding="utf-8")
    submission = read_submission(path)
    assert submission.load_error is None
    compile(submission.source, "n.ipynb", "exec")
    line = submission.source.splitlines().index("c = 3") + 1
    assert submission.where(line) == "cell 4, line 1"


def test_broken_notebook_json_is_reported_with_its_position(tmp_path):
    path = tmp_path / "broken.ipynb"
    path.write_text('{"cells": [', encoding="utf-8")
    submission = read_submission(path)
    assert "JSON is broken at line 1" in (submission.load_error or "")


def test_a_file_too_large_to_be_an_answer_is_refused_unread(tmp_path):
    from grader.grading.submission import MAX_SUBMISSION_MB, read_submission

    huge = tmp_path / "exercise3.py"
    huge.write_bytes(b"x = 1\n" * (MAX_SUBMISSION_MB * 2**20 // 6 + 10))
    submission = read_submission(huge)
    assert f"a submission may be at most {MAX_SUBMISSION_MB} MiB" in submission.load_error
    assert len(submission.sha256) == 64


FUNCTIONS_AND_MORE = '''"""A module docstring."""
import torch
from torch import nn
DEVICE = "cpu"
SIZES: tuple = (1, 2)
print("top-level code runs")
net = nn.Linear(2, 2)


class Model(nn.Module):
    pass


@torch.no_grad()
def load_model(path):
    return helper(path)


def helper(path):
    return Model()
x = 1; y = Model()
'''


def test_functions_only_keeps_imports_functions_and_constants_on_their_lines():
    submission = Submission(Path("exercise5.py"), "py", "0" * 64, source=FUNCTIONS_AND_MORE)
    stripped = functions_only(submission)
    kept = [line for line in stripped.source.splitlines() if line.strip()]
    assert kept == [
        "import torch",
        "from torch import nn",
        'DEVICE = "cpu"',
        "SIZES: tuple = (1, 2)",
        "@torch.no_grad()",
        "def load_model(path):",
        "    return helper(path)",
        "def helper(path):",
        "    return Model()",
    ]
    assert len(stripped.source.splitlines()) == len(FUNCTIONS_AND_MORE.splitlines())
    original = FUNCTIONS_AND_MORE.splitlines()
    for number, line in enumerate(stripped.source.splitlines()):
        assert line in ("", original[number])  # every kept line stays where it was


def test_functions_only_leaves_a_source_that_does_not_parse_as_it_is():
    submission = Submission(Path("exercise5.py"), "py", "0" * 64, source="def f(:\n")
    assert functions_only(submission) == submission
