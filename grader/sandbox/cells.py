"""Worker side: a notebook run cell by cell in one namespace, as Jupyter runs it.

    cells (already plain Python: the trusted side translated IPython syntax)
      -> for each cell: compile (a SyntaxError fails that cell only), exec under a time limit
      -> a cell that raises is noted (cell, line, exception) and the next cell runs
      -> what the namespace holds at the end is what the checks see

Each cell is compiled at its own lines of the joined source, under the submission's file
name, so tracebacks and the trusted side's "cell N, line M" agree with a ``.py`` import.

A top-level import of a package the grading environment lacks (``from d2l import torch as
d2l``) does not end its cell: the names it would bind become placeholders that raise a
clear ``ModuleNotFoundError`` when used, and the cell goes on with its next statement. So
the book's header leaves ``torch``, ``nn`` and ``F`` defined, and a later use of ``d2l``
fails only the cell that uses it, saying why. Placeholders are bound only where the
import failed (``try: import pandas / except ImportError`` still sees the ImportError)
and never over a name already bound.
"""

from __future__ import annotations

import ast
import contextlib
import errno
import signal
import socket
from collections.abc import Iterator
from typing import Any

from grader.sandbox import fake_ipython

NO_NETWORK = "no network while grading (downloads are not possible here)"


class CellTimeout(BaseException):
    """Raised in the main thread when a cell runs past its limit (a BaseException: a
    student's ``except Exception`` does not swallow it)."""


class MissingModule:
    """What a failed top-level import would have bound: any use raises a clear error."""

    def __init__(self, module: str, where: str) -> None:
        object.__setattr__(self, "_why", f"{module} is not installed where this notebook is graded "
                                         f"(its import failed at {where})")

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        raise ModuleNotFoundError(object.__getattribute__(self, "_why"))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)  # copy, pickle and friends probe dunders
        self._fail()

    __call__ = __setattr__ = __getitem__ = __iter__ = __mro_entries__ = _fail

    def __repr__(self) -> str:
        return f"<missing: {object.__getattribute__(self, '_why')}>"


def run_cells(source: str, filename: str, cells: list[list[int]], namespace: dict[str, Any],
              cell_s: float) -> list[dict[str, Any]]:
    """Run ``cells`` (``[number, first line, last line]`` of ``source``) in ``namespace``;
    return the notes: ``{cell, line, kind, message, defines}``, ``defines`` being the names
    the cell's unfinished statements would have bound."""
    lines = [line + "\n" for line in source.split("\n")]  # as the trusted side counted them
    runner = _Runner(filename, namespace, cell_s)
    fake_ipython.agg_backend()
    fake_ipython.install(fake_ipython.FakeShell(namespace, filename, runner.note_at))
    _block_network()
    for number, first, last in cells:
        runner.run(number, first, "\n" * (first - 1) + "".join(lines[first - 1:last]))
    return runner.notes


