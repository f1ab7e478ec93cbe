"""A worker's limits, in a module of their own: the batch coordinator sizes its grading
processes' deadlines from them without importing torch (1.4 s before any of them starts)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Per-worker limits. Time limits are enforced here, by killing, not in the worker."""

    call_s: float = 10.0  # one probe call
    budget_s: float = 300.0  # all calls into one submission together: slow code cannot hold a batch
    load_s: float = 20.0  # importing the submission
    memory_mb: int = 512  # above the worker's baseline (torch mapped); exercises need a few MiB
    cpu_s: int = 300  # a worker's whole life
    file_mb: int = 16
    max_processes: int = 256
    result_mb: int = 64
    # One notebook cell (stopped in the worker, then the next cell runs); None: call_s.
    # A notebook's cells together may take load_s plus this per code cell, within budget_s.
    cell_s: float | None = None

    @property
    def notebook_cell_s(self) -> float:
        return self.cell_s if self.cell_s is not None else self.call_s

    @classmethod
    def for_timeout(cls, call_s: float) -> Limits:
        """The limits of ``--timeout call_s``: importing may take twice a call, and all the
        calls into one submission thirty times one (20 s and 300 s for the default 10 s)."""
        return cls(call_s=call_s, load_s=2 * call_s, budget_s=30 * call_s)


DEFAULT_LIMITS = Limits()
