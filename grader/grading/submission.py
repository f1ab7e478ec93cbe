"""Reading a submission file into module source, without running any of it.

A ``.py`` file is taken as is: a module. A notebook's code cells are translated from
IPython's syntax to Python (``ipython_syntax``) and joined, each line remembering its cell
(so that errors point at "cell 4, line 2"), and ``cells`` says where each cell lies: the
worker runs them one by one, as Jupyter does.
"""

from __future__ import annotations

import ast
import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path


@dataclass(frozen=True)
class Submission:
    """A submission as the grader sees it: its source, or why it has none."""

    path: Path
    kind: str  # "py" or "ipynb"
    sha256: str
    source: str = ""
    load_error: str | None = None  # set when the file could not be read as a submission
    # For notebooks: module line number (1-based) -> (cell number, line within cell).
    cell_lines: dict[int, tuple[int, int]] = field(default_factory=dict, repr=False)
    # For notebooks: (cell number, first line, last line) of each non-empty code cell in source.
    cells: tuple[tuple[int, int, int], ...] = ()

    @property
    def filename(self) -> str:
        return self.path.name

    def where(self, lineno: int) -> str:
        """'line 12' for a .py file, 'cell 3, line 2' for a notebook."""
        if self.kind == "ipynb" and lineno in self.cell_lines:
            cell, line = self.cell_lines[lineno]
            return f"cell {cell}, line {line}"
        return f"line {lineno}"


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes, read in blocks: the file may be large."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


MAX_SUBMISSION_MB = 8  # far above any answer to these exercises, far below what could hurt


def read_submission(path: Path) -> Submission:
    kind = "ipynb" if path.suffix == ".ipynb" else "py"
    size = path.stat().st_size
    if size > MAX_SUBMISSION_MB * 2**20:
        return Submission(path, kind, file_sha256(path), load_error=(
            f"{path.name} is {size / 2**20:.0f} MiB; a submission may be at most {MAX_SUBMISSION_MB} MiB"))
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if kind == "py":
        try:
            return Submission(path, kind, digest, source=data.decode("utf-8"))
        except UnicodeDecodeError as exc:
            return Submission(path, kind, digest, load_error=f"{path.name} is not UTF-8 text ({exc})")
    return _read_notebook(path, data, digest)


def _read_notebook(path: Path, data: bytes, digest: str) -> Submission:
    import nbformat

    def unreadable(why: str) -> Submission:
        return Submission(path, "ipynb", digest, load_error=f"{path.name} is not a valid notebook: {why}")

    try:
        text = data.decode("utf-8")
        json.loads(text)  # for a precise message: nbformat's names no line
    except UnicodeDecodeError as exc:
        return unreadable(f"it is not UTF-8 text ({exc})")
    except json.JSONDecodeError as exc:
        return unreadable(f"its JSON is broken at line {exc.lineno}, column {exc.colno} ({exc.msg}); "
                          "was it saved completely?")
    try:
        notebook = nbformat.reads(text, as_version=4)
    except Exception as exc:  # noqa: BLE001 - nbformat raises several unrelated types
        return unreadable(f"{type(exc).__name__}: {str(exc)[:300]}")
    from grader.grading.ipython_syntax import translate_cell

    lines: list[str] = []
    cell_lines: dict[int, tuple[int, int]] = {}
    spans: list[tuple[int, int, int]] = []
    for number, cell in enumerate(notebook.get("cells", []), start=1):
        if cell.get("cell_type") != "code":
            continue
        first = len(lines) + 1
        text = str(cell.get("source", "")).replace("\r\n", "\n").replace("\r", "\n")
        for offset, line in enumerate(translate_cell(text).split("\n"), start=1):
            lines.append(line)
            cell_lines[len(lines)] = (number, offset)
        spans.append((number, first, len(lines)))
        lines.append("")
    return Submission(path, "ipynb", digest, source="\n".join(lines) + "\n", cell_lines=cell_lines,
                      cells=tuple(spans))


def functions_only(submission: Submission) -> Submission:
    """The submission with only its imports, function definitions and literal constants
    (``X = 3``, ``NAMES = ("a", "b")``): no classes, no other statement.

    For checks that a file the submission wrote carries what its classes would supply (a
    model's architecture): the submission's functions run as written, in a module where its
    classes do not exist. Dropped lines become blank lines, so that line numbers in errors
    stay the student's. A source that does not parse is returned as it is: loading it
    reports the syntax error.
    """
    try:
        tree = ast.parse(submission.source)
    except (SyntaxError, ValueError):
        return submission
    lines = submission.source.splitlines(True)
    keep = [False] * (len(lines) + 1)  # by 1-based line number
    drop = [False] * (len(lines) + 1)
    for node in tree.body:
        first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        mask = keep if _kept(node) else drop
        for line in range(first, (node.end_lineno or node.lineno) + 1):
            mask[line] = True
    # A line shared with a dropped statement (``x = 1; class A: ...``) is dropped too.
    kept = [line if keep[i] and not drop[i] else "\n" for i, line in enumerate(lines, start=1)]
    return replace(submission, source="".join(kept))


def _kept(node: ast.stmt) -> bool:
    if isinstance(node, ast.Import | ast.ImportFrom | ast.FunctionDef | ast.AsyncFunctionDef):
        return True
    names = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []  # noqa: E501
    value = getattr(node, "value", None)
    if not names or value is None or not all(isinstance(name, ast.Name) for name in names):
        return False
    try:
        ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True
