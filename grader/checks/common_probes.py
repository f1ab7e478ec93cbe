"""Probes every exercise may use. Like all probes they run in the worker, beside the
submission, and return plain data."""

from __future__ import annotations

from typing import Any

import torch

from grader.sandbox.worker import probe


@probe
def parameter_shapes(sub: Any, api: str, args: list[Any], example: torch.Tensor) -> dict[str, list[int]]:
    """The parameters of ``sub.<api>(*args)``: name -> shape.

    The module first runs on ``example``, so that an unimplemented forward counts as
    unimplemented rather than as a module with the right (that is, no) parameters.
    """
    module = getattr(sub, api)(*args)
    module(example)
    return {name: list(p.shape) for name, p in module.named_parameters()}
