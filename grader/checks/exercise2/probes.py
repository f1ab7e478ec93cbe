"""Probes for exercise2 (parameter management). They run in the worker, beside the submission.

Each probe builds networks (the grader's own, or the student's), hands them to the
student's functions and returns plain data: what the functions returned, parameters with
their storage sharing intact, outputs and gradients. Deciding is the judges' business.

``build`` is plain grader code that the judges also call, to build the same network on
the trusted side from the same spec.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from grader.authoring import probe, seed_torch

# -- networks from specs --------------------------------------------------------------
#
# A spec is plain data, so that it can cross to the worker:
#   ["linear", in, out, bias]   nn.Linear(in, out, bias=bias)
#   ["conv1d", in, out, k]      nn.Conv1d(in, out, k)
#   ["bn", n]                   nn.BatchNorm1d(n) (parameters and buffers)
#   ["relu"]                    nn.ReLU()
#   ["seq", [spec, ...]]        nn.Sequential of the parts, children "0", "1", …
#   ["named", [[name, spec], …]] a module with the parts as named children
#   ["tie", k]                  the k-th (mod the count) module with parameters built so
#                               far, the same object again: its parameters are tied


def build(spec: list[Any]) -> nn.Module:
    return _build(spec, [])


def _build(spec: list[Any], made: list[nn.Module]) -> nn.Module:
    kind = spec[0]
    if kind == "tie":
        return made[spec[1] % len(made)] if made else nn.ReLU()
    if kind == "seq":
        return nn.Sequential(*(_build(part, made) for part in spec[1]))
    if kind == "named":
        module = nn.Module()
        for name, part in spec[1]:
            module.add_module(name, _build(part, made))
        return module
    module = {
        "linear": lambda: nn.Linear(spec[1], spec[2], bias=spec[3]),
        "conv1d": lambda: nn.Conv1d(spec[1], spec[2], spec[3]),
        "bn": lambda: nn.BatchNorm1d(spec[1]),
        "relu": nn.ReLU,
    }[kind]()
    if any(True for _ in module.parameters()):
        made.append(module)
    return module


@probe
def param_shapes_of(sub: Any, specs: list[list[Any]]) -> list[dict[str, Any]]:
    """``param_shapes(net)`` for each spec's net, with whether each shape is a tuple."""
    results = []
    for spec in specs:
        value = sub.param_shapes(build(spec))
        pairs = value if isinstance(value, (list, tuple)) else []
        results.append({
            "value": value,
            "kind": type(value).__name__,
            "tuple_shapes": [isinstance(p, (list, tuple)) and len(p) == 2 and isinstance(p[1], tuple)
                             for p in pairs],
        })
    return results


@probe
def count_params_of(sub: Any, specs: list[list[Any]]) -> list[dict[str, Any]]:
    """``count_params(net)`` for each spec's net, with every parameter under every name it
    has (tied ones several times, sharing storage)."""
    results = []
    for spec in specs:
        net = build(spec)
        params = dict(net.named_parameters(remove_duplicate=False))
        results.append({"count": sub.count_params(net), "parameters": params})
    return results


# -- rgnet ----------------------------------------------------------------------------


@probe
def rgnet_run(sub: Any, xs: list[torch.Tensor]) -> dict[str, Any]:
    """rgnet()'s module names and parameters in order, a module or parameter used twice
    listed twice (tensors then share storage), and its outputs on ``xs``."""
    net = sub.rgnet()
    return {
        "modules": [name for name, _ in net.named_modules(remove_duplicate=False)],
        "parameters": [[name, p] for name, p in net.named_parameters(remove_duplicate=False)],
        "outputs": [net(x) for x in xs],
    }


# -- initializers ---------------------------------------------------------------------


def _others() -> dict[str, nn.Module]:
    """Modules with parameters that are not nn.Linear: an initializer leaves them alone."""
    return {
        "Conv1d(3, 4, 3)": nn.Conv1d(3, 4, 3),
        "BatchNorm1d(6)": nn.BatchNorm1d(6),
        "LayerNorm(5)": nn.LayerNorm(5),
        "Embedding(7, 3)": nn.Embedding(7, 3),
        "Bilinear(3, 4, 2)": nn.Bilinear(3, 4, 2),
    }


def _state(module: nn.Module) -> dict[str, torch.Tensor]:
    return {name: t.detach().clone() for name, t in module.state_dict().items()}


@probe
def initialized(sub: Any, name: str, seed: int, sizes: list[list[int]], others: bool) -> dict[str, Any]:
    """Seed, build nn.Linear(i, o) for each [i, o] in ``sizes`` (and, if ``others``, modules
    with parameters that are not nn.Linear, their values made random so that setting them
    to a default shows), nest them in one network, apply ``sub.<name>`` with ``net.apply``
    and return what is there now.

    ``linear``: each layer's weight and bias after; ``linear_before``: each layer's weight
    before; ``others``: each other module's state before and after.
    """
    seed_torch(seed)
    linears = [nn.Linear(i, o) for i, o in sizes]
    linear_before = [m.weight.detach().clone() for m in linears]
    extra = _others() if others else {}
    with torch.no_grad():
        for module in extra.values():
            for tensor in module.state_dict().values():
                if tensor.is_floating_point():
                    tensor.normal_()
    before = {label: _state(module) for label, module in extra.items()}
    net = _nest(linears, list(extra.values()))
    net.apply(getattr(sub, name))
    return {
        "linear": [{"weight": m.weight, "bias": m.bias} for m in linears],
        "linear_before": linear_before,
        "others": {label: {"before": before[label], "after": _state(module)}
                   for label, module in extra.items()},
    }


def _nest(linears: list[nn.Module], others: list[nn.Module]) -> nn.Module:
    """One network of all the modules, some nested, so that ``apply`` has to recurse."""
    half = len(linears) // 2
    inner = nn.Sequential(*others[:2], *linears[1:half], nn.ReLU())
    return nn.Sequential(*linears[:1], nn.ReLU(), inner, nn.ModuleList([*others[2:4], *linears[half:]]),
                         *others[4:])


# -- tied_net -------------------------------------------------------------------------


@probe
def tied_net_state(sub: Any) -> dict[str, torch.Tensor]:
    """tied_net()'s state_dict: tensors that share storage still share it on arrival."""
    return dict(sub.tied_net().state_dict())


@probe
def tied_net_gradients(sub: Any, x: torch.Tensor) -> dict[str, Any]:
    """tied_net()'s state, output on ``x`` and parameter gradients after
    ``output.sum().backward()``, under every name a parameter has."""
    net = sub.tied_net()
    state = {name: t.detach().clone() for name, t in net.state_dict().items()}
    y = net(x)
    grads = None
    if isinstance(y, torch.Tensor) and y.requires_grad:
        y.sum().backward()
        grads = {name: p.grad for name, p in net.named_parameters(remove_duplicate=False)}
    return {"state": state, "output": y, "grads": grads}
