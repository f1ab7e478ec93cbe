"""Judges for exercise6 (GPUs). They run in the grader's process, never beside student
code: each asks a probe for plain data and decides from it.

Every scored check runs on a machine without a GPU: GPU counts are simulated (0, 1 and 4
GPUs) and moves go to the ``meta`` device. The checks that need a real GPU carry no
points; where there is none they are skipped ("not run: no GPU"), so the maximum score is
the same on every machine. They judge only what the meta checks cannot see (that the code
works with a real ``cuda:0``), so a submission's score and failures are machine-independent.

Objects cross to the probes as specs, plain data the probes build them from:

    {"kind": "tensor", "shape": [2, 3], "dtype": "int64"}         torch.zeros(2, 3, dtype=torch.int64)
    {"kind": "module", "name": "mlp"}                              MODULES["mlp"] below
    {"kind": "list" | "tuple", "items": [spec, ...]}
    {"kind": "namedtuple", "fields": ["x", "y"], "items": [spec, spec]}    Batch(x=..., y=...)
    {"kind": "dict" | "ordereddict", "items": {key: spec, ...}}

and what ``to_device`` returned comes back described (``probes.describe``). Nets for
``model_device`` are specs too (``probes.build_net``).
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise
from typing import Any

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from grader.authoring import budget, check, choice, expect, paired, shapes, show, shown_as
from grader.checks.exercise6 import probes

DEVICE = "torch.device"  # the qualified type name of a torch.device
COUNTS = (0, 1, 4)  # simulated numbers of GPUs
INDICES = (None, 0, 1, 2, 3, 4)  # None: try_gpu() with its default
META = "meta"

# -- try_gpu and try_all_gpus ----------------------------------------------------------------


def _call(i: int | None) -> str:
    return "try_gpu()" if i is None else f"try_gpu({i})"


def _gpus(count: int) -> str:
    return f"{count} GPU{'' if count == 1 else 's'} (simulated: torch.cuda.device_count() returned {count})"


def _shown(device: dict[str, str]) -> str:
    if device["type"] == DEVICE:
        return f"torch.device({device['text']!r})"
    if device["type"] == "builtins.str":
        return f"the string {device['text']!r}"
    return f"{device['type'].removeprefix('builtins.')} {device['text']}"


def _listing(result: dict[str, Any]) -> str:
    if result["items"] is None:
        return f"{result['type'].removeprefix('builtins.')} {result['text']}"
    inner = ", ".join(_shown(d) for d in result["items"])
    return f"[{inner}]" if result["type"] == "list" else f"{result['type']} [{inner}]"


def _try_gpu_cases() -> list[list[int | None]]:
    return [[count, i] for count in COUNTS for i in INDICES]


@check("try_gpu", "returns a torch.device", points=1,
       hint="return torch.device(f'cuda:{i}') or torch.device('cpu'), not a string")
def test_try_gpu_returns_devices(submission):
    cases = _try_gpu_cases()
    results = submission.run(probes.try_gpu_results, cases)
    for (count, i), got in paired(cases, results):
        expect(got["type"] == DEVICE,
               lambda: f"{_call(i)} with {_gpus(count)} should return a torch.device, got {_shown(got)}")


@check("try_gpu", "is cuda:i when at least i + 1 GPUs exist, else cpu", points=2,
       hint="compare i with torch.cuda.device_count(), asked each time try_gpu runs")
def test_try_gpu_choice(submission):
    cases = _try_gpu_cases()
    results = submission.run(probes.try_gpu_results, cases)
    for (count, i), got in paired(cases, results):
        index = 0 if i is None else i
        expected = f"cuda:{index}" if index < count else "cpu"
        expect(got["text"] == expected,
               lambda: f"{_call(i)} with {_gpus(count)} should be torch.device({expected!r}), got "
                       f"{_shown(got)}")


@check("try_all_gpus", "returns a list of torch.device", points=1,
       hint="build torch.device objects, not strings")
def test_try_all_gpus_returns_devices(submission):
    results = submission.run(probes.try_all_gpus_results, list(COUNTS))
    for count, got in paired(list(COUNTS), results):
        expect(got["items"] is not None and all(d["type"] == DEVICE for d in got["items"]),
               lambda: f"try_all_gpus() with {_gpus(count)} should return a list of torch.device, "
               f"got {_listing(got)}")


def _texts(result: dict[str, Any]) -> list[str] | None:
    return None if result["items"] is None else [d["text"] for d in result["items"]]


@check("try_all_gpus", "lists cuda:0 … cuda:n-1 in order", points=2,
       hint="one device per i in range(torch.cuda.device_count())")
def test_try_all_gpus_lists_every_gpu(submission):
    counts = [count for count in COUNTS if count > 0]
    results = submission.run(probes.try_all_gpus_results, counts)
    for count, got in paired(counts, results):
        expected = [f"cuda:{k}" for k in range(count)]
        expect(_texts(got) == expected,
               lambda: f"try_all_gpus() with {_gpus(count)} should list the devices {expected}, got "
                       f"{_listing(got)}")


# -- to_device: specs, their rendering, and what a result must look like ----------------------

DTYPES = ("float32", "float64", "float16", "int64", "bool")
KEYS = ("x", "y", "label", "mask")
FIELDS = ("x", "y", "z")
PLAIN = ("list", "tuple", "dict")
ALL_CONTAINERS = (*PLAIN, "namedtuple", "ordereddict")
TYPE_NAMES = {"list": "list", "tuple": "tuple", "dict": "dict", "ordereddict": "OrderedDict",
              "namedtuple": probes.NAMEDTUPLE}

# What each of probes.MODULES is and holds: name -> (shape, dtype), for parameters and buffers.
_BN3 = {"running_mean": ([3], "float32"), "running_var": ([3], "float32"),
        "num_batches_tracked": ([], "int64")}
MODULES: dict[str, dict[str, Any]] = {
    "linear": {"text": "nn.Linear(3, 2)", "type": "Linear",
               "parameters": {"weight": ([2, 3], "float32"), "bias": ([2], "float32")}, "buffers": {}},
    "batchnorm": {"text": "nn.BatchNorm1d(3)", "type": "BatchNorm1d",
                  "parameters": {"weight": ([3], "float32"), "bias": ([3], "float32")}, "buffers": _BN3},
    "stats": {"text": "nn.BatchNorm1d(3, affine=False)", "type": "BatchNorm1d", "parameters": {},
              "buffers": _BN3},
    "mlp": {"text": "nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))",
            "type": "Sequential",
            "parameters": {"0.weight": ([4, 3], "float32"), "0.bias": ([4], "float32"),
                           "1.weight": ([4], "float32"), "1.bias": ([4], "float32"),
                           "3.weight": ([2, 4], "float32"), "3.bias": ([2], "float32")},
            "buffers": {"1.running_mean": ([4], "float32"), "1.running_var": ([4], "float32"),
                        "1.num_batches_tracked": ([], "int64")}},
}

tensor_specs = st.builds(lambda shape, dtype: {"kind": "tensor", "shape": list(shape), "dtype": dtype},
                         shapes(0, 3, max_side=3), st.sampled_from(DTYPES))
module_specs = st.sampled_from(sorted(MODULES)).map(lambda name: {"kind": "module", "name": name})
# Neither tensors nor modules: to_device gives them back unchanged.
value_specs = st.sampled_from([3, 0.5, "label", None, True]).map(lambda value: {"kind": "value", "value": value})  # noqa: E501


def _containers(children: st.SearchStrategy, kinds: tuple[str, ...]) -> st.SearchStrategy:
    makers = {
        "list": st.lists(children, max_size=3).map(lambda items: {"kind": "list", "items": items}),
        "tuple": st.lists(children, max_size=3).map(lambda items: {"kind": "tuple", "items": items}),
        "dict": st.dictionaries(st.sampled_from(KEYS), children, max_size=3)
                  .map(lambda items: {"kind": "dict", "items": items}),
        "ordereddict": st.dictionaries(st.sampled_from(KEYS), children, max_size=3)
                         .map(lambda items: {"kind": "ordereddict", "items": items}),
        "namedtuple": st.lists(children, min_size=1, max_size=len(FIELDS))
                        .map(lambda items: {"kind": "namedtuple", "fields": list(FIELDS[:len(items)]),
                                            "items": items}),
    }
    return st.one_of(*(makers[kind] for kind in kinds))


def structures(kinds: tuple[str, ...], values: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    """Tensors (and other ``values``) nested in containers of the given kinds; shrinks
    towards one tensor. Specs print as the Python that builds their object (``render``)."""
    leaves = st.one_of(tensor_specs, value_specs) if values else tensor_specs
    return st.recursive(leaves, lambda children: _containers(children, kinds), max_leaves=6).map(
        shown_as(render))


def containers(kinds: tuple[str, ...]) -> st.SearchStrategy[dict[str, Any]]:
    """Like ``structures`` with other values among the tensors, and a container at the top;
    shrinks towards an empty one."""
    return _containers(structures(kinds, values=True), kinds).map(shown_as(render))


def module_structures() -> st.SearchStrategy[dict[str, Any]]:
    """A module, alone or beside a tensor in a list or a dict."""
    return st.one_of(  # printed as the Python that builds the object
        module_specs,
        st.tuples(module_specs, tensor_specs).map(lambda pair: {"kind": "list", "items": list(pair)}),
        st.tuples(module_specs, tensor_specs).map(
            lambda pair: {"kind": "dict", "items": {"model": pair[0], "x": pair[1]}}),
    ).map(shown_as(render))


def render(spec: dict[str, Any]) -> str:
    """Python that builds the object of ``spec`` (``Batch`` is a namedtuple of its fields)."""
    kind = spec["kind"]
    if kind == "value":
        return repr(spec["value"])
    if kind == "tensor":
        shape = ", ".join(str(side) for side in spec["shape"]) or "()"
        dtype = "" if spec["dtype"] == "float32" else f", dtype=torch.{spec['dtype']}"
        return f"torch.zeros({shape}{dtype})"
    if kind == "module":
        return MODULES[spec["name"]]["text"]
    items = spec["items"]
    if kind in ("dict", "ordereddict"):
        body = "{" + ", ".join(f"{key!r}: {render(item)}" for key, item in items.items()) + "}"
        return body if kind == "dict" else f"OrderedDict({body})"
    if kind == "namedtuple":
        inner = ", ".join(f"{field}={render(item)}"
                          for field, item in zip(spec["fields"], items, strict=True))
        return f"{probes.NAMEDTUPLE}({inner})"
    inner = ", ".join(render(item) for item in items)
    if kind == "tuple":
        return f"({inner},)" if len(items) == 1 else f"({inner})"
    return f"[{inner}]"


def _described(desc: dict[str, Any] | None) -> str:
    """What a described result is, in words."""
    if desc is None:
        return "nothing there"
    kind = desc.get("kind")
    if kind == "tensor":
        return f"a tensor on {desc['device']} of shape {tuple(desc['shape'])} and dtype {desc['dtype']}"
    if kind == "module":
        return f"a module {desc['type']}"
    if kind in ("sequence", "mapping"):
        fields = f" (a namedtuple with fields {', '.join(desc['fields'])})" if desc.get("fields") else ""
        return f"a {desc['type']}{fields}"
    return f"{desc.get('type')} {desc.get('text', '')}".strip()


def _expected_container(spec: dict[str, Any]) -> str:
    kind = spec["kind"]
    if kind == "namedtuple":
        return f"a {probes.NAMEDTUPLE} (a namedtuple with fields {', '.join(spec['fields'])})"
    return f"a {TYPE_NAMES[kind]}"


def spec_leaves(spec: dict[str, Any], path: str = "obj") -> Iterator[tuple[str, dict[str, Any]]]:
    """(path, spec) of every tensor and module, such as ``obj[0]['x']``."""
    if spec["kind"] == "value":
        return
    if spec["kind"] in ("tensor", "module"):
        yield path, spec
        return
    items = spec["items"]
    pairs = items.items() if isinstance(items, dict) else enumerate(items)
    for key, item in pairs:
        yield from spec_leaves(item, f"{path}[{key!r}]")


def found_leaves(desc: dict[str, Any], path: str = "obj") -> dict[str, dict[str, Any]]:
    """Path -> description of everything that is not a list, tuple or dict in a result.
    Paths ignore container types, so a tuple returned as a list still matches (the type
    is another check's business)."""
    kind, found = desc.get("kind"), {}
    if kind == "sequence":
        for index, item in enumerate(desc["items"]):
            found.update(found_leaves(item, f"{path}[{index}]"))
    elif kind == "mapping":
        for key, item in zip(desc["keys"], desc["items"], strict=True):
            found.update(found_leaves(item, f"{path}[{key!r}]"))
    else:
        found[path] = desc
    return found


def _where(path: str) -> str:
    return "the result" if path == "obj" else f"the result's {path.removeprefix('obj')}"


def _moved_to(device: str) -> str:
    return f"to_device(obj, torch.device({device!r}))"


def tensor_problem(got: dict[str, Any] | None, spec: dict[str, Any], path: str, device: str) -> str | None:
    """Why the result at ``path`` is not the tensor of ``spec`` moved to ``device``."""
    shape, dtype = spec["shape"], spec["dtype"]
    if (got is not None and got.get("kind") == "tensor" and got["device"] == device
            and got["shape"] == shape and got["dtype"] == dtype):
        return None
    return (f"{_where(path)} should be a tensor on {device} of shape {tuple(shape)} and dtype {dtype}, "
            f"got {_described(got)}")


def module_problem(got: dict[str, Any] | None, name: str, path: str, device: str) -> str | None:
    """Why the result at ``path`` is not MODULES[name] with everything on ``device``."""
    expected = MODULES[name]
    if got is None or got.get("kind") != "module" or got["type"] != expected["type"]:
        return f"{_where(path)} should be the module {expected['text']}, got {_described(got)}"
    for group, singular in (("parameters", "parameter"), ("buffers", "buffer")):
        held = got[group]
        if sorted(held) != sorted(expected[group]):
            return (f"the {group} of {_where(path)} ({expected['text']}) should be "
                    f"{sorted(expected[group])}, got {sorted(held)}")
        for key, (shape, dtype) in expected[group].items():
            tensor = held[key]
            if tensor["device"] != device or tensor["shape"] != shape or tensor["dtype"] != dtype:
                return (f"the {singular} {key!r} of {_where(path)} ({expected['text']}) should be on "
                        f"{device} with shape {tuple(shape)} and dtype {dtype}, got {_described(tensor)}")
    return None


def container_problem(spec: dict[str, Any], got: dict[str, Any], path: str = "obj") -> str | None:
    """Why the containers of a result are not those of ``spec`` (types, keys, lengths).
    What became of the tensors and modules inside is the other checks' business."""
    kind = spec["kind"]
    if kind == "value":
        value = spec["value"]
        if got.get("kind") == "other" and got.get("type") == type(value).__name__ and got.get("text") == (
                value if isinstance(value, str) else repr(value)):
            return None
        return f"{_where(path)} should be {value!r}, unchanged (only tensors and modules move), got {_described(got)}"  # noqa: E501
    if kind in ("tensor", "module"):
        return None
    fields_ok = kind != "namedtuple" or got.get("fields") == spec["fields"]
    if got.get("kind") not in ("sequence", "mapping") or got.get("type") != TYPE_NAMES[kind] or not fields_ok:
        return f"{_where(path)} should be {_expected_container(spec)}, got {_described(got)}"
    items = spec["items"]
    if isinstance(items, dict):
        keys = list(items)
        same = got["keys"] == keys if kind == "ordereddict" else sorted(got["keys"]) == sorted(keys)
        if got["kind"] != "mapping" or not same:
            return f"{_where(path)} should have the keys {keys}, got {got.get('keys')}"
        by_key = dict(zip(got["keys"], got["items"], strict=True))
        pairs = [(f"{path}[{key!r}]", item, by_key[key]) for key, item in items.items()]
    else:
        if got["kind"] != "sequence" or len(got["items"]) != len(items):
            return f"{_where(path)} should have {len(items)} items, got {len(got.get('items', []))}"
        pairs = [(f"{path}[{k}]", item, got["items"][k]) for k, item in enumerate(items)]
    for where, item, found in pairs:
        problem = container_problem(item, found, where)
        if problem:
            return problem
    return None


# -- to_device -----------------------------------------------------------------------


@check("to_device", "moves every tensor, keeping shape and dtype", points=2,
       hint="tensor.to(device) returns the moved tensor; recurse into lists, tuples and dicts")
@budget(12)
@given(objs=st.lists(structures(PLAIN), min_size=1, max_size=4))
def test_to_device_moves_tensors(submission, objs):
    results = submission.run(probes.to_device_results, objs, META)
    for spec, got in paired(objs, results):
        found = found_leaves(got)
        for path, leaf in spec_leaves(spec):
            problem = tensor_problem(found.get(path), leaf, path, META)
            expect(problem is None, lambda: f"{_moved_to(META)}: {problem}\n  on input obj = {render(spec)}")


@check("to_device", "returns every container as the same type", points=2,
       hint="rebuild a container with type(obj)(...): type(obj)(*items) for a named tuple")
@budget(15)
@given(objs=st.lists(containers(ALL_CONTAINERS), min_size=1, max_size=4))
def test_to_device_keeps_containers(submission, objs):
    results = submission.run(probes.to_device_results, objs, META)
    for spec, got in paired(objs, results):
        problem = container_problem(spec, got)
        expect(problem is None, lambda: f"{_moved_to(META)}: {problem}\n  on input obj = {render(spec)}")
        # The input itself, unmoved, has every container right: the tensors must move too.
        found = found_leaves(got)
        unmoved = [path for path, leaf in spec_leaves(spec) if (found.get(path) or {}).get("device") != META]
        expect(not unmoved, lambda: f"{_moved_to(META)}: the containers are right, but {_where(unmoved[0])} is "  # noqa: E501
               f"{_described(found.get(unmoved[0]))}, not moved to {META}\n  on input obj = {render(spec)}")


@check("to_device", "moves a module's parameters and buffers", points=2,
       hint="module.to(device) moves both; buffers such as a BatchNorm's running_mean are not parameters")
@budget(8)
@given(objs=st.lists(module_structures(), min_size=1, max_size=3))
def test_to_device_moves_modules(submission, objs):
    results = submission.run(probes.to_device_results, objs, META)
    for spec, got in paired(objs, results):
        found = found_leaves(got)
        for path, leaf in spec_leaves(spec):
            if leaf["kind"] == "module":
                problem = module_problem(found.get(path), leaf["name"], path, META)
                expect(problem is None, lambda: f"{_moved_to(META)}: {problem}\n  on input obj = {render(spec)}")  # noqa: E501


GPU_OBJECT = {"kind": "list", "items": [{"kind": "tensor", "shape": [2, 3], "dtype": "float32"},
                                        {"kind": "module", "name": "linear"}]}


@check("to_device", "moves a tensor and a module to a real GPU (cuda:0)", points=0)
def test_to_device_on_gpu(submission):
    result = submission.run(probes.to_device_on_gpu, [GPU_OBJECT])
    if not result["cuda"]:
        pytest.skip("no GPU")
    for spec, got in paired([GPU_OBJECT], result["results"]):
        found = found_leaves(got)
        for path, leaf in spec_leaves(spec):
            if leaf["kind"] == "tensor":
                problem = tensor_problem(found.get(path), leaf, path, "cuda:0")
            else:
                problem = module_problem(found.get(path), leaf["name"], path, "cuda:0")
            expect(problem is None,
                   lambda: f"{_moved_to('cuda:0')}: {problem}\n  on input obj = {render(spec)}")


# -- model_device --------------------------------------------------------------------

DEVICES = ("cpu", META)


def parameter_names(spec: dict[str, Any]) -> list[str]:
    """The ``named_parameters()`` names of the "mlp" net of ``spec`` (see probes.build_net)."""
    names, index = [], 0
    for k in range(len(spec["widths"]) - 1):
        index += 1 if k else 0  # the ReLU between two Linear layers
        names += [f"{index}.weight"] + ([f"{index}.bias"] if spec["bias"] else [])
        index += 1
    if spec["norm"]:
        names += [f"{index}.weight", f"{index}.bias"]
    return names


def render_net(spec: dict[str, Any]) -> str:
    kind = spec["kind"]
    if kind == "relu":
        return "nn.ReLU()"
    if kind == "empty":
        return "nn.Sequential()"
    if kind == "flatten":
        return "nn.Sequential(nn.Flatten(), nn.ReLU(), nn.Dropout(0.5))"
    if kind == "stats":
        return f"{MODULES['stats']['text']} with its buffers on {spec['buffers']}"
    widths, layers = spec["widths"], []
    for k, (fan_in, fan_out) in enumerate(pairwise(widths)):
        layers += ["nn.ReLU()"] if k else []
        layers.append(f"nn.Linear({fan_in}, {fan_out}{'' if spec['bias'] else ', bias=False'})")
    if spec["norm"]:
        layers.append(f"nn.BatchNorm1d({widths[-1]})")
    devices = spec["devices"]
    if len(set(devices)) == 1:
        where = f"every parameter on {devices[0]}"
    else:
        where = "parameters " + ", ".join(f"{n} on {d}"
                                          for n, d in zip(parameter_names(spec), devices, strict=True))
    buffers = f" and buffers on {spec['buffers']}" if spec["norm"] else ""
    return f"nn.Sequential({', '.join(layers)}) with {where}{buffers}"


def _mlp(widths: list[int], bias: bool, norm: bool, devices: list[str], buffers: str) -> dict[str, Any]:
    return {"kind": "mlp", "widths": widths, "bias": bias, "norm": norm, "devices": devices,
            "buffers": buffers}


def parameter_count(widths: list[int], bias: bool, norm: bool) -> int:
    return (len(widths) - 1) * (2 if bias else 1) + (2 if norm else 0)


@st.composite
def nets(draw: st.DrawFn, split: bool) -> dict[str, Any]:
    """An "mlp" net spec with every parameter on one device (its buffers there too), or,
    if ``split``, its parameters on both cpu and meta."""
    widths = draw(st.lists(st.integers(1, 4), min_size=2, max_size=3))
    bias, norm = draw(st.booleans()), draw(st.booleans())
    if split and parameter_count(widths, bias, norm) < 2:
        bias = True
    count = parameter_count(widths, bias, norm)
    if not split:
        device = draw(choice(DEVICES))
        return shown_as(render_net)(_mlp(widths, bias, norm, [device] * count, device))
    devices = draw(st.lists(choice(DEVICES), min_size=count, max_size=count))
    if len(set(devices)) == 1:
        flip = draw(st.integers(0, count - 1))
        devices[flip] = META if devices[flip] == "cpu" else "cpu"
    buffers = draw(choice(DEVICES)) if norm else "cpu"
    return shown_as(render_net)(_mlp(widths, bias, norm, devices, buffers))


def _outcome(got: dict[str, Any]) -> str:
    if "raised" in got:
        kind = got["raised"][0].removeprefix("builtins.")
        return f"it raised {kind}: {got['message']}" if got["message"] else f"it raised {kind}"
    return f"it returned {_shown(got['returned'])}"


def expect_device(got: dict[str, Any], spec: dict[str, Any], expected: str) -> None:
    """``model_device`` returned a device whose text is ``expected`` (a string passes here:
    the type is judged by its own check)."""
    returned = got.get("returned")
    expect(returned is not None and returned["text"] == expected,
           lambda: f"model_device(net) should be torch.device({expected!r}), but {_outcome(got)}"
           f"\n  on input net = {render_net(spec)}")


NO_PARAMETERS_CHECK = "model_device: raises ValueError for a net without parameters"


def expect_value_error(got: dict[str, Any], spec: dict[str, Any], why: str) -> None:
    raised = got.get("raised") or []
    # A net of buffers alone fails as a net without parameters does (next() on no parameters):
    # one mistake, which that check already charges; say so rather than blame the buffers.
    same = spec["kind"] == "stats" and "builtins.StopIteration" in raised
    expect("builtins.ValueError" in raised and bool(got.get("message")),
           lambda: f"model_device(net) should raise a ValueError with a message, since {why}, but "
                   f"{_outcome(got)}\n  on input net = {render_net(spec)}"
                   + (f"\n  (same cause as `{NO_PARAMETERS_CHECK}`: the buffers are not what trips it)"
                      if same else ""),
           hint="an empty set of devices is an error too (next() on no parameters raises StopIteration)"
           if same else None)


FIXED_NETS = [_mlp([3, 2], True, False, ["cpu", "cpu"], "cpu"),
              _mlp([3, 4, 2], True, True, [META] * 6, META)]
PARAMETERLESS = [{"kind": kind} for kind in sorted(probes.PARAMETERLESS)]
BUFFERED = [_mlp([3, 2], True, True, [META] * 4, "cpu"),
            _mlp([2, 3, 2], False, True, ["cpu"] * 4, META),
            {"kind": "stats", "buffers": "cpu"},
            {"kind": "stats", "buffers": META}]


@check("model_device", "returns a torch.device", points=1, hint="return p.device itself, not str(p.device)")
def test_model_device_returns_device(submission):
    results = submission.run(probes.model_device_outcomes, FIXED_NETS)
    for spec, got in paired(FIXED_NETS, results):
        returned = got.get("returned")
        expect(returned is not None and returned["type"] == DEVICE,
               lambda: f"model_device(net) should return a torch.device, but {_outcome(got)}"
               f"\n  on input net = {render_net(spec)}")


@check("model_device", "is the device of the parameters", points=2)
@budget(8)
@given(specs=st.lists(nets(split=False), min_size=1, max_size=4))
def test_model_device_finds_device(submission, specs):
    results = submission.run(probes.model_device_outcomes, specs)
    for spec, got in paired(specs, results):
        expect_device(got, spec, spec["devices"][0])


@check("model_device", "raises ValueError for a net without parameters", points=1,
       hint="an empty set of devices is an error too (next() on no parameters raises StopIteration)")
def test_model_device_no_parameters(submission):
    results = submission.run(probes.model_device_outcomes, PARAMETERLESS)
    for spec, got in paired(PARAMETERLESS, results):
        expect_value_error(got, spec, "it has no parameters")


@check("model_device", "ignores buffers", points=1,
       hint="look at net.parameters() only: buffers such as running_mean are not parameters")
def test_model_device_ignores_buffers(submission):
    results = submission.run(probes.model_device_outcomes, BUFFERED)
    for spec, got in paired(BUFFERED, results):
        if spec["kind"] == "stats":
            expect_value_error(got, spec, "it has buffers but no parameters")
        else:
            expect_device(got, spec, spec["devices"][0])


GPU_NET = _mlp([3, 2], True, False, ["cuda:0", "cuda:0"], "cuda:0")


@check("model_device", "finds a net on a real GPU (cuda:0)", points=0)
def test_model_device_on_gpu(submission):
    result = submission.run(probes.model_device_on_gpu, [GPU_NET])
    if not result["cuda"]:
        pytest.skip("no GPU")
    for spec, got in paired([GPU_NET], result["outcomes"]):
        expect_device(got, spec, "cuda:0")


# -- load_params_to --------------------------------------------------------------------
# The probe saves a state dict whose values are drawn here, then calls load_params_to on a
# fresh net of ``probes.MODULES``: placement is judged on ``meta`` (no values to read there;
# a net loaded before it is moved, which cannot copy out of meta, is loaded again from the
# CPU and judged by where it ends: ``probes._loaded_to``),
# the values on the CPU, and a file recorded as saved on cuda:0 is read with no GPU
# (simulated where there is one), which only ``map_location`` allows.

LOAD_NETS = ("linear", "batchnorm", "stats", "mlp")
LOAD_DESCRIPTIONS = {
    "linear": "nn.Linear(3, 2)",
    "batchnorm": "nn.BatchNorm1d(3)",
    "stats": "nn.BatchNorm1d(3, affine=False)",
    "mlp": "nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))",
}
load_cases = st.lists(st.tuples(st.sampled_from(LOAD_NETS), st.integers(0, 2**16)), min_size=1, max_size=3)


def saved_state(name: str, seed: int) -> dict[str, Any]:
    """Values for every entry of the net's state_dict (buffers too), from ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for key, value in probes.MODULES[name]().state_dict().items():
        if not value.is_floating_point():
            state[key] = torch.randint(1, 100, value.shape, generator=generator, dtype=value.dtype)
        else:
            state[key] = torch.rand(value.shape, generator=generator) + 0.5
    return state


def run_load_params_to(submission: Any, cases: list[tuple[str, int]], device: str, gpu_file: bool) -> list[Any]:  # noqa: E501
    sent = [[name, saved_state(name, seed)] for name, seed in cases]
    return submission.run(probes.params_loaded_to, sent, device, gpu_file)


def _load_call(name: str, device: str, gpu_file: bool) -> str:
    saved = "saved on cuda:0" if gpu_file else "saved on the CPU"
    return f"load_params_to(path, {LOAD_DESCRIPTIONS[name]}, torch.device({device!r})) with a state dict {saved}"  # noqa: E501


def load_raised_problem(raised: str | None, device: str, gpu_file: bool) -> str | None:
    """What an exception load_params_to raised means, or None when it raised nothing."""
    if raised is None:
        return None
    raised = " ".join(raised.split())
    if gpu_file and "CUDA device" in raised:
        return (f"raised {raised[:160]}: torch.load(path) puts the tensors back on the GPU they were saved on; "  # noqa: E501
                "pass map_location=device")
    if device == META and "meta" in raised:
        return (f"raised {raised[:120]}… (Cannot copy out of meta tensor): the grader judges placement with "
                "the meta device, whose tensors hold no values, and a copy out of one failed even with the "
                "state loaded onto the CPU")
    return f"raised {raised[:300]}"


# A net loaded before it is moved raises on meta; the probe then loads the state onto the CPU
# instead (``probes._loaded_to``), and a net that stays on the CPU was never moved at all.
NEVER_MOVED = ("; load_state_dict copies the values into the net's own tensors where they are, so the net "
               "stays where it was built: net.to(device) moves it")


def wrong_devices(result: dict[str, Any], device: str) -> list[str]:
    net = result["net"]
    found = [("parameter", k, v) for k, v in net["parameters"].items()] + [("buffer", k, v) for k, v in net["buffers"].items()]  # noqa: E501
    return [f"{kind} {key!r} on {leaf['device']}" for kind, key, leaf in found if leaf["device"] != device]


@check("load_params_to", "every parameter and buffer ends on device", points=2,
       hint="net.to(device) moves parameters and buffers alike (before or after load_state_dict)")
@budget(4)
@given(cases=load_cases)
def test_load_params_to_placement(submission, cases):
    results = run_load_params_to(submission, cases, META, False)
    for (name, _), result in paired(cases, results, "nets"):
        problem = load_raised_problem(result["raised"], META, False)
        expect(problem is None, lambda: f"{_load_call(name, META, False)} {problem}")
        wrong = wrong_devices(result, META)
        expect(not wrong, lambda: f"after {_load_call(name, META, False)}, every parameter and buffer should be on "  # noqa: E501
               f"meta, got {', '.join(wrong)}" + (NEVER_MOVED if result.get("retried") else ""))


def judge_loaded_values(submission: Any, cases: list[tuple[str, int]], gpu_file: bool) -> None:
    results = run_load_params_to(submission, cases, "cpu", gpu_file)
    for (name, seed), result in paired(cases, results, "nets"):
        call = _load_call(name, "cpu", gpu_file)
        problem = load_raised_problem(result["raised"], "cpu", gpu_file)
        expect(problem is None, lambda: f"{call} {problem}")
        wrong = wrong_devices(result, "cpu")
        expect(not wrong, lambda: f"after {call}, every parameter and buffer should be on cpu, got {', '.join(wrong)}")  # noqa: E501
        for key, expected in saved_state(name, seed).items():
            got = result["state"].get(key)
            same = (isinstance(got, torch.Tensor) and got.dtype == expected.dtype
                    and got.shape == expected.shape and torch.equal(got, expected))
            expect(same, lambda: f"after {call}, net.state_dict()[{key!r}] should hold the saved value: got "
                   f"{show(got)}, expected {show(expected)}")


@check("load_params_to", "the net holds the saved values", points=2,
       hint="net.load_state_dict(torch.load(path, map_location=device)) restores parameters and buffers")
@budget(4)
@given(cases=load_cases)
def test_load_params_to_values(submission, cases):
    judge_loaded_values(submission, cases, gpu_file=False)


@check("load_params_to", "reads a file saved on a GPU, on a machine without one", points=2,
       hint="torch.load(path, map_location=device): without it the tensors go back to the GPU they came from")
@budget(3)
@given(cases=load_cases)
def test_load_params_to_gpu_file(submission, cases):
    judge_loaded_values(submission, cases, gpu_file=True)


@check("load_params_to", "returns net", points=1, hint="end with return net")
def test_load_params_to_returns(submission):
    cases = [("mlp", 1)]
    results = run_load_params_to(submission, cases, "cpu", False)
    for (name, _), result in paired(cases, results, "nets"):
        expect(result["raised"] is None or result.get("is_given"),
               lambda: f"{_load_call(name, 'cpu', False)} {load_raised_problem(result['raised'], 'cpu', False)}")  # noqa: E501
        expect(result["is_given"], lambda: f"{_load_call(name, 'cpu', False)} should return the net it was given, "  # noqa: E501
               f"got {result['returned']}")


@check("load_params_to", "loads a file saved on a real GPU onto it (cuda:0)", points=0)
def test_load_params_to_on_gpu(submission):
    cases = [("mlp", 2)]
    result = submission.run(probes.params_loaded_to_gpu, [[n, saved_state(n, s)] for n, s in cases])
    if not result["cuda"]:
        pytest.skip("no GPU")
    for (name, seed), got in paired(cases, result["results"], "nets"):
        call = f"load_params_to(path, {LOAD_DESCRIPTIONS[name]}, torch.device('cuda:0')) with a state dict saved on cuda:0"  # noqa: E501
        wrong = wrong_devices(got, "cuda:0")
        expect(not wrong, lambda: f"after {call}, every parameter and buffer should be on cuda:0, got {', '.join(wrong)}")  # noqa: E501
        for key, expected in saved_state(name, seed).items():
            value = got["state"].get(key)
            expect(isinstance(value, torch.Tensor) and torch.equal(value, expected),
                   lambda: f"after {call}, net.state_dict()[{key!r}] should hold the saved value: got {show(value)}, "  # noqa: E501
                   f"expected {show(expected)}")
