"""Probes for exercise4 (deferred initialization). They run in the worker, beside the submission.

Each probe builds the student's layers (or hands the grader's own lazy networks to the
student's ``materialize``), runs them and returns plain data: what the parameters are
before and after a forward pass, outputs with the state each was computed from, what a
forward raised. An uninitialized parameter cannot cross as a tensor (it has no data), so
it crosses as ``None``; tensors come back detached but not copied, so the judges can tell
whether a parameter is still the same tensor after another forward.

``build`` is plain grader code: the judges read the same specs to know the shapes.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.parameter import is_lazy

from grader.authoring import calling, probe, seed_torch
from grader.checks.common_probes import forward_once

_MISSING = object()


def _tensor(value: Any) -> Any:
    """A tensor as a detached view of its storage now (a later ``.data = ...`` shows as
    another storage), an uninitialized one as None, anything else as is."""
    if is_lazy(value):
        return None
    return value.detach() if isinstance(value, torch.Tensor) else value


def _copy(value: Any) -> Any:
    if is_lazy(value):
        return None
    return value.detach().clone() if isinstance(value, torch.Tensor) else value


def _describe(value: Any) -> dict[str, Any]:
    """What an attribute holds: missing, None, an uninitialized parameter, or a tensor."""
    if value is _MISSING:
        return {"kind": "missing"}
    if value is None:
        return {"kind": "none"}
    if is_lazy(value):
        return {"kind": "uninitialized"}
    if isinstance(value, torch.Tensor):
        return {"kind": "tensor", "shape": list(value.shape), "class": type(value).__name__}
    return {"kind": type(value).__name__}


def _parameter_shapes(module: nn.Module) -> dict[str, list[int] | None]:
    return {name: None if is_lazy(p) else list(p.shape) for name, p in module.named_parameters()}


def _raised(exc: BaseException) -> dict[str, Any]:
    return {"type": type(exc).__name__, "mro": [c.__name__ for c in type(exc).__mro__],
            "message": str(exc)[:300]}


def _forward(module: Any, x: torch.Tensor) -> dict[str, Any] | None:
    """Run ``module(x)``; what it raised (other than NotImplementedError), or None."""
    try:
        module(x)
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - the judge reports it as context
        return _raised(exc)
    return None


# -- MyLazyLinear -------------------------------------------------------------------------


@probe
def before_first_forward(sub: Any, cases: list[list[Any]]) -> list[dict[str, Any]]:
    """For each (out_features, x): what ``weight`` is and the parameters' shapes before any
    forward; then one forward on x, so that an unimplemented forward counts as such."""
    results = []
    for out_features, x in cases:
        layer = sub.MyLazyLinear(out_features)
        results.append({"weight": _describe(getattr(layer, "weight", _MISSING)),
                        "parameters": _parameter_shapes(layer)})
        forward_once(layer, x)
    return results


@probe
def shapes_after_forward(sub: Any, cases: list[list[Any]]) -> list[dict[str, Any]]:
    """For each (out_features, x): the parameters' shapes after one forward on x (and what
    that forward raised, if anything: the shapes may be right even so)."""
    results = []
    for out_features, x in cases:
        layer = sub.MyLazyLinear(out_features)
        raised = _forward(layer, x)
        results.append({"parameters": _parameter_shapes(layer), "raised": raised})
    return results


@probe
def outputs(sub: Any, cases: list[list[Any]]) -> list[dict[str, Any]]:
    """For each (out_features, xs, bias, weight): one layer run once on xs[0] to get its
    shapes, then given the judge's (nonzero) ``bias`` and ``weight`` values (where it has
    that many entries: its initial values are not judged), then run on each x in turn, with its
    ``weight`` and ``bias`` as they were right after each forward (each output is judged
    against the state it was computed from; whether the state stays the same is another
    check's business). A bias left at its initial zeros would hide a wrong sign."""
    results = []
    for out_features, xs, bias, weight in cases:
        layer = sub.MyLazyLinear(out_features)
        with calling(f"MyLazyLinear({out_features})(X) with X of shape {tuple(xs[0].shape)}"):
            layer(xs[0])  # its shapes, before the judge sets the values
        _set_values(layer, {"bias": bias, "weight": weight})
        ys, states = [], []
        for i, x in enumerate(xs):
            with calling(f"MyLazyLinear({out_features})(X) with X of shape {tuple(x.shape)}"
                         + (f", after {i} earlier call(s)" if i else "")):
                ys.append(layer(x))
            states.append({name: _copy(getattr(layer, name, None)) for name in ("weight", "bias")}
                          | {"registered": [name for name, _ in layer.named_parameters()]})
        results.append({"outputs": ys, "states": states})
    return results


def _set_values(layer: nn.Module, values: dict[str, torch.Tensor]) -> None:
    """Copy each value into the layer's tensor of that name where it has that many entries."""
    for name, value in values.items():
        target = getattr(layer, name, None)
        if isinstance(target, torch.Tensor) and not is_lazy(target) and target.numel() == value.numel():
            with torch.no_grad():
                target.copy_(value.reshape(target.shape).to(target.dtype))


def _snapshot(layer: nn.Module) -> dict[str, Any]:
    attributes = {name: _tensor(getattr(layer, name, None)) for name in ("weight", "bias")}
    parameters = {name: _tensor(p) for name, p in layer.named_parameters()}
    values = {f"attribute {k}": _copy(v) for k, v in attributes.items()}
    values.update({f"parameter {k}": _copy(v) for k, v in parameters.items()})
    return {"attributes": attributes, "parameters": parameters, "values": values}


@probe
def across_forwards(sub: Any, cases: list[list[Any]]) -> list[dict[str, Any]]:
    """For each (out_features, x1, x2), x2 as wide as x1: the layer's ``weight`` and ``bias``
    and its registered parameters after forward(x1) (with copies of their values) and after
    forward(x2). Not copied, the tensors keep their identity: same storage, same tensor."""
    results = []
    for out_features, x1, x2 in cases:
        layer = sub.MyLazyLinear(out_features)
        with calling(f"MyLazyLinear({out_features})(X1) with X1 of shape {tuple(x1.shape)}",
                     first_of="a second call with an input as wide"):
            layer(x1)
        first = _snapshot(layer)
        with calling(f"the second call, MyLazyLinear({out_features})(X2) with X2 of shape {tuple(x2.shape)}"):
            layer(x2)
        results.append({"first": first, "second": _snapshot(layer)})
    return results


@probe
def another_width(sub: Any, cases: list[list[Any]]) -> list[dict[str, Any]]:
    """For each (out_features, x1, x2), x2 of another width than x1: forward(x1), then what
    forward(x2) raised or returned."""
    results = []
    for out_features, x1, x2 in cases:
        layer = sub.MyLazyLinear(out_features)
        with calling(f"MyLazyLinear({out_features})(X1) with X1 of shape {tuple(x1.shape)}",
                     first_of=f"the call with an input of another width (X2 of shape {tuple(x2.shape)}) "
                     "that should raise ValueError; does the layer fix its input width before the first "
                     "forward?"):
            layer(x1)
        try:
            y = layer(x2)
        except NotImplementedError:
            raise
        except Exception as exc:  # noqa: BLE001 - what it raised is the evidence
            results.append({"raised": _raised(exc)})
            continue
        results.append({"output": y})
    return results


# -- lazy_mlp -------------------------------------------------------------------------------


def _classes(obj: Any) -> list[str]:
    return [f"{c.__module__}.{c.__qualname__}" for c in type(obj).__mro__]


@probe
def lazy_mlp_layers(sub: Any, cases: list[list[int]]) -> list[dict[str, Any]]:
    """For each list of sizes: the classes of ``lazy_mlp(sizes)`` and of its children, in
    order, before any forward, with each child's ``out_features`` where it has one."""
    results = []
    for sizes in cases:
        net = sub.lazy_mlp(list(sizes))
        if not isinstance(net, nn.Module):
            results.append({"net": net, "classes": _classes(net), "children": None})
            continue
        children = [{"classes": _classes(child), "out_features": getattr(child, "out_features", None),
                     "parameters": _parameter_shapes(child)} for child in net.children()]
        results.append({"net": type(net).__name__, "classes": _classes(net), "children": children})
    return results


# -- materialize ------------------------------------------------------------------------------
#
# A spec is plain data, so that it can cross to the worker:
#   ["lazy", out]         nn.LazyLinear(out)
#   ["linear", in, out]   nn.Linear(in, out), already initialized
#   ["relu"]              nn.ReLU()
#   ["seq", [spec, ...]]  a nested nn.Sequential
# A network is nn.Sequential of a list of specs.


def build(specs: list[list[Any]]) -> tuple[nn.Sequential, list[nn.Linear]]:
    """The network, and its linear layers (lazy or not) in the order of the specs."""
    layers: list[nn.Linear] = []
    return nn.Sequential(*(_build(spec, layers) for spec in specs)), layers


def _build(spec: list[Any], layers: list[nn.Linear]) -> nn.Module:
    kind = spec[0]
    if kind == "seq":
        return nn.Sequential(*(_build(part, layers) for part in spec[1]))
    if kind == "relu":
        return nn.ReLU()
    layer = nn.LazyLinear(spec[1]) if kind == "lazy" else nn.Linear(spec[1], spec[2])
    layers.append(layer)
    return layer


def _returned(value: Any) -> dict[str, Any]:
    if isinstance(value, nn.Module):
        return {"module": type(value).__name__,
                "parameters": {name: _tensor(p) for name, p in value.named_parameters()}}
    return {"value": _tensor(value)}


@probe
def materialized(sub: Any, specs: list[list[Any]], example: torch.Tensor, seed: int) -> dict[str, Any]:
    """Seed, build the network of ``specs``, call ``materialize(net, example)``: what it
    raised or returned, each linear layer's weight and bias afterwards (None while still
    uninitialized) and the network's parameters (to compare with what was returned)."""
    seed_torch(seed)
    net, layers = build(specs)
    try:
        returned, raised = _returned(sub.materialize(net, example)), None
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - the judge explains it
        returned, raised = None, f"{type(exc).__name__}: {str(exc)[:400]}"
    return {
        "raised": raised,
        "returned": returned,
        "layers": [{"weight": _tensor(m.weight), "bias": _tensor(m.bias)} for m in layers],
        "parameters": {name: _tensor(p) for name, p in net.named_parameters()},
    }


# -- partly_lazy_mlp --------------------------------------------------------------------------


def _layer(name: str, child: nn.Module) -> dict[str, Any]:
    return {"name": name, "classes": _classes(child), "out_features": getattr(child, "out_features", None),
            "parameters": _parameter_shapes(child)}


@probe
def partly_lazy_runs(sub: Any, cases: list[list[Any]]) -> list[dict[str, Any]]:
    """For each (in_features, sizes, x): ``partly_lazy_mlp(in_features, sizes)`` described
    child by child before any forward (``before``), then after one forward on x (``after``),
    with that forward's output (or what it raised) and the parameters it was computed from."""
    results = []
    for in_features, sizes, x in cases:
        net = sub.partly_lazy_mlp(in_features, list(sizes))
        if not isinstance(net, nn.Module):
            results.append({"net": net, "classes": _classes(net), "before": None})
            continue
        before = [_layer(name, child) for name, child in net.named_children()]
        try:
            output, raised = net(x), None
        except NotImplementedError:
            raise
        except Exception as exc:  # noqa: BLE001 - the judge reports it
            output, raised = None, _raised(exc)
        results.append({
            "net": type(net).__name__, "classes": _classes(net), "before": before,
            "after": [_layer(name, child) for name, child in net.named_children()],
            "output": output, "raised": raised,
            "state": {name: _copy(p) for name, p in net.state_dict().items()},
        })
    return results
