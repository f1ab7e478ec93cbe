"""Worker side: the little of IPython that translated notebook cells call, doing nothing harmful.

IPython's input transformer (run on the trusted side, ``grading.ipython_syntax``) turns
``%magic``, ``!cmd``, ``x = !cmd`` and ``obj?`` into calls on ``get_ipython()``. This shell
answers them without a shell, a network or a kernel: ``%time``/``%timeit`` run their
statement once, ``%matplotlib`` picks the Agg backend, help and other harmless magics do
nothing, and whatever else would have run (``!pip install d2l``, ``%%bash``, ``%run``) is
skipped and noted for the report.
"""

from __future__ import annotations

import builtins
import os
import sys
from collections.abc import Callable
from typing import Any

# Line magics that run their argument as Python (once: the timing is no one's business here).
RUNS_ITS_LINE = {"time", "timeit", "prun"}
# Line magics that change nothing a check could see: done without a note.
QUIET = {"matplotlib", "pinfo", "pinfo2", "psearch", "pdoc", "pdef", "psource", "pfile", "load_ext",
         "reload_ext", "unload_ext", "autoreload", "aimport", "config", "who", "whos", "who_ls", "lsmagic",
         "magic", "xmode", "precision", "pprint", "page", "history", "notebook", "colors", "grade"}


class FakeShell:
    """What ``get_ipython()`` returns in a worker grading a notebook."""

    def __init__(self, namespace: dict[str, Any], filename: str,
                 note: Callable[[int, str, str], None]) -> None:
        self.user_ns = namespace
        self._filename = filename
        self._note = note  # note(module line, kind, message)

    def __repr__(self) -> str:
        return "<grader's stand-in for IPython: magics and shell commands are not run>"

    def run_line_magic(self, name: str, line: str, _stack_depth: int = 1) -> Any:
        if name in RUNS_ITS_LINE:
            return self._run(line)
        if name == "matplotlib":
            agg_backend()
        elif name not in QUIET:
            self._skip(f"%{name} {line}".rstrip(), "magic not run while grading")
        return None

    def run_cell_magic(self, name: str, line: str, cell: str) -> Any:
        self._skip(f"%%{name} {line}".rstrip(), "cell magic not run while grading: its body is not Python")
        return None

    def system(self, cmd: str) -> None:
        self._skip(f"!{cmd}", "shell command not run while grading")

    def getoutput(self, cmd: str, split: bool = True, depth: int = 0) -> list[str]:
        self._skip(f"!{cmd}", "shell command not run while grading; its output is taken as empty")
        return []

    def run_cell(self, raw_cell: str, *args: Any, **kwargs: Any) -> None:
        self._skip("run_cell(...)", "not run while grading")

    def _run(self, line: str) -> Any:
        try:
            code = compile(line, "<magic>", "eval")
        except SyntaxError:
            exec(compile(line, "<magic>", "exec"), self.user_ns)
            return None
        return eval(code, self.user_ns)

    def _skip(self, what: str, why: str) -> None:
        self._note(self._caller_line(), "skipped", f"{why}: {what[:200]}")

    def _caller_line(self) -> int:
        """The line of the notebook that called us (0 if none)."""
        frame = sys._getframe(2)
        while frame is not None:
            if frame.f_code.co_filename == self._filename:
                return frame.f_lineno
            frame = frame.f_back
        return 0


def display(*objects: Any, **kwargs: Any) -> None:
    """IPython's ``display``: shows nothing in a worker (nobody is watching)."""


def agg_backend() -> None:
    """Plots draw off-screen (``plt.show()`` does nothing), whenever matplotlib is imported."""
    os.environ["MPLBACKEND"] = "Agg"
    matplotlib = sys.modules.get("matplotlib")
    if matplotlib is not None:
        matplotlib.use("Agg", force=True)


def install(shell: FakeShell) -> None:
    """Make ``get_ipython`` and ``display`` builtins, as IPython does in a kernel."""
    builtins.get_ipython = lambda: shell  # type: ignore[attr-defined]
    builtins.display = display  # type: ignore[attr-defined]