class _Runner:
    def __init__(self, filename: str, namespace: dict[str, Any], cell_s: float) -> None:
        self.filename = filename
        self.namespace = namespace
        self.cell_s = cell_s
        self.notes: list[dict[str, Any]] = []
        self._cell = (0, 1)  # the running cell's number and first line

    def note_at(self, lineno: int, kind: str, message: str, defines: list[str] | None = None) -> None:
        number, first = self._cell
        self.notes.append({"cell": number, "line": max(lineno - first + 1, 0) if lineno else 0,
                           "kind": kind, "message": message.splitlines()[0][:500] if message else kind,
                           "defines": defines or []})

    def run(self, number: int, first: int, text: str) -> None:
        self._cell = (number, first)
        try:
            code = compile(text, self.filename, "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as exc:  # ValueError: a null byte in the cell
            message = f"{type(exc).__name__}: {exc.msg if isinstance(exc, SyntaxError) else exc}"
            self.note_at(getattr(exc, "lineno", 0) or 0, "syntax", message, _defines(text, 0))
            return
        try:
            with _time_limit(self.cell_s):
                self._exec(code, text)
        except CellTimeout:  # it fired while a failure was being noted: the note is made
            pass

    def _exec(self, code: Any, text: str) -> None:
        """Exec the cell; after a failed top-level import, go on with the statements after it."""
        body: list[ast.stmt] | None = None
        while True:
            try:
                exec(code, self.namespace)
                return
            except CellTimeout as stop:
                line = _line_in(code, stop.__traceback__)
                self.note_at(line, "timeout", f"stopped: the cell ran longer than {self.cell_s:g} s",
                             _defines(text, line))
                return
            except BaseException as exc:  # noqa: BLE001 - every way out of a cell is noted
                line = _line_in(code, exc.__traceback__)
                if body is None:
                    body = ast.parse(text, self.filename).body
                index = _statement_at(body, line)
                failed_import = (isinstance(exc, ImportError) and index is not None
                                 and isinstance(body[index], ast.Import | ast.ImportFrom))
                if not failed_import:
                    self.note_at(line, _kind(exc), _describe(exc), _defines(text, line, body))
                    return
                self.note_at(line, "import", _describe(exc))
                self._bind_missing(body[index], line)
                rest = body[index + 1:]
                if not rest:
                    return
                tail = ast.Module(body=rest, type_ignores=[])
                code = compile(tail, self.filename, "exec", dont_inherit=True)

    def _bind_missing(self, statement: ast.Import | ast.ImportFrom, lineno: int) -> None:
        where = f"cell {self._cell[0]}, line {lineno - self._cell[1] + 1}"
        for alias in statement.names:
            if alias.name == "*":
                continue
            name = alias.asname or alias.name.split(".")[0]
            module = statement.module if isinstance(statement, ast.ImportFrom) else alias.name
            if name not in self.namespace:
                self.namespace[name] = MissingModule(module or alias.name, where)


def _line_in(code: Any, tb: Any) -> int:
    """The line of ``code`` (a cell) that was running when the exception passed through it."""
    while tb is not None:
        if tb.tb_frame.f_code is code:
            return tb.tb_lineno
        tb = tb.tb_next
    return 0


def _statement_at(body: list[ast.stmt], line: int) -> int | None:
    for index, statement in enumerate(body):
        if statement.lineno <= line <= (statement.end_lineno or statement.lineno):
            return index
    return None


def _defines(text: str, line: int, body: list[ast.stmt] | None = None) -> list[str]:
    """Names that the cell's top-level statements from ``line`` on would have bound."""
    if body is None:
        try:
            body = ast.parse(text).body
        except (SyntaxError, ValueError):
            return _defined_by_syntax_error_cell(text)
    names: list[str] = []
    for statement in body:
        if (statement.end_lineno or statement.lineno) < line:
            continue
        names += _bound_names(statement)
    return names[:100]


def _defined_by_syntax_error_cell(text: str) -> list[str]:
    """A cell that does not parse binds nothing; its ``def``/``class`` lines say what it meant to."""
    names = []
    for raw in text.splitlines():
        words = raw.split()
        if len(words) >= 2 and words[0] in ("def", "class") and not raw[:1].isspace():
            names.append(words[1].split("(")[0].split(":")[0])
    return names[:100]


def _bound_names(statement: ast.stmt) -> list[str]:
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [statement.name]
    if isinstance(statement, ast.Import | ast.ImportFrom):
        return [a.asname or a.name.split(".")[0] for a in statement.names if a.name != "*"]
    targets: list[ast.expr] = []
    if isinstance(statement, ast.Assign):
        targets = statement.targets
    elif isinstance(statement, ast.AnnAssign | ast.AugAssign):
        targets = [statement.target]
    return [node.id for target in targets for node in ast.walk(target) if isinstance(node, ast.Name)]


def _kind(exc: BaseException) -> str:
    return "network" if NO_NETWORK in _describe(exc) else "raised"


def _describe(exc: BaseException) -> str:
    try:
        text = str(exc)
    except BaseException:  # noqa: BLE001 - a student's __str__ may do anything
        text = ""
    text = text.strip().splitlines()[0] if text.strip() else ""
    return f"{type(exc).__name__}: {text}"[:500] if text else type(exc).__name__


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """SIGALRM raises ``CellTimeout`` in the main thread after ``seconds``, and again every
    half second while the cell still runs (in case it caught the first). A cell stuck in
    native code never sees it: the trusted side's deadline on the whole load still holds
    (as it does where there is no SIGALRM, on Windows)."""
    if not hasattr(signal, "setitimer"):
        yield
        return
    active = True

    def fire(signum: int, frame: Any) -> None:
        if active:
            raise CellTimeout

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.5)
    try:
        yield
    finally:
        active = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _block_network() -> None:
    """Downloads fail at once with a clear error, even where the worker could reach a
    network or a resolver would make it wait (the confinement, where in force, is the real
    barrier; this only makes the failure fast and plain)."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.ENETUNREACH, NO_NETWORK)

    original_connect = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            refuse()
        original_connect(self, address)

    socket.getaddrinfo = refuse  # type: ignore[assignment]
    socket.create_connection = refuse  # type: ignore[assignment]
    socket.socket.connect = connect  # type: ignore[method-assign]
