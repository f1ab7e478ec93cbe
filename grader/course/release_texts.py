"""The files a student release writes rather than copies: README, Makefile, packaging."""

from __future__ import annotations

from collections.abc import Mapping

from grader.course.check_inventory import declared_checks
from grader.grading.exercises import Exercise
from grader.report import HiddenChecks


def readme(exercises: Mapping[str, Exercise], withheld: Mapping[str, HiddenChecks]) -> str:
    """A short README for students: set up, grade, and what the hidden checks are."""
    rows = [_row(exercise, withheld[name]) for name, exercise in exercises.items()]
    return README.format(table="\n".join(rows), first=next(iter(exercises), "exercise1"))


def _row(exercise: Exercise, hidden: HiddenChecks) -> str:
    public = declared_checks(exercise.judges)
    points = sum(check.points for check in public)
    cells = [f"`{exercise.name}`", exercise.title, len(public), f"{points:g}", hidden.count,
             f"{hidden.points:g}"]
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


README = """\
# Exercises: Deep Learning Computation

The exercises of the "Deep Learning Computation" chapter of
[Dive into Deep Learning](https://d2l.ai) (PyTorch), with the grader that checks them.
Each exercise is a Python file and the same as a notebook in `exercises/`: fill in every
place that raises `NotImplementedError`.

## Set up

With Python 3.11 and `make`:

```
make setup
```

creates `.venv` with the grader and its pinned dependencies (`constraints.txt`). Without
`make`: `python3 -m venv .venv && .venv/bin/python -m pip install -c constraints.txt -e .`
(on a machine without a GPU, add
`--extra-index-url https://download.pytorch.org/whl/cpu` for the smaller CPU build of torch).

## Grade your work

```
.venv/bin/grade list                         # the exercises
.venv/bin/grade {first}                    # grades exercises/{first}.py, or .ipynb
.venv/bin/grade {first} my_attempt.ipynb   # any .py or .ipynb file
make grade EX={first}                      # the same, through make
```

The terminal shows each check (the API name and the property it tests), every failure with
the input that broke it, and your score; the JSON report goes to `reports/`.

In a notebook (Jupyter, with the kernel running in `.venv`), run `%load_ext grader` once,
then `%grade {first}` in a cell: it grades the cells you have run so far, in the order you
ran them, and shows the same report below the cell. A notebook is graded as Jupyter runs
it: a cell that raises, a magic or shell command, or a missing package such as `d2l` is
noted under the table and costs no points by itself.

## Hidden checks

Some checks are kept back: they are not in this copy of the grader and run only when your
work is submitted. The terminal and the JSON report (`hidden_checks`) say how many there are
and how many points they are worth; the exercise's instructions say everything your code
must do, hidden checks included. A full score here is the public checks' score.

| exercise | topic | checks here | their points | hidden checks | their points |
|---|---|--:|--:|--:|--:|
{table}
"""


def makefile() -> str:
    return MAKEFILE


MAKEFILE = """\
# `make setup` creates the environment; `make grade EX=exercise3 [FILE=path]` grades.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
EX ?= exercise1
FILE ?=
PIP_ARGS ?=

.PHONY: setup grade clean

$(BIN)/grade: pyproject.toml constraints.txt
\t$(PYTHON) -m venv $(VENV)
\t$(BIN)/python -m pip install --quiet $(PIP_ARGS) -c constraints.txt -e .
\ttouch $@

setup: $(BIN)/grade

grade: $(BIN)/grade
\t$(BIN)/grade $(EX) $(FILE)

clean:
\trm -rf $(VENV) reports
"""


def manifest_in() -> str:
    # The hidden-check manifests are package data: a non-editable install must carry them.
    return "recursive-include grader/checks *.json *.ini\n"


def gitignore() -> str:
    return ".venv/\n__pycache__/\n*.egg-info/\n/reports/\n"
