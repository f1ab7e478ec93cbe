"""Build the exercise notebooks from their percent-format sources.

``exercises/exerciseN.py`` is the source of truth. Cells start with a marker line:
``# %%`` opens a code cell (kept as is), ``# %% [markdown]`` opens a markdown cell whose
lines carry a ``# `` prefix (a bare ``#`` is a blank line). ``py_to_notebook`` turns that
text into an nbformat v4 notebook with cell ids taken from the cell index, so the same
source always gives the same bytes and ``--check`` can compare committed notebooks.

    python -m grader.course.notebooks exercises/exercise3.py           # writes exercise3.ipynb
    python -m grader.course.notebooks --check exercises/exercise3.py   # exit 1 if stale
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

_MARKER = re.compile(r"^# %%(?:[ \t]+(?P<rest>.*))?$")
_KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def _strip_comment(line: str) -> str:
    """One markdown line of the notebook from one ``# ``-prefixed source line."""
    if line.startswith("# "):
        return line[2:]
    if line.startswith("#"):
        return line[1:]
    return line


def _trim_trailing_blank(lines: list[str]) -> list[str]:
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    return lines[:end]


def py_to_notebook(text: str) -> NotebookNode:
    """Convert percent-format source to a notebook with ids ``cell-0``, ``cell-1``, …."""
    cells: list[tuple[str, list[str]]] = []
    kind, lines, opened = "code", [], False  # text before the first marker: a code cell
    for line in text.splitlines():
        marker = _MARKER.match(line)
        if marker is None:
            lines.append(line)
            continue
        if opened or any(prev.strip() for prev in lines):
            cells.append((kind, lines))
        kind = "markdown" if "[markdown]" in (marker["rest"] or "") else "code"
        lines, opened = [], True
    if opened or any(prev.strip() for prev in lines):
        cells.append((kind, lines))

    nb_cells = []
    for index, (kind, lines) in enumerate(cells):
        cell_id = f"cell-{index}"
        if kind == "markdown":
            source = "\n".join(_trim_trailing_blank([_strip_comment(line) for line in lines]))
            nb_cells.append(new_markdown_cell(source, id=cell_id))
        else:
            nb_cells.append(new_code_cell("\n".join(_trim_trailing_blank(lines)), id=cell_id))
    return new_notebook(
        cells=nb_cells,
        metadata={"kernelspec": dict(_KERNELSPEC), "language_info": {"name": "python"}},
    )


def notebook_text(text: str) -> str:
    """The ``.ipynb`` file text for percent-format source: ``nbformat.writes`` output,
    ending in one newline as ``nbformat.write`` saves it."""
    nb = py_to_notebook(text)
    nbformat.validate(nb)
    return nbformat.writes(nb).rstrip("\n") + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Write (or with ``--check`` verify) the ``.ipynb`` beside each given ``.py``."""
    parser = argparse.ArgumentParser(
        prog="python -m grader.course.notebooks",
        description="Build exerciseN.ipynb beside each percent-format exerciseN.py.",
    )
    parser.add_argument("sources", nargs="+", type=Path, help="percent-format .py files")
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if a notebook is missing or differs from its source",
    )
    args = parser.parse_args(argv)

    stale = False
    for source in args.sources:
        if source.suffix != ".py":
            parser.error(f"{source}: expected a .py file")
        target = source.with_suffix(".ipynb")
        wanted = notebook_text(source.read_text(encoding="utf-8"))
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if args.check:
            if current != wanted:
                reason = "missing" if current is None else "out of date"
                print(f"{target}: {reason}; run python -m grader.course.notebooks {source}")
                stale = True
        elif current != wanted:
            with open(target, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(wanted)
            print(f"wrote {target}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
