"""Probes for exercise3 (custom layers). They run in the worker, beside the submission.

Each probe builds the student's objects, runs them on the inputs the judge sent and
returns plain data: outputs, parameters, gradients. Deciding is the judges' business.
"""

from __future__ import annotations

from typing import Any

import torch

from grader.authoring import calling, probe


def _requires_grad(value: Any) -> bool:
    return isinstance(value, torch.Tensor) and value.requires_grad


@probe
def centered_outputs(sub: Any, xs: list[torch.Tensor]) -> list[Any]:
    layer = sub.CenteredLayer()
    return [_call(layer, "CenteredLayer()", x) for x in xs]


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


def _load_parameters(layer: Any, values: dict[str, torch.Tensor]) -> dict[str, list[int]]:
    """Give the layer the judge's parameter values, where names and shapes match.

    The judge chooses the values, so that the output it recomputes does not rest on an
    initialization the student chose (all zeros would hide a missing relu). Returns the
    shapes the layer has, so that a missing or misshapen parameter can be told.
    """
    parameters = dict(layer.named_parameters())
    with torch.no_grad():
        for name, value in values.items():
            target = parameters.get(name)
            if target is not None and tuple(target.shape) == tuple(value.shape):
                target.copy_(value)
    return {name: list(p.shape) for name, p in parameters.items()}


@probe
def mylinear_outputs(
    sub: Any, in_units: int, units: int, values: dict[str, torch.Tensor], xs: list[torch.Tensor]
) -> dict[str, Any]:
    layer = sub.MyLinear(in_units, units)
    shapes = _load_parameters(layer, values)
    return {"shapes": shapes, "outputs": [_call(layer, f"{type(layer).__name__}({in_units}, {units})", x)
                                          for x in xs]}


@probe
def mylinear_gradients(
    sub: Any, in_units: int, units: int, values: dict[str, torch.Tensor], x: torch.Tensor, g: torch.Tensor
) -> dict[str, Any]:
    """Parameter gradients after (layer(x) * g).sum().backward()."""
    layer = sub.MyLinear(in_units, units)
    shapes = _load_parameters(layer, values)
    y = _call(layer, f"MyLinear({in_units}, {units})", x)
    if not _requires_grad(y):
        return {"shapes": shapes, "output_requires_grad": False, "grads": {}, "output": y}
    (y * g).sum().backward()
    return {
        "shapes": shapes,
        "output_requires_grad": True,
        "grads": {name: p.grad for name, p in layer.named_parameters()},
        "output": y.detach(),
    }


@probe
def tensor_reduction_outputs(
    sub: Any, in_units: int, units: int, values: dict[str, torch.Tensor], xs: list[torch.Tensor]
) -> dict[str, Any]:
    layer = sub.TensorReduction(in_units, units)
    shapes = _load_parameters(layer, values)
    return {"shapes": shapes, "outputs": [_call(layer, f"{type(layer).__name__}({in_units}, {units})", x)
                                          for x in xs]}


@probe
def fourier_outputs(sub: Any, xs: list[torch.Tensor]) -> list[Any]:
    layer = sub.FourierHalf()
    return [_call(layer, "FourierHalf()", x) for x in xs]


def _call(layer: Any, what: str, x: torch.Tensor) -> Any:
    """``layer(x)``; an exception it raises names the call (``grader.authoring.calls``)."""
    dtype = str(x.dtype).removeprefix("torch.")
    with calling(f"{what}(X) with X of shape {tuple(x.shape)} and dtype {dtype}"):
        return layer(x)
