"""Importing torch for less: what every grading process and worker server does as it starts.

Two costs of ``import torch`` buy nothing here, and a cold ``grade`` imports torch twice (in
its own process and in its worker server, side by side on two cores):
- the garbage collector runs some 400 times while torch's 280,000 objects are made, and
  finds about 7,000 to free: 0.1-0.2 s of CPU an import. ``imports_unscanned`` pauses it
  for the imports, then freezes what they made, so that no later collection scans it;
- numpy's OpenBLAS (torch imports numpy) starts a second thread at import, which spins for
  0.1 s waiting for work that never comes: the judges compute with torch, on one thread.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator


@contextlib.contextmanager
def imports_unscanned() -> Iterator[None]:
    """Import with the garbage collector paused, then freeze everything that exists: the
    collector never scans it again. The little garbage the imports leave (about a MiB) is
    frozen with the rest and stays for the process's life, which for these processes is
    grading."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def one_blas_thread() -> None:
    """Before numpy is imported: one thread for numpy's BLAS, unless the user set one.
    Worker servers and workers get one from ``OMP_NUM_THREADS`` (``launchers.worker_env``),
    and processes this one starts (a batch's grading processes) inherit it."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
