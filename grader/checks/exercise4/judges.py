"""Judges for exercise4 (deferred initialization). They run in the grader's process, never
beside student code: each asks a probe for plain data and recomputes what the answer must be.

``MyLazyLinear`` is judged in five separate properties, so that one mistake costs one
check: no weight before the first forward; the shapes after it; the output against the
state it was computed from (the orientation of the weight is the shape check's business);
the same tensors after a second forward; a ValueError for another width.

``materialize`` gets the grader's own lazy networks (``probes.build``), not the student's
``lazy_mlp``. Its Xavier check is statistical (``grader.authoring.stats``): one fixed seed, layers in
the hundreds, bounds that a correct initializer breaks with probability below ``ALPHA``.
The decisions are plain functions (``*_problem``), so that the project's tests can run them
on many seeds without grading.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import torch
from hypothesis import given
from hypothesis import strategies as st

from grader.authoring import (
    budget,
    check,
    choice,
    expect,
    expect_close,
    expect_tensor,
    on_input,
    paired,
    shapes,
    show,
    shown_as,
    stats,
    tensors,
)
from grader.checks.exercise4 import probes

ALPHA = 1e-9  # the chance that a correct materialize fails the Xavier check, at most
SEED = 1  # the judges' seed for the Xavier check; the project's tests try many more
# Layers in the hundreds for the statistics, fan_in != fan_out in each, so that a wrong fan
# or gain shows; one nested, one an ordinary nn.Linear that is already initialized.
BIG_WIDTH = 100
BIG = [["lazy", 300], ["relu"], ["lazy", 100], ["relu"],
       ["seq", [["lazy", 200], ["relu"], ["linear", 200, 64]]], ["relu"], ["lazy", 512]]
BIG_EXAMPLE = torch.randn(8, BIG_WIDTH, generator=torch.Generator().manual_seed(0))

outs = st.integers(1, 6)
widths = st.integers(1, 8)
leading = shapes(0, 2, max_side=3)


def inputs(width: int) -> st.SearchStrategy[torch.Tensor]:
    """Float32 inputs of this width, with no, one or two leading dimensions."""
    return leading.flatmap(lambda lead: tensors((*lead, width)))


def _raised_text(raised: dict[str, Any] | None) -> str:
    return f"{raised['type']}: {raised['message']}" if raised else ""


def same_tensor(a: Any, b: Any) -> bool:
    """The same memory: the tensors share storage, offset, shape and strides."""
    return (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)
            and a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()
            and a.storage_offset() == b.storage_offset() and a.shape == b.shape and a.stride() == b.stride())


def identical(a: torch.Tensor, b: Any) -> bool:
    """Equal shape, dtype and values, nan where nan (an uninitialized weight may hold any bits)."""
    if not isinstance(b, torch.Tensor) or a.shape != b.shape or a.dtype != b.dtype:
        return False
    if not (a.is_floating_point() or a.is_complex()):
        return torch.equal(a, b)
    return bool(((a == b) | (a.isnan() & b.isnan())).all())


# -- MyLazyLinear ------------------------------------------------------------------------------

BEFORE_CASES = [[3, torch.ones(2, 5)], [1, torch.ones(4)], [6, torch.ones(2, 3, 2)]]


@check("MyLazyLinear", "has no weight before the first forward", points=2,
       hint="in __init__ the input width is unknown: self.weight = nn.UninitializedParameter() (or None)")
def test_no_weight_before_forward(submission):
    results = submission.run(probes.before_first_forward, BEFORE_CASES)
    for (out, _), result in paired(BEFORE_CASES, results, "layers"):
        weight = result["weight"]
        what = f"MyLazyLinear({out}).weight before the first forward"
        got = (f"a tensor of shape {tuple(weight['shape'])}" if weight["kind"] == "tensor"
               else weight["kind"])
        expect(weight["kind"] in ("missing", "none", "uninitialized"),
               lambda: f"{what} should be an uninitialized parameter (nn.UninitializedParameter()) or None, "
               f"got {got}: the input width is not known before the first forward, so a weight made "
               "in __init__ can only be a guess")
        shape = result["parameters"].get("weight")
        expect(shape is None,
               lambda: f"MyLazyLinear({out}) has a parameter 'weight' of shape {tuple(shape or ())} "
               "before the first forward; it should stay uninitialized until the input width is known")


@check("MyLazyLinear", "after the first forward, weight is (out_features, d) and bias (out_features,)",
       points=2, hint="d = X.shape[-1], the last dimension, whatever the number of leading ones")
@budget(10)
@given(cases=st.lists(st.tuples(outs, widths.flatmap(inputs)), min_size=1, max_size=6))
def test_shapes_after_forward(submission, cases):
    cases = [[out, x] for out, x in cases]
    results = submission.run(probes.shapes_after_forward, cases)
    for (out, x), result in paired(cases, results, "layers"):
        d = x.shape[-1]
        expected = {"weight": [out, d], "bias": [out]}
        got = {name: tuple(shape) if shape is not None else "uninitialized"
               for name, shape in result["parameters"].items()}
        raised = result["raised"]
        note = f"\n  (that forward raised {_raised_text(raised)})" if raised else ""
        expect(result["parameters"] == expected,
               lambda: f"after a forward on X of shape {tuple(x.shape)}, MyLazyLinear({out}) should have the "
               f"parameters weight {tuple(expected['weight'])} and bias {tuple(expected['bias'])} "
               f"(d = X.shape[-1] = {d}), got {got or 'no parameters'}" + note + on_input(dict(X=x)))


def expected_output(x: torch.Tensor, state: dict[str, Any], out: int) -> list[torch.Tensor]:
    """X @ weight.T + bias, from the state right after the forward, in float64. A weight
    stored as (d, out_features) is used that way round too: its orientation is judged by
    the shape check, not here. Each way the state can be read gives one candidate."""
    what = f"MyLazyLinear({out})"
    weight = expect_tensor(state.get("weight"), f"{what}.weight after a forward", X=x)
    bias = expect_tensor(state.get("bias"), f"{what}.bias after a forward", X=x)
    w, b, d = weight.double(), bias.double(), x.shape[-1]
    used = [w.T] if tuple(w.shape) == (out, d) else []
    used += [w] if tuple(w.shape) == (d, out) else []
    expect(bool(used), lambda: f"cannot recompute {what}(X): its weight has shape {tuple(w.shape)}, expected "
           f"({out}, {d})" + on_input(dict(X=x)))
    expect(tuple(b.shape) in ((out,), (1, out), ()),
           lambda: f"cannot recompute {what}(X): its bias has shape {tuple(b.shape)}, expected ({out},)"
                   + on_input(dict(X=x)))
    return [x.double() @ m + b for m in used]


def output_tolerance(x: torch.Tensor, state: dict[str, Any]) -> float:
    w, b = state["weight"].double().abs(), state["bias"].double().abs()
    m = w.T if w.shape[-1] == x.shape[-1] else w
    return 1e-5 * (1.0 + float((x.double().abs() @ m + b).max()))


def nonzero_biases(out: int) -> st.SearchStrategy[tuple[int, torch.Tensor]]:
    """(out, a bias of that many entries, none of them 0)."""
    return st.tuples(st.just(out), tensors((out,)).map(lambda b: torch.where(b == 0, torch.ones_like(b), b)))


@check("MyLazyLinear", "output is X @ weight.T + bias", points=2)
@budget(10)
@given(cases=st.lists(st.tuples(outs.flatmap(nonzero_biases),
                                widths.flatmap(lambda d: st.lists(inputs(d), min_size=1, max_size=3))),
                      min_size=1, max_size=4), data=st.data())
def test_output(submission, cases, data):
    # The probe sets the judge's nonzero bias and a weight after the first forward (a fresh
    # bias is 0, a fresh weight whatever the layer chose: the initial values are not judged).
    cases = [[out, xs, bias, data.draw(tensors((out, xs[0].shape[-1])), label="weight") / 8]
             for (out, bias), xs in cases]
    results = submission.run(probes.outputs, cases)
    for (out, xs, _, _), result in paired(cases, results, "layers"):
        states = result["states"]
        for i, (x, y) in enumerate(paired(xs, result["outputs"])):
            y = expect_tensor(y, f"MyLazyLinear({out})(X)", X=x)
            state = states[i]
            # An output from tensors the layer does not register (no optimizer would train
            # them) is no layer's output.
            registered = state.get("registered") or []
            expect({"weight", "bias"} <= set(registered),
                   lambda: f"MyLazyLinear({out}) computes with weight and bias, but its registered parameters "  # noqa: E501
                   f"are {registered}: assign nn.Parameter objects (or materialize uninitialized ones)"
                   + on_input(dict(X=x)))
            candidates = expected_output(x, state, out)
            atol = output_tolerance(x, state)
            if any(y.shape == e.shape and torch.allclose(y.double(), e, rtol=1e-4, atol=atol) for e in candidates):  # noqa: E501
                continue
            expect_close(y, candidates[0], f"MyLazyLinear({out})(X) (forward {i + 1} of one layer)",
                         rtol=1e-4, atol=atol, X=x, weight=state["weight"], bias=state["bias"])


def _judge_kept(out: int, what: str, before: Any, after: Any, value: Any, x1: torch.Tensor,
                x2: torch.Tensor) -> None:
    expect(same_tensor(before, after),
           lambda: f"MyLazyLinear({out}): the {what} after a second forward (same width) is another tensor "
                   "than "
           "after the first: the layer creates its parameters again on later forwards, so an optimizer "
           "built after the first forward would train tensors the layer no longer uses"
           + on_input(dict(X1=x1, X2=x2)))
    expect(identical(after, value),
           lambda: f"MyLazyLinear({out}): the values of the {what} changed in a second forward (same width): "
           f"{show(value, 120)} became {show(after, 120)}; a forward must not re-initialize them"
           + on_input(dict(X1=x1, X2=x2)))


@check("MyLazyLinear", "later forwards keep the same parameters", points=2,
       hint="create the parameters only while the weight is uninitialized, not on every forward")
@budget(6)
@given(cases=st.lists(st.tuples(outs, widths.flatmap(lambda d: st.tuples(inputs(d), inputs(d)))),
                      min_size=1, max_size=4))
def test_keeps_parameters(submission, cases):
    cases = [[out, x1, x2] for out, (x1, x2) in cases]
    results = submission.run(probes.across_forwards, cases)
    for (out, x1, x2), result in paired(cases, results, "layers"):
        first, second = result["first"], result["second"]
        judged = 0
        for name, before in first["attributes"].items():
            if isinstance(before, torch.Tensor):
                judged += 1
                _judge_kept(out, name, before, second["attributes"].get(name),
                            first["values"][f"attribute {name}"], x1, x2)
        for name, before in first["parameters"].items():
            if isinstance(before, torch.Tensor):
                judged += 1
                after = second["parameters"].get(name)
                expect(after is not None, lambda: f"MyLazyLinear({out}): the parameter {name!r}, registered after the "  # noqa: E501
                       "first forward, is no longer among its parameters after a second forward"
                       + on_input(dict(X1=x1, X2=x2)))
                _judge_kept(out, f"parameter {name!r}", before, after, first["values"][f"parameter {name}"],
                            x1, x2)
        expect(judged > 0, lambda: f"MyLazyLinear({out}) has no weight after the first forward: nothing to keep"  # noqa: E501
               + on_input(dict(X1=x1, X2=x2)))


@cache
def _widths_but(d1: int) -> st.SearchStrategy[int]:
    return widths.filter(lambda d: d != d1)


@st.composite
def width_changes(draw: st.DrawFn) -> list[Any]:
    out, d1 = draw(outs), draw(widths)
    d2 = draw(_widths_but(d1))
    return [out, draw(inputs(d1)), draw(inputs(d2))]


@check("MyLazyLinear", "an input of another width raises ValueError", points=1,
       hint="after the first forward, compare X.shape[-1] with the weight's width and raise ValueError")
@budget(6)
@given(cases=st.lists(width_changes(), min_size=1, max_size=4))
def test_another_width(submission, cases):
    results = submission.run(probes.another_width, cases)
    for (out, x1, x2), result in paired(cases, results, "layers"):
        what = (f"MyLazyLinear({out}) first ran on an input of width {x1.shape[-1]}, then got one of width "
                f"{x2.shape[-1]}")
        raised = result.get("raised")
        if raised is None:
            y = result.get("output")
            got = f"an output of shape {tuple(y.shape)}" if isinstance(y, torch.Tensor) else show(y, 80)
            expect(False, lambda: f"{what}: it should raise ValueError, but it returned {got}" + on_input(dict(X1=x1, X2=x2)))  # noqa: E501
        expect("ValueError" in raised["mro"],
               lambda: f"{what}: it should raise ValueError, but it raised {_raised_text(raised)}" + on_input(dict(X1=x1, X2=x2)))  # noqa: E501


# -- lazy_mlp ----------------------------------------------------------------------------------

SEQUENTIAL = "torch.nn.modules.container.Sequential"
LINEAR = "torch.nn.modules.linear.Linear"
LAZY_LINEAR = "torch.nn.modules.linear.LazyLinear"
ACTIVATIONS = "torch.nn.modules.activation."
size_lists = st.lists(st.lists(st.integers(1, 8), min_size=1, max_size=4), min_size=1, max_size=4)


def _class_name(classes: list[str]) -> str:
    return classes[0].rsplit(".", 1)[-1] if classes else "?"


def _children(sizes: list[int], result: dict[str, Any]) -> list[dict[str, Any]]:
    expect(result["children"] is not None and SEQUENTIAL in result["classes"],
           lambda: f"lazy_mlp({sizes}) should return an nn.Sequential, got {_class_name(result['classes'])} "
           f"{show(result['net'], 80)}")
    return result["children"]


def _describe_child(child: dict[str, Any]) -> str:
    name = _class_name(child["classes"])
    out = child["out_features"]
    return f"{name}({out})" if isinstance(out, int) else f"{name}()"


@check("lazy_mlp", "a Sequential of nn.LazyLinear layers of the given output sizes", points=2,
       hint="nn.LazyLinear(size) for each size, in order; no input sizes anywhere")
@budget(6)
@given(cases=size_lists)
def test_lazy_mlp_layers(submission, cases):
    results = submission.run(probes.lazy_mlp_layers, cases)
    for sizes, result in paired(cases, results, "networks"):
        children = _children(sizes, result)
        layers = [c for c in children if not any(k.startswith(ACTIVATIONS) for k in c["classes"])]
        got = [_describe_child(c) for c in layers]
        expected = [f"LazyLinear({size})" for size in sizes]
        expect(got == expected and all(LAZY_LINEAR in c["classes"] for c in layers),
               lambda: f"lazy_mlp({sizes}) should hold the layers {expected} (between activations), in order and "  # noqa: E501
               f"still lazy, got {got}")


# -- materialize -------------------------------------------------------------------------------


def layer_shapes(specs: list[list[Any]], width: int) -> list[tuple[str, int, int]]:
    """(where, out_features, in_features) of each linear layer, in ``probes.build`` order."""
    found: list[tuple[str, int, int]] = []

    def walk(parts: list[list[Any]], prefix: str, w: int) -> int:
        for i, spec in enumerate(parts):
            where = f"{prefix}[{i}]"
            if spec[0] == "seq":
                w = walk(spec[1], where, w)
            elif spec[0] in ("lazy", "linear"):
                out = spec[1] if spec[0] == "lazy" else spec[2]
                found.append((where, out, w))
                w = out
        return w

    walk(specs, "net", width)
    return found


def describe(specs: list[list[Any]]) -> str:
    def one(spec: list[Any]) -> str:
        if spec[0] == "seq":
            return "Sequential(" + ", ".join(one(s) for s in spec[1]) + ")"
        return {"lazy": lambda: f"LazyLinear({spec[1]})", "linear": lambda: f"Linear({spec[1]}, {spec[2]})",
                "relu": lambda: "ReLU()"}[spec[0]]()

    return one(["seq", specs])


def python(specs: list[list[Any]]) -> str:
    """The Python that builds the network of ``specs`` (``probes.build``), to paste."""
    def one(spec: list[Any]) -> str:
        if spec[0] == "seq":
            return "nn.Sequential(" + ", ".join(one(s) for s in spec[1]) + ")"
        return {"lazy": lambda: f"nn.LazyLinear({spec[1]})", "relu": lambda: "nn.ReLU()",
                "linear": lambda: f"nn.Linear({spec[1]}, {spec[2]})"}[spec[0]]()

    return one(["seq", specs])


def _net(specs: list[list[Any]], example: torch.Tensor) -> str:
    return f"\n  on net = {python(specs)}, example of shape {tuple(example.shape)}"


def raised_problem(result: dict[str, Any]) -> str | None:
    """What materialize raised, explained; None if it returned."""
    raised = result["raised"]
    if raised is None:
        return None
    if "uninitialized parameter" in raised.lower():
        return (f"materialize(net, example) raised {raised[:160]}…\n  the parameters were still "
                "uninitialized when materialize initialized them: run net(example) first, so that every "
                "lazy parameter gets its shape, then initialize")
    return f"materialize(net, example) raised {raised}"


def shape_problem(result: dict[str, Any], specs: list[list[Any]], width: int) -> str | None:
    for (where, out, inp), layer in zip(layer_shapes(specs, width), result["layers"], strict=True):
        for name, shape in (("weight", [out, inp]), ("bias", [out])):
            value = layer[name]
            if value is None:
                return (f"after materialize(net, example), {where}.{name} is still uninitialized, expected "
                        f"shape {tuple(shape)}: materialize must run net(example)")
            if not isinstance(value, torch.Tensor) or list(value.shape) != shape:
                got = tuple(value.shape) if isinstance(value, torch.Tensor) else show(value, 80)
                return (f"after materialize(net, example), {where}.{name} should have shape {tuple(shape)}, "
                        f"got {got}")
    return None


def xavier_bound(fan_in: int, fan_out: int) -> float:
    return math.sqrt(6.0 / (fan_in + fan_out))


def xavier_problem(result: dict[str, Any], specs: list[list[Any]], width: int) -> str | None:
    """Every linear layer's weight ~ U(-a, a), a = sqrt(6 / (fan_in + fan_out)); alpha is
    split evenly over the layers."""
    layers = layer_shapes(specs, width)
    for (where, out, inp), layer in zip(layers, result["layers"], strict=True):
        weight = layer["weight"]
        if not isinstance(weight, torch.Tensor) or list(weight.shape) != [out, inp]:
            got = "uninitialized" if weight is None else (
                tuple(weight.shape) if isinstance(weight, torch.Tensor) else show(weight, 80))
            return f"cannot judge {where}.weight: expected shape ({out}, {inp}), got {got}"
        a = xavier_bound(inp, out)
        problem = stats.uniform_problem(weight.detach().double(), -a, a, ALPHA / len(layers))
        if problem:
            return f"{where}.weight, with fan_in = {inp} and fan_out = {out}: {problem}"
    return None


def bias_problem(result: dict[str, Any], specs: list[list[Any]], width: int) -> str | None:
    for (where, out, _), layer in zip(layer_shapes(specs, width), result["layers"], strict=True):
        bias = layer["bias"]
        if not isinstance(bias, torch.Tensor) or list(bias.shape) != [out]:
            got = "uninitialized" if bias is None else (
                tuple(bias.shape) if isinstance(bias, torch.Tensor) else show(bias, 80))
            return f"cannot judge {where}.bias: expected shape ({out},), got {got}"
        nonzero = bias != 0
        if bool(nonzero.any()):
            return (f"{where}.bias should be 0 everywhere: {int(nonzero.sum())} of {out} entries are not, "
                    f"e.g. {float(bias[nonzero][0]):.5g}")
        # Zeros everywhere make every bias 0 by themselves: the weight must be initialized too.
        weight = layer["weight"]
        if isinstance(weight, torch.Tensor) and weight.numel() and not bool((weight != 0).any()):
            return f"{where}.bias is 0, but so is every entry of {where}.weight: the weights were not initialized"  # noqa: E501
    return None


def returned_problem(result: dict[str, Any], specs: list[list[Any]] | None = None, width: int = 0) -> str | None:  # noqa: E501
    """Why materialize did not return net, materialized (``specs``: the net it was given)."""
    returned = result["returned"]
    if "module" not in returned:
        value = returned.get("value")
        got = (f"a tensor of shape {tuple(value.shape)}" if isinstance(value, torch.Tensor)
               else show(value, 80))
        return f"materialize(net, example) should return net, got {got}"
    mine, theirs = returned["parameters"], result["parameters"]
    same = sorted(mine) == sorted(theirs) and all(
        same_tensor(mine[k], theirs[k]) or (mine[k] is None and theirs[k] is None) for k in theirs)
    if not same:
        return (f"materialize(net, example) should return net itself, but it returned another "
                f"{returned['module']} (a copy?) whose parameters are not net's")
    # Giving net back untouched returns net by itself: it must come back materialized.
    problem = shape_problem(result, specs, width) if specs is not None else None
    if problem:
        return f"materialize(net, example) returned net, but not materialized: {problem}"
    return None


def _materialized(submission: Any, specs: list[list[Any]], example: torch.Tensor, seed: int = SEED) -> dict:
    result = submission.run(probes.materialized, specs, example, seed)
    problem = raised_problem(result)
    # Every materialize check needs it to return; when it raised, each check's own hint (zero
    # the biases, return net) is beside the point: the hint is about what raised.
    early = "uninitialized" in (result["raised"] or "").lower()
    expect(problem is None, lambda: f"{problem}{_net(specs, example)}",
           hint="net(example) first, then nn.init on every nn.Linear: initializing comes after the forward"
           if early else "")
    return result


@st.composite
def lazy_nets(draw: st.DrawFn) -> tuple[list[list[Any]], torch.Tensor]:
    """A small network of lazy and ordinary linear layers, ReLUs and one level of nesting
    (it starts with a lazy layer), and an example batch for it."""
    width = draw(st.integers(1, 6))

    def chain(w: int, nested: bool, least: int) -> tuple[list[list[Any]], int]:
        parts: list[list[Any]] = []
        for _ in range(draw(st.integers(least, 3))):
            kind = draw(choice(("lazy", "linear", "relu", "seq") if nested else ("lazy", "linear", "relu")))
            if kind == "seq":
                inner, w = chain(w, False, 1)
                parts.append(["seq", inner])
            elif kind == "relu":
                parts.append(["relu"])
            else:
                out = draw(st.integers(1, 6))
                parts.append(["lazy", out] if kind == "lazy" else ["linear", w, out])
                w = out
        return parts, w

    first = draw(st.integers(1, 6))
    rest, _ = chain(first, True, 0)
    return shown_as(python)([["lazy", first], *rest]), draw(inputs(width))  # prints as nn.Sequential(…)


@check("materialize", "every parameter gets its shape from the example", points=2,
       hint="run net(example) before initializing anything")
@budget(8)
@given(case=lazy_nets())
def test_materialize_shapes(submission, case):
    specs, example = case
    result = _materialized(submission, specs, example, 0)
    problem = shape_problem(result, specs, example.shape[-1])
    expect(problem is None, lambda: f"{problem}{_net(specs, example)}")


@check("materialize", "weights follow Xavier-uniform", points=2,
       hint="nn.init.xavier_uniform_(m.weight) for every nn.Linear m, after the forward")
def test_materialize_xavier(submission):
    result = _materialized(submission, BIG, BIG_EXAMPLE)
    problem = xavier_problem(result, BIG, BIG_WIDTH)
    expect(problem is None,
           lambda: f"after materialize(net, example):\n  {problem}{_net(BIG, BIG_EXAMPLE)}\n  (seed "
           f"{SEED}; a correct materialize fails this check with probability below {ALPHA:g})")


@check("materialize", "biases are zero", points=1, hint="nn.init.zeros_(m.bias) for every nn.Linear m")
def test_materialize_bias(submission):
    result = _materialized(submission, BIG, BIG_EXAMPLE)
    problem = bias_problem(result, BIG, BIG_WIDTH)
    expect(problem is None, lambda: f"after materialize(net, example):\n  {problem}{_net(BIG, BIG_EXAMPLE)}")


@check("materialize", "returns net", points=1, hint="end with return net")
def test_materialize_returns(submission):
    result = _materialized(submission, BIG, BIG_EXAMPLE)
    problem = returned_problem(result, BIG, BIG_WIDTH)
    expect(problem is None, lambda: f"{problem}{_net(BIG, BIG_EXAMPLE)}")


# -- partly_lazy_mlp ----------------------------------------------------------------------------
# One net per case, described before and after one forward (``probes.partly_lazy_runs``). The
# layers are the children that are not activations; the output is recomputed here from the
# parameters the net holds after that forward.


@st.composite
def partly_lazy_cases(draw: st.DrawFn) -> list[Any]:
    """[in_features, sizes, X]: at least two sizes, so that there is a later layer to be lazy."""
    in_features = draw(widths)
    sizes = draw(st.lists(st.integers(1, 8), min_size=2, max_size=4))
    return [in_features, sizes, draw(tensors((draw(st.integers(1, 4)), in_features)))]


partly_lazy_lists = st.lists(partly_lazy_cases(), min_size=1, max_size=4)


def _call_partly(in_features: int, sizes: list[int]) -> str:
    return f"partly_lazy_mlp({in_features}, {sizes})"


def _partly_layers(case: list[Any], result: dict[str, Any], when: str) -> list[dict[str, Any]]:
    """The net's layers (children that are not activations) ``before`` or ``after`` the forward."""
    in_features, sizes, _ = case
    expect(result["before"] is not None and SEQUENTIAL in result["classes"],
           lambda: f"{_call_partly(in_features, sizes)} should return an nn.Sequential, got "
           f"{_class_name(result['classes'])} {show(result['net'], 80)}")
    return [c for c in result[when] if not any(k.startswith(ACTIVATIONS) for k in c["classes"])]


