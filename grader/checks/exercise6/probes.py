"""Probes for exercise6 (GPUs). They run in the worker, beside the submission.

No GPU is needed: ``simulated_gpus`` makes ``torch.cuda.device_count()`` answer n and
``torch.cuda.is_available()`` answer n > 0 while the student's code runs, and moves go to
the ``meta`` device, which every build of torch has. Objects cross as specs (plain data,
see the judges' docstring) that ``build`` and ``build_net`` turn into tensors, containers
and modules; what the student's code returns comes back described by ``describe``.

CUDA is touched only inside the probes of the real-GPU checks, when they run: never at
import, since the worker server imports this module before it forks the workers.
"""

from __future__ import annotations

import collections
import contextlib
import types
from collections.abc import Callable, Iterator
from functools import cache
from itertools import pairwise
from typing import Any

import torch
from torch import nn

from grader.authoring import probe

NAMEDTUPLE = "Batch"  # the class name of the named tuples the probes build
MAX_DEPTH = 10  # containers nested deeper than this are described as "other"
MAX_ITEMS = 100
TEXT_LIMIT = 120
DTYPES = {name: getattr(torch, name) for name in ("float32", "float64", "float16", "int64", "bool")}
MODULES: dict[str, Callable[[], nn.Module]] = {
    "linear": lambda: nn.Linear(3, 2),
    "batchnorm": lambda: nn.BatchNorm1d(3),
    "stats": lambda: nn.BatchNorm1d(3, affine=False),  # buffers only
    "mlp": lambda: nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2)),
}
PARAMETERLESS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "empty": nn.Sequential,
    "flatten": lambda: nn.Sequential(nn.Flatten(), nn.ReLU(), nn.Dropout(0.5)),
}


# -- simulated GPUs -------------------------------------------------------------------


@contextlib.contextmanager
def simulated_gpus(sub: Any, count: int) -> Iterator[None]:
    """While inside, ``torch.cuda.device_count()`` is ``count`` and ``is_available()`` is
    ``count > 0``, also where the submission imported them by name; restored on the way out."""
    cuda = torch.cuda
    originals = {"device_count": cuda.device_count, "is_available": cuda.is_available}
    fakes = {"device_count": lambda: count, "is_available": lambda: count > 0}
    names = _submission_globals(sub)
    aliases = {
        name: key
        for name, value in list(names.items())
        for key, original in originals.items()
        if value is original
    }
    try:
        for key, fake in fakes.items():
            setattr(cuda, key, fake)
        for name, key in aliases.items():
            names[name] = fakes[key]
        yield
    finally:
        for key, original in originals.items():
            setattr(cuda, key, original)
        for name, key in aliases.items():
            names[name] = originals[key]


def _submission_globals(sub: Any) -> dict[str, Any]:
    """The submission's global names (``from torch.cuda import device_count`` puts one there)."""
    module = vars(sub).get("_module", sub)  # a worker's Namespace wraps the module
    return vars(module) if isinstance(module, types.ModuleType) else {}


def _cuda() -> bool:
    """Whether this machine really has a GPU (asked only by the real-GPU probes)."""
    return bool(torch.cuda.is_available())


# -- describing what the student's code returned --------------------------------------


def qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _text(value: Any) -> str:
    try:
        text = str(value) if isinstance(value, (str, torch.device)) else repr(value)
    except Exception:  # noqa: BLE001 - a student's __repr__ may raise anything
        text = f"<{type(value).__name__}>"
    return text if len(text) <= TEXT_LIMIT else text[:TEXT_LIMIT] + "…"


def describe_device(value: Any) -> dict[str, str]:
    """``{"type": "torch.device", "text": "cuda:1"}``; a string gives type ``builtins.str``."""
    return {"type": qualified(type(value)), "text": _text(value)}


def describe_devices(value: Any) -> dict[str, Any]:
    """A list or tuple of devices item by item; anything else as a type and a text."""
    if isinstance(value, (list, tuple)):
        return {"type": type(value).__name__, "items": [describe_device(d) for d in value[:MAX_ITEMS]]}
    return {"type": qualified(type(value)), "items": None, "text": _text(value)}


