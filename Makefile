# Two commands for a newcomer: `make grade` and `make test`. Each creates the virtual
# environment (.venv, pinned by constraints.txt) when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
EX ?= exercise3
FILE ?=
PIP_ARGS ?=

.PHONY: grade test lint bench bench-watch bench-batch notebooks clean

$(BIN)/grade: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(PIP_ARGS) -c constraints.txt -e '.[dev]'
	touch $@

grade: $(BIN)/grade
	$(BIN)/grade $(EX) $(FILE)

test: $(BIN)/grade
	$(BIN)/python -m pytest

lint: $(BIN)/grade
	$(BIN)/ruff check .

# The benchmarks time the grader as installed, with its bytecode compiled: an editable
# install where PYTHONDONTWRITEBYTECODE is set would compile its modules on every run.
COMPILE := $(BIN)/python -m compileall -q grader

bench: $(BIN)/grade
	$(COMPILE)
	$(BIN)/python benchmarks/startup.py

bench-watch: $(BIN)/grade
	$(COMPILE)
	$(BIN)/python benchmarks/watch.py

bench-batch: $(BIN)/grade
	$(COMPILE)
	$(BIN)/python benchmarks/batch.py --scaling 50,200,800

notebooks: $(BIN)/grade
	$(BIN)/python -m grader.course.notebooks exercises/*.py

clean:
	rm -rf $(VENV) reports
