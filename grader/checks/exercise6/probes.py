"""Probes for exercise6 (GPUs). They run in the worker, beside the submission.

No GPU is needed: ``simulated_gpus`` makes ``torch.cuda.device_count()`` answer n and
``torch.cuda.is_available()`` answer n > 0 while the student's code runs, and moves go to
the ``meta`` device, which every build of torch has. The machine's own GPUs are hidden from
the student's code (the worker's CUDA_VISIBLE_DEVICES is empty), also while it loads, so a
count read at import is 0 on every machine; only the real-GPU probes show them
(``real_gpus``). Objects cross as specs (plain data, see the judges' docstring) that
``build`` and ``build_net`` turn into tensors, containers and modules; what the student's
code returns comes back described by ``describe``.

CUDA is touched only inside the probes of the real-GPU checks, when they run: never at
import, since the worker server imports this module before it forks the workers (CUDA
started there would be unusable in the workers, and would have started without the veil).
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

from grader.authoring import probe, real_gpus, seed_torch

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
    """Whether CUDA finds a real GPU (asked only by the real-GPU probes, inside ``real_gpus``:
    where the student's code started CUDA while the GPUs were hidden, it finds none)."""
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
    with real_gpus():
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
    with real_gpus():
        if not _cuda():
            return {"cuda": False}
        return {"cuda": True, "outcomes": model_device_outcomes(sub, specs)}


# -- load_params_to -------------------------------------------------------------------
#
# The probe writes the file itself (``torch.save`` of a state dict whose values the judge
# chose), so that load_params_to is judged alone. A file "saved on a GPU" is one whose
# tensors are recorded as cuda:0, as torch.save records a GPU tensor's: written here from
# CPU tensors, it needs no GPU, and with no GPU (simulated where there is one) torch.load
# refuses it unless told where to put the tensors (``map_location``).


@contextlib.contextmanager
def _recorded_as_gpu() -> Iterator[None]:
    """While inside, torch.save records every tensor as stored on cuda:0."""
    serialization = torch.serialization
    original = serialization.location_tag
    serialization.location_tag = lambda storage: "cuda:0"
    try:
        yield
    finally:
        serialization.location_tag = original


RAISED_LIMIT = 600  # load_state_dict names the cause (a meta tensor) after the parameter


def _state_file(state: dict[str, torch.Tensor], gpu: bool) -> str:
    path = "params.pt"  # in the worker's own folder; relative, so that no message names that folder
    with _recorded_as_gpu() if gpu else contextlib.nullcontext():
        torch.save(state, path)
    return path


@contextlib.contextmanager
def _cpu_backed_loads(sub: Any) -> Iterator[None]:
    """While inside, ``torch.load`` (also under the names the submission imported it by, and
    as ``torch.serialization.load``) puts every tensor on the CPU, whatever ``map_location``
    says: a state "loaded onto meta" then holds values a net still on the CPU can copy."""
    original = torch.serialization.load

    def cpu_load(f: Any, *args: Any, **kwargs: Any) -> Any:
        if args:
            args = ("cpu", *args[1:])
        else:
            kwargs["map_location"] = "cpu"
        return original(f, *args, **kwargs)

    names = _submission_globals(sub)
    aliases = [name for name, value in list(names.items()) if value is original]
    try:
        torch.load = torch.serialization.load = cpu_load
        for name in aliases:
            names[name] = cpu_load
        yield
    finally:
        torch.load = torch.serialization.load = original
        for name in aliases:
            names[name] = original


def _meta_copy_failure(raised: str | None) -> bool:
    return raised is not None and "Cannot copy out of meta tensor" in raised


def _call_load_params_to(sub: Any, name: str, path: str, device: torch.device,
                         cpu_backed: bool) -> dict[str, Any]:
    seed_torch(12345)  # the fresh net's values differ from the saved ones
    net = MODULES[name]()
    try:
        with simulated_gpus(sub, 0), _cpu_backed_loads(sub) if cpu_backed else contextlib.nullcontext():
            returned = sub.load_params_to(path, net, device)
    except NotImplementedError as exc:
        if "meta tensor" not in str(exc):  # copying out of a meta tensor raises NotImplementedError too
            raise
        return {"raised": f"{type(exc).__name__}: {str(exc)[:RAISED_LIMIT]}"}
    except Exception as exc:  # noqa: BLE001 - the judge explains it
        return {"raised": f"{type(exc).__name__}: {str(exc)[:RAISED_LIMIT]}"}
    state = {key: value.detach().to("cpu") if value.device.type != "meta" else None
             for key, value in net.state_dict().items()}
    return {"raised": None, "returned": "None" if returned is None else type(returned).__name__,
            "is_given": returned is net, "net": describe(net), "state": state}


def _loaded_to(sub: Any, name: str, path: str, device: torch.device) -> dict[str, Any]:
    """``load_params_to(path, net, device)`` with 0 simulated GPUs, for a fresh ``MODULES[name]``:
    what it returned or raised, and the net it was given, described (values on the CPU).

    To ``meta``, loading the state first and moving the net after is right all the same but
    fails (a net still on the CPU cannot copy out of meta tensors, which hold no values): on
    that failure the call is made again on a fresh net with ``torch.load`` putting the state
    on the CPU (``_cpu_backed_loads``), where only the placement is judged; ``retried`` says so.
    A net that is never moved then stays on the CPU and fails as it would on a GPU."""
    result = _call_load_params_to(sub, name, path, device, cpu_backed=False)
    if device.type == "meta" and _meta_copy_failure(result["raised"]):
        again = _call_load_params_to(sub, name, path, device, cpu_backed=True)
        if again["raised"] is None:
            return {**again, "retried": True}
    return result


@probe
def params_loaded_to(sub: Any, cases: list[list[Any]], device: str, gpu_file: bool) -> list[dict[str, Any]]:
    """For each (module name, state): the state saved to a file (recorded as on cuda:0 if
    ``gpu_file``), then ``load_params_to(path, fresh net, torch.device(device))``."""
    results = []
    for name, state in cases:
        path = _state_file(state, gpu_file)
        results.append(_loaded_to(sub, name, path, torch.device(device)))
    return results


@probe
def params_loaded_to_gpu(sub: Any, cases: list[list[Any]]) -> dict[str, Any]:
    """Like ``params_loaded_to`` to a real cuda:0, from a file truly saved there, where there
    is a GPU; the student's code runs first on every machine (see ``to_device_on_gpu``)."""
    _consult(sub.load_params_to, _state_file(cases[0][1], False), MODULES[cases[0][0]](), torch.device("cpu"))
    with real_gpus():
        if not _cuda():
            return {"cuda": False}
        results = []
        for name, state in cases:
            path = "params.pt"
            torch.save({key: value.to("cuda:0") for key, value in state.items()}, path)
            seed_torch(12345)
            net = MODULES[name]()
            returned = sub.load_params_to(path, net, torch.device("cuda:0"))
            results.append({"returned": type(returned).__name__, "is_given": returned is net,
                            "net": describe(net),
                            "state": {key: value.detach().to("cpu") for key, value in net.state_dict().items()}})  # noqa: E501
        return {"cuda": True, "results": results}