def describe_tensor(tensor: torch.Tensor) -> dict[str, Any]:
    return {"kind": "tensor", "type": type(tensor).__name__, "device": str(tensor.device),
            "shape": list(tensor.shape), "dtype": str(tensor.dtype).removeprefix("torch.")}


def describe(obj: Any, depth: int = 0) -> dict[str, Any]:
    """Plain data for ``obj``: container type names with their items (and keys, and a
    named tuple's fields), and for each tensor, parameter and buffer its device, shape
    and dtype."""
    if isinstance(obj, torch.Tensor):
        return describe_tensor(obj)
    if isinstance(obj, nn.Module):
        return {"kind": "module", "type": type(obj).__name__,
                "parameters": {name: describe_tensor(p) for name, p in obj.named_parameters()},
                "buffers": {name: describe_tensor(b) for name, b in obj.named_buffers()}}
    if depth < MAX_DEPTH and isinstance(obj, (list, tuple)):
        fields = getattr(obj, "_fields", None) if isinstance(obj, tuple) else None
        return {"kind": "sequence", "type": type(obj).__name__,
                "fields": [str(f) for f in fields] if isinstance(fields, tuple) else [],
                "items": [describe(item, depth + 1) for item in list(obj)[:MAX_ITEMS]]}
    if depth < MAX_DEPTH and isinstance(obj, dict):
        pairs = list(obj.items())[:MAX_ITEMS]
        return {"kind": "mapping", "type": type(obj).__name__, "keys": [str(k) for k, _ in pairs],
                "items": [describe(v, depth + 1) for _, v in pairs]}
    return {"kind": "other", "type": type(obj).__name__, "text": _text(obj)}


def outcome(fn: Callable[[Any], Any], arg: Any) -> dict[str, Any]:
    """What ``fn(arg)`` did: ``{"returned": device}`` or ``{"raised": [class names of the
    exception, most specific first], "message": str}``. NotImplementedError propagates, so
    the unsolved stub counts as not implemented."""
    try:
        value = fn(arg)
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - raising is what some checks ask for
        return {"raised": [qualified(c) for c in type(exc).__mro__], "message": _text(str(exc))}
    return {"returned": describe_device(value)}


def _consult(fn: Callable[..., Any], *args: Any) -> None:
    """Run the student's ``fn`` for its NotImplementedError alone (a subclass of
    RuntimeError, so it must be let through before anything else is swallowed)."""
    try:
        fn(*args)
    except NotImplementedError:
        raise
    except Exception:  # noqa: BLE001, S110 - what it does is other checks' business
        pass


# -- building the inputs --------------------------------------------------------------


@cache
def _namedtuple(fields: tuple[str, ...]) -> type:
    return collections.namedtuple(NAMEDTUPLE, fields)


def build(spec: dict[str, Any]) -> Any:
    """The object a spec stands for, on the CPU."""
    kind = spec["kind"]
    if kind == "tensor":
        return torch.zeros(spec["shape"], dtype=DTYPES[spec["dtype"]])
    if kind == "value":  # a number, a string, a bool or None: it comes back unchanged
        return spec["value"]
    if kind == "module":
        return MODULES[spec["name"]]()
    items = spec["items"]
    if kind == "list":
        return [build(item) for item in items]
    if kind == "tuple":
        return tuple(build(item) for item in items)
    if kind == "namedtuple":
        return _namedtuple(tuple(spec["fields"]))(*(build(item) for item in items))
    if kind == "dict":
        return {key: build(item) for key, item in items.items()}
    if kind == "ordereddict":
        return collections.OrderedDict((key, build(item)) for key, item in items.items())
    raise ValueError(f"unknown spec kind {kind!r}")


def _place(net: nn.Module, name: str, tensor: torch.Tensor) -> None:
    owner, _, attr = name.rpartition(".")
    setattr(net.get_submodule(owner), attr, tensor)


