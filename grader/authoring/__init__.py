"""The check author's kit: everything a probe or a judge imports, from one place.

    from grader.authoring import probe                      # in probes.py (runs in workers)
    from grader.authoring import budget, check, expect, ... # in judges.py (trusted side)

Names load lazily, so that a probes module pulls in only the worker's ``probe`` marker, never
hypothesis, pytest or a judge: the worker side must not import what judges.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    **dict.fromkeys(("probe", "seed_torch"), "grader.sandbox.worker"),
    **dict.fromkeys(("check", "budget", "Fail", "expect", "paired", "show", "on_input", "expect_tensor",
                     "expect_shape", "expect_close"), "grader.authoring.judging"),
    **dict.fromkeys(("tensors", "shapes", "rows", "batches", "choice", "layer_chains", "repeating_chains",
                     "FLOAT_DTYPES"), "grader.authoring.strategies"),
    **dict.fromkeys(("Opaque", "is_opaque"), "grader.sandbox.wire"),
    "real_gpus": "grader.sandbox.confine",
    "shown_as": "grader.authoring.readable",
    "calling": "grader.authoring.calls",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'grader.authoring' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
