"""Probes for exercise1 (layers and blocks). They run in the worker, beside the submission.

Each probe builds the student's modules, wrapped around layers it makes itself from plain
descriptions (see ``grader.authoring.strategies.layer_chains``), runs them and returns plain data:
outputs, the layers' own parameters, the student's ``state_dict``, what forward hooks saw.
The parameters come back detached but not copied, so the judges can compare storages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from grader.authoring import calling, probe
from grader.checks.common_probes import forward_once

Layers = dict[str, nn.Linear]


def _build(chain: list[dict], wrap: Callable[..., Any], layers: Layers) -> Any:
    """``wrap(*modules)`` for a chain description; Linear layers of one name are one object."""
    modules = []
    for layer in chain:
        kind = layer["kind"]
        if kind == "linear":
            if layer["name"] not in layers:
                layers[layer["name"]] = nn.Linear(layer["in"], layer["out"])
            modules.append(layers[layer["name"]])
        elif kind == "chain":
            modules.append(_build(layer["layers"], wrap, layers))
        elif kind == "dropout":
            modules.append(nn.Dropout(layer["p"]).eval())  # eval here: the wrapper may not pass it on
        else:
            modules.append({"relu": nn.ReLU, "tanh": nn.Tanh}[kind]())
    return wrap(*modules)


def _parameters(layers: Layers) -> dict[str, dict[str, torch.Tensor]]:
    return {name: {"weight": m.weight, "bias": m.bias} for name, m in layers.items()}


def _attempt(fn: Callable[[], Any]) -> dict[str, Any]:
    """``{"value": fn()}``, or ``{"raised": "Type: message"}`` for the judge to report."""
    try:
        return {"value": fn()}
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - the student's error is the judge's evidence
        return {"raised": f"{type(exc).__name__}: {exc}"[:300]}


def _recorder(calls: list[dict[str, Any]], tag: int, with_grads: bool = False) -> Callable[..., None]:
    """A forward hook that logs each call's input and output (and, later, its output's grad)."""

    def hook(module: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
        record: dict[str, Any] = {"tag": tag, "input": _copy(inputs[0] if inputs else None),
                                  "output": _copy(output)}
        calls.append(record)
        if with_grads and isinstance(output, torch.Tensor) and output.requires_grad:
            # Fires with the gradient of this output as it was, before any in-place change.
            output.register_hook(lambda grad: record.__setitem__("grad", grad.detach().clone()))

    return hook


def _copy(value: Any) -> Any:
    return value.detach().clone() if isinstance(value, torch.Tensor) else value


# -- MySequential ----------------------------------------------------------------------


def _call(net: Any, what: str, x: torch.Tensor) -> Any:
    """``net(x)``; an exception it raises names the call (the modules: the shrunk input)."""
    with calling(f"{what}(X) with X of shape {tuple(x.shape)}, the modules as in the shrunk input"):
        return net(x)


@probe
def sequential_outputs(sub: Any, cases: list[list[Any]]) -> list[dict[str, Any]]:
    """For each (chain, xs): the chain wrapped in MySequential (nested ones too) run on xs."""
    results = []
    for chain, xs in cases:
        layers: Layers = {}
        net = _build(chain, sub.MySequential, layers)
        results.append({"outputs": [_call(net, "MySequential(...)", x) for x in xs],
                        "layers": _parameters(layers)})
    return results


@probe
def sequential_registration(sub: Any, cases: list[list[Any]], lr: float) -> list[dict[str, Any]]:
    """For each (chain, xs): the state_dict of the MySequential chain, then one SGD step over
    its ``parameters()`` with every layer's gradient set to ones: the layers before and after."""
    results = []
    for chain, xs in cases:
        layers: Layers = {}
        net = _build(chain, sub.MySequential, layers)
        forward_once(net, xs[0])
        state = _attempt(lambda net=net: dict(net.state_dict()))
        before = {name: {k: p.detach().clone() for k, p in ps.items()}
                  for name, ps in _parameters(layers).items()}
        for m in layers.values():
            for p in m.parameters():
                p.grad = torch.ones_like(p)
        stepped = _attempt(lambda net=net: _sgd_step(net, lr))
        results.append({"state": state, "step": {k: v for k, v in stepped.items() if k == "raised"},
                        "before": before, "layers": _parameters(layers)})
    return results


def _sgd_step(net: nn.Module, lr: float) -> None:
    """What ``torch.optim.SGD(net.parameters(), lr).step()`` does. (Building an optimizer
    imports torch._dynamo on first use, over a second in every fresh worker.)"""
    with torch.no_grad():
        for p in net.parameters():
            if p.grad is not None:
                p.add_(p.grad, alpha=-lr)


# -- FixedHiddenMLP ------------------------------------------------------------------------


@probe
def fixed_hidden_constant(sub: Any, x: torch.Tensor) -> dict[str, Any]:
    """rand_weight, the parameters, and rand_weight's gradient after a backward pass."""
    net = sub.FixedHiddenMLP()
    weight = getattr(net, "rand_weight", None)  # anything else comes back opaque
    y = net(x)
    parameters = dict(net.named_parameters())  # after the forward, which shapes lazy layers
    if isinstance(y, torch.Tensor) and y.requires_grad:
        y.sum().backward()
    grad = weight.grad if isinstance(weight, torch.Tensor) else None
    return {"rand_weight": weight, "parameters": parameters, "grad": grad}


