"""Progress of a batch on stderr: a rich bar on a terminal, plain lines elsewhere (CI logs)."""

from __future__ import annotations

import sys
import time
from types import TracebackType

from grader.batch.scheduler import Outcome

PLAIN_EVERY_S = 10.0  # plain mode: a line at most this often (and at the end)


class Progress:
    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.errors = 0
        self._started = time.monotonic()
        self._last_line = 0.0
        self._bar = None
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                TextColumn("grading"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"), TextColumn("{task.fields[errors]}"),
                TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                console=Console(stderr=True), transient=False)
            self._task = self._bar.add_task("grading", total=total, rate="", errors="")

    def __enter__(self) -> Progress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()
        elif self.done and self.done != self.total:
            self._line()

    def advance(self, outcome: Outcome) -> None:
        self.done += 1
        self.errors += outcome.source == "error"
        if self._bar is not None:
            errors = f"{self.errors} infrastructure errors" if self.errors else ""
            self._bar.update(self._task, completed=self.done, rate=self._rate(), errors=errors)
        elif self.done == self.total or time.monotonic() - self._last_line >= PLAIN_EVERY_S:
            self._line()

    def _rate(self) -> str:
        elapsed = time.monotonic() - self._started
        return f"{self.done / elapsed:.1f}/s" if elapsed > 0 else ""

    def _line(self) -> None:
        self._last_line = time.monotonic()
        elapsed = self._last_line - self._started
        left = (self.total - self.done) * elapsed / self.done if self.done else 0.0
        print(f"graded {self.done}/{self.total} ({self._rate()}, {elapsed:.0f} s, ETA {left:.0f} s"
              + (f", {self.errors} infrastructure errors" if self.errors else "") + ")",
              file=sys.stderr, flush=True)