def _shapes_text(layer: dict[str, Any]) -> str:
    shapes_ = {name: "uninitialized" if shape is None else tuple(shape) for name, shape in layer["parameters"].items()}  # noqa: E501
    return f"{_describe_child(layer)} with parameters {shapes_ or 'none'}"


@check("partly_lazy_mlp", "the first layer is nn.Linear(in_features, sizes[0]), built at once", points=2,
       hint="nn.Linear(in_features, sizes[0]): an ordinary layer, whose weight exists before any forward")
@budget(5)
@given(cases=partly_lazy_lists)
def test_partly_lazy_first_layer(submission, cases):
    results = submission.run(probes.partly_lazy_runs, cases)
    for case, result in paired(cases, results, "networks"):
        in_features, sizes, _ = case
        layers = _partly_layers(case, result, "before")
        expect(bool(layers), lambda: f"{_call_partly(in_features, sizes)} holds no layers")
        first = layers[0]
        expected = {"weight": [sizes[0], in_features], "bias": [sizes[0]]}
        expect(LINEAR in first["classes"] and LAZY_LINEAR not in first["classes"] and first["parameters"] == expected,  # noqa: E501
               lambda: f"before any forward, the first layer of {_call_partly(in_features, sizes)} should be "
               f"Linear({in_features}, {sizes[0]}) with weight {tuple(expected['weight'])} and bias "
               f"({sizes[0]},), got {_shapes_text(first)}: the input size is given, so this layer need not "
               "wait for a forward")