def build_net(spec: dict[str, Any]) -> nn.Module:
    """A net for ``model_device``: ``{"kind": "relu" | "empty" | "flatten"}`` (no
    parameters), ``{"kind": "stats", "buffers": device}`` (buffers only), or
    ``{"kind": "mlp", "widths", "bias", "norm", "devices", "buffers"}``: Linear layers of
    the given widths with ReLU between, a BatchNorm1d at the end if ``norm``, the i-th
    parameter (in ``named_parameters()`` order) on ``devices[i]``, every buffer on ``buffers``."""
    kind = spec["kind"]
    if kind in PARAMETERLESS:
        return PARAMETERLESS[kind]()
    if kind == "stats":
        return MODULES["stats"]().to(spec["buffers"])
    widths, layers = spec["widths"], []
    for k, (fan_in, fan_out) in enumerate(pairwise(widths)):
        layers += [nn.ReLU()] if k else []
        layers.append(nn.Linear(fan_in, fan_out, bias=spec["bias"]))
    if spec["norm"]:
        layers.append(nn.BatchNorm1d(widths[-1]))
    net = nn.Sequential(*layers)
    for (name, param), device in zip(list(net.named_parameters()), spec["devices"], strict=True):
        _place(net, name, nn.Parameter(param.detach().to(device)))
    for name, buffer in list(net.named_buffers()):
        _place(net, name, buffer.to(spec["buffers"]))
    return net


# -- probes ---------------------------------------------------------------------------


@probe
def try_gpu_results(sub: Any, cases: list[list[Any]]) -> list[dict[str, str]]:
    """For each ``[count, i]``: ``try_gpu(i)`` (``try_gpu()`` when i is None) with
    ``count`` simulated GPUs."""
    try_gpu = sub.try_gpu
    results = []
    for count, i in cases:
        with simulated_gpus(sub, count):
            device = try_gpu() if i is None else try_gpu(i)
        results.append(describe_device(device))
    return results


@probe
def try_all_gpus_results(sub: Any, counts: list[int]) -> list[dict[str, Any]]:
    """``try_all_gpus()`` with each count of simulated GPUs."""
    try_all_gpus = sub.try_all_gpus
    results = []
    for count in counts:
        with simulated_gpus(sub, count):
            devices = try_all_gpus()
        results.append(describe_devices(devices))
    return results


def _moved(sub: Any, specs: list[dict[str, Any]], device: str) -> list[dict[str, Any]]:
    to_device, target = sub.to_device, torch.device(device)
    return [describe(to_device(build(spec), target)) for spec in specs]


@probe
def to_device_results(sub: Any, specs: list[dict[str, Any]], device: str) -> list[dict[str, Any]]:
    """``to_device(obj, torch.device(device))`` for the object of each spec, described."""
    return _moved(sub, specs, device)


@probe
def to_device_on_gpu(sub: Any, specs: list[dict[str, Any]]) -> dict[str, Any]:
    """Like ``to_device_results`` to cuda:0, where there is a GPU. The student's code runs
    first on every machine, so that an unsolved stub is "not implemented" everywhere."""
    _consult(sub.to_device, torch.zeros(1), torch.device("cpu"))
    if not _cuda():
        return {"cuda": False}
    return {"cuda": True, "results": _moved(sub, specs, "cuda:0")}


@probe
def model_device_outcomes(sub: Any, specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What ``model_device(net)`` returned or raised, for the net of each spec."""
    model_device = sub.model_device
    return [outcome(model_device, build_net(spec)) for spec in specs]


@probe
def model_device_on_gpu(sub: Any, specs: list[dict[str, Any]]) -> dict[str, Any]:
    """Like ``model_device_outcomes``, for nets on the GPU, where there is one; the
    student's code runs first on every machine (see ``to_device_on_gpu``)."""
    _consult(sub.model_device, nn.Linear(2, 2))
    if not _cuda():
        return {"cuda": False}
    return {"cuda": True, "outcomes": model_device_outcomes(sub, specs)}
