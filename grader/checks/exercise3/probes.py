"""Probes for exercise3 (custom layers). They run in the worker, beside the submission.

Each probe builds the student's objects, runs them on the inputs the judge sent and
returns plain data: outputs, parameters, gradients. Deciding is the judges' business.
"""

from __future__ import annotations

from typing import Any

import torch

from grader.sandbox.worker import probe


def _parameters(module: Any) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in module.named_parameters()}


def _requires_grad(value: Any) -> bool:
    return isinstance(value, torch.Tensor) and value.requires_grad


@probe
def centered_outputs(sub: Any, xs: list[torch.Tensor]) -> list[Any]:
    layer = sub.CenteredLayer()
    return [layer(x) for x in xs]


@probe
def centered_input_gradients(sub: Any, pairs: list[list[torch.Tensor]]) -> list[Any]:
    """For each (x, g): x.grad after (layer(x) * g).sum().backward(), or None."""
    layer = sub.CenteredLayer()
    grads = []
    for x, g in pairs:
        x = x.clone().requires_grad_(True)
        y = layer(x)
        if not _requires_grad(y):
            grads.append(None)
            continue
        (y * g).sum().backward()
        grads.append(x.grad)
    return grads


@probe
def mylinear_outputs(sub: Any, in_units: int, units: int, xs: list[torch.Tensor]) -> dict[str, Any]:
    layer = sub.MyLinear(in_units, units)
    state = _parameters(layer)
    return {"parameters": state, "outputs": [layer(x) for x in xs]}


@probe
def mylinear_gradients(sub: Any, in_units: int, units: int, x: torch.Tensor, g: torch.Tensor) -> dict[str, Any]:
    """Parameter gradients after (layer(x) * g).sum().backward()."""
    layer = sub.MyLinear(in_units, units)
    y = layer(x)
    if not _requires_grad(y):
        return {"output_requires_grad": False, "grads": {}}
    (y * g).sum().backward()
    return {
        "output_requires_grad": True,
        "grads": {name: p.grad for name, p in layer.named_parameters()},
    }


@probe
def tensor_reduction_outputs(sub: Any, in_units: int, units: int, xs: list[torch.Tensor]) -> dict[str, Any]:
    layer = sub.TensorReduction(in_units, units)
    state = _parameters(layer)
    return {"parameters": state, "outputs": [layer(x) for x in xs]}


@probe
def fourier_outputs(sub: Any, xs: list[torch.Tensor]) -> list[Any]:
    layer = sub.FourierHalf()
    return [layer(x) for x in xs]