@probe
def fixed_hidden_linear_calls(sub: Any, x: torch.Tensor) -> dict[str, Any]:
    """The calls of ``net.linear`` in one forward (input, gradient of its output after
    backward) and the gradients that reached linear's weight and bias."""
    net = sub.FixedHiddenMLP()
    linear = net.linear
    calls: list[dict[str, Any]] = []
    linear.register_forward_hook(_recorder(calls, 0, with_grads=True))
    y = net(x)
    requires_grad = isinstance(y, torch.Tensor) and y.requires_grad
    if requires_grad:
        y.sum().backward()
    return {"calls": [{"input": c["input"], "output": c["output"], "grad": c.get("grad")} for c in calls],
            "requires_grad": requires_grad, "output": _copy(y),
            "weight_grad": linear.weight.grad, "bias_grad": linear.bias.grad}


@probe
def fixed_hidden_outputs(sub: Any, xs: list[torch.Tensor]) -> dict[str, Any]:
    """Outputs on xs, with rand_weight as it was before them and linear's parameters
    (read after them, so that a lazy layer has its shape; no forward changes them)."""
    net = sub.FixedHiddenMLP()
    weight = _copy(getattr(net, "rand_weight", None))
    outputs = [net(x) for x in xs]
    linear = {name: p.detach().clone() for name, p in net.linear.named_parameters()}
    return {"rand_weight": weight, "linear": linear, "outputs": outputs}


# -- chimera ----------------------------------------------------------------------------------


@probe
def chimera_calls(sub: Any, x: torch.Tensor) -> dict[str, Any]:
    """What each top-level child of ``chimera()`` saw and returned during one forward."""
    net = sub.chimera()
    children = list(net.children())
    calls: list[dict[str, Any]] = []
    for i, child in enumerate(children):
        child.register_forward_hook(_recorder(calls, i))
    y = net(x)
    middle = children[1] if len(children) > 1 else None
    linear = {name: p for name, p in middle.named_parameters()} if middle is not None else {}
    return {"output": y, "calls": calls, "children": len(children), "linear": linear}


# -- ParallelBlock ----------------------------------------------------------------------------


@probe
def parallel_outputs(sub: Any, cases: list[list[Any]]) -> list[dict[str, Any]]:
    """For each (chain1, chain2, xs): ParallelBlock(net1, net2) on xs, nets as nn.Sequential."""
    results = []
    for chain1, chain2, xs in cases:
        layers: Layers = {}
        block = sub.ParallelBlock(_build(chain1, nn.Sequential, layers),
                                  _build(chain2, nn.Sequential, layers))
        results.append({"outputs": [_call(block, "ParallelBlock(net1, net2)", x) for x in xs],
                        "layers": _parameters(layers)})
    return results


@probe
def parallel_parameters(sub: Any, cases: list[list[Any]]) -> list[dict[str, Any]]:
    """For each (chain1, chain2, xs): the parameters of ParallelBlock(net1, net2)."""
    results = []
    for chain1, chain2, xs in cases:
        layers: Layers = {}
        block = sub.ParallelBlock(_build(chain1, nn.Sequential, layers),
                                  _build(chain2, nn.Sequential, layers))
        forward_once(block, xs[0])
        found = _attempt(lambda block=block: list(block.parameters()))
        results.append({"parameters": found, "layers": _parameters(layers)})
    return results


# -- stack ------------------------------------------------------------------------------------


def _instance(kind: str, width: int) -> nn.Module:
    if kind == "linear":
        return nn.Linear(width, width)
    return nn.Sequential(nn.Linear(width, width), {"relu": nn.ReLU, "tanh": nn.Tanh}[kind]())


@probe
def stack_instances(sub: Any, cases: list[list[Any]]) -> list[dict[str, Any]]:
    """For each (kind, width, n, x): the state_dict of ``stack(factory, n)`` and the
    state_dicts of the instances that ``factory()`` made, in the order it made them."""
    results = []
    for kind, width, n, x in cases:
        made: list[nn.Module] = []

        def factory(kind: str = kind, width: int = width, made: list[nn.Module] = made) -> nn.Module:
            made.append(_instance(kind, width))
            return made[-1]

        net = sub.stack(factory, n)
        forward_once(net, x)
        state = _attempt(lambda net=net: dict(net.state_dict()))
        results.append({"state": state, "made": [dict(m.state_dict()) for m in made]})
    return results


@probe
def stack_calls(sub: Any, cases: list[list[Any]]) -> list[dict[str, Any]]:
    """For each (kind, width, n, x): ``stack(factory, n)(x)`` and, in the order they ran, the
    calls of the instances made by ``factory()`` (tagged by the order they were made in)."""
    results = []
    for kind, width, n, x in cases:
        calls: list[dict[str, Any]] = []
        made: list[nn.Module] = []

        def factory(kind: str = kind, width: int = width, made: list[nn.Module] = made,
                    calls: list[dict[str, Any]] = calls) -> nn.Module:
            module = _instance(kind, width)
            module.register_forward_hook(_recorder(calls, len(made)))
            made.append(module)
            return module

        net = sub.stack(factory, n)
        results.append({"output": net(x), "calls": calls, "made": len(made)})
    return results