@check("partly_lazy_mlp", "the later layers are nn.LazyLinear of the given sizes", points=2,
       hint="nn.LazyLinear(size) for every size after the first: their input sizes are not given")
@budget(5)
@given(cases=partly_lazy_lists)
def test_partly_lazy_later_layers(submission, cases):
    results = submission.run(probes.partly_lazy_runs, cases)
    for case, result in paired(cases, results, "networks"):
        in_features, sizes, _ = case
        later = _partly_layers(case, result, "before")[1:]
        got = [_describe_child(layer) for layer in later]
        expected = [f"LazyLinear({size})" for size in sizes[1:]]
        still_lazy = all(LAZY_LINEAR in layer["classes"] and all(shape is None for shape in layer["parameters"].values())  # noqa: E501
                         for layer in later)
        expect(got == expected and still_lazy,
               lambda: f"before any forward, the layers after the first of {_call_partly(in_features, sizes)} "  # noqa: E501
               f"should be {expected}, in order and still lazy (no weight shapes yet), got "
               f"{[_shapes_text(layer) for layer in later]}")


def partly_lazy_expected(case: list[Any], result: dict[str, Any]) -> torch.Tensor:
    """The MLP's output on X, recomputed from the parameters the net holds after the forward,
    with ReLU between the layers and none after the last."""
    in_features, sizes, x = case
    layers = _partly_layers(case, result, "after")
    state = result["state"]
    y = x.double()
    for i, layer in enumerate(layers):
        where = f"{_call_partly(in_features, sizes)}: layer {layer['name']!r} after the forward"
        weight = expect_tensor(state.get(f"{layer['name']}.weight"), f"{where}, its weight", X=x)
        bias = expect_tensor(state.get(f"{layer['name']}.bias"), f"{where}, its bias", X=x)
        expect(weight.dim() == 2 and weight.shape[1] == y.shape[-1] and tuple(bias.shape) == (weight.shape[0],),  # noqa: E501
               lambda: f"{where} has weight {tuple(weight.shape)} and bias {tuple(bias.shape)}, expected weight "  # noqa: E501
               f"({sizes[i] if i < len(sizes) else '?'}, {y.shape[-1]})" + on_input(dict(X=x)))
        y = y @ weight.double().T + bias.double()
        y = torch.relu(y) if i < len(layers) - 1 else y
    expect(y.shape[-1] == sizes[-1], lambda: f"{_call_partly(in_features, sizes)} ends with {y.shape[-1]} outputs, "  # noqa: E501
           f"expected sizes[-1] = {sizes[-1]}" + on_input(dict(X=x)))
    return y


@check("partly_lazy_mlp", "after the first forward, the output is the MLP of its layers", points=2,
       hint="one nn.ReLU() between each two layers, none after the last")
@budget(6)
@given(cases=partly_lazy_lists)
def test_partly_lazy_output(submission, cases):
    results = submission.run(probes.partly_lazy_runs, cases)
    for case, result in paired(cases, results, "networks"):
        in_features, sizes, x = case
        raised = result.get("raised")
        expect(raised is None, lambda: f"{_call_partly(in_features, sizes)}(X) raised {_raised_text(raised)}"
               + on_input(dict(X=x)))
        expected = partly_lazy_expected(case, result)
        y = expect_tensor(result["output"], f"{_call_partly(in_features, sizes)}(X)", X=x)
        expect_close(y, expected, f"{_call_partly(in_features, sizes)}(X), recomputed from its layers' parameters "  # noqa: E501
                     "with ReLU between them,", rtol=1e-4, atol=1e-5, X=x)
