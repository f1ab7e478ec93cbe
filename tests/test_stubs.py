"""Which of exercise3.py and exercise3.ipynb is the student's (grader/grading/file_choice.py): the one that
is not the unchanged stub, whatever the file times say (a fresh clone gives both the same)."""

from __future__ import annotations

import json
import os
import shutil
import time

from grader.batch.discover import discover
from grader.grading.exercises import all_exercises
from grader.grading.file_choice import choose
from tests.conftest import ROOT, SUBMISSIONS

STUB_PY, STUB_NOTEBOOK = ROOT / "exercises" / "exercise3.py", ROOT / "exercises" / "exercise3.ipynb"


def same_time(*paths):
    stamp = time.time() - 3600
    for path in paths:
        os.utime(path, (stamp, stamp))


def test_the_changed_notebook_beside_the_stub_is_chosen_in_a_fresh_clone(tmp_path):
    py, notebook = tmp_path / "exercise3.py", tmp_path / "exercise3.ipynb"
    shutil.copy(STUB_PY, py)
    shutil.copy(SUBMISSIONS / "exercise3" / "solution_notebook.ipynb", notebook)
    same_time(py, notebook)
    chosen, others, why = choose([py, notebook], "exercise3")
    assert (chosen, others) == (notebook, [py]) and "unchanged stub" in why


def test_the_changed_py_beside_the_stub_notebook_is_chosen_even_if_older(tmp_path):
    py, notebook = tmp_path / "exercise3.py", tmp_path / "exercise3.ipynb"
    shutil.copy(SUBMISSIONS / "exercise3" / "centered_sum.py", py)
    shutil.copy(STUB_NOTEBOOK, notebook)
    same_time(py)
    assert choose([py, notebook], "exercise3")[0] == py


def test_without_a_stub_to_tell_them_apart_the_newer_wins_then_the_py(tmp_path):
    py, notebook = tmp_path / "exercise3.py", tmp_path / "exercise3.ipynb"
    py.write_text("x = 1\n")
    notebook.write_text(json.dumps({"cells": []}))
    same_time(py)
    assert choose([py, notebook], "exercise3")[:2] == (notebook, [py])
    same_time(py, notebook)
    chosen, _, why = choose([py, notebook], "exercise3")
    assert chosen == py and "same time" in why


def test_batch_grades_the_notebook_a_classroom_student_worked_in(tmp_path):
    repo = tmp_path / "dl-alice" / "exercises"
    repo.mkdir(parents=True)
    shutil.copy(STUB_PY, repo / "exercise3.py")
    shutil.copy(SUBMISSIONS / "exercise3" / "solution_notebook.ipynb", repo / "exercise3.ipynb")
    same_time(repo / "exercise3.py", repo / "exercise3.ipynb")
    found = discover(tmp_path, set(all_exercises()))
    assert [job.path.name for job in found.jobs] == ["exercise3.ipynb"]
    assert [s.path.name for s in found.skipped] == ["exercise3.py"]
