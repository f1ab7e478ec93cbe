"""Probes every exercise may use. Like all probes they run in the worker, beside the
submission, and return plain data."""

from __future__ import annotations

from typing import Any

import torch

from grader.authoring import calling, probe


@probe
def parameter_shapes(sub: Any, api: str, args: list[Any], example: torch.Tensor) -> dict[str, list[int]]:
    """The parameters of ``sub.<api>(*args)``: name -> shape.

    The module first runs on ``example``, so that an unimplemented forward counts as
    unimplemented rather than as a module with the right (that is, no) parameters.
    """
    module = getattr(sub, api)(*args)
    with calling(f"{api}({', '.join(map(repr, args))})(X) with X of shape {tuple(example.shape)}"):
        module(example)
    return {name: list(p.shape) for name, p in module.named_parameters()}


def forward_once(module: Any, example: Any) -> None:
    """Run ``module(example)`` so lazy layers take their shapes and an unimplemented forward
    counts as unimplemented; any other error in it is left to the checks that judge outputs."""
    try:
        module(example)
    except NotImplementedError:
        raise
    except Exception:  # noqa: BLE001, S110 - the forward's bugs are another check's business
        pass


def _shape(tensor: Any) -> list[int] | None:
    if isinstance(tensor, torch.nn.parameter.UninitializedTensorMixin):
        return None  # a lazy parameter whose forward never ran
    return list(tensor.shape)


@probe
def module_structure(sub: Any, api: str, args: list[Any], example: torch.Tensor) -> dict[str, Any]:
    """What ``sub.<api>(*args)`` is made of, after one forward on ``example``.

    ``modules``: qualified name -> class name for every submodule ("" is the module itself);
    ``parameters``: name -> shape (None for a lazy parameter still without one). A forward
    that raises anything but ``NotImplementedError`` does not stop the description.
    """
    module = getattr(sub, api)(*args)
    forward_once(module, example)
    return {
        "modules": {name: type(m).__name__ for name, m in module.named_modules()},
        "parameters": {name: _shape(p) for name, p in module.named_parameters()},
    }


@probe
def module_outputs(sub: Any, api: str, args: list[Any], xs: list[torch.Tensor]) -> dict[str, Any]:
    """``sub.<api>(*args)`` applied to each of ``xs``, and its ``state_dict`` afterwards
    (after, so that lazy layers have their shapes)."""
    module = getattr(sub, api)(*args)
    outputs = [module(x) for x in xs]
    return {"outputs": outputs, "state": dict(module.state_dict())}
