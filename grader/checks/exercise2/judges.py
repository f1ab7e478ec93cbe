"""Judges for exercise2 (parameter management). They run in the grader's process, never
beside student code: each asks a probe for plain data and recomputes what the answer must be.

The initializers are judged statistically (``grader.authoring.stats``): the probe applies the
student's function to fresh layers under a fixed seed, and the judge tests support, mean,
spread, shape and mixture proportions with bounds that a correct initializer breaks with
probability below ``ALPHA``. The decisions are plain functions (``*_problem``), so that the
project's tests can run them on many seeds without grading.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch
from hypothesis import given
from hypothesis import strategies as st

from grader.authoring import (
    budget,
    check,
    expect,
    expect_close,
    expect_tensor,
    figure_data,
    is_opaque,
    paired,
    show,
    shown_as,
    stats,
    tensors,
)
from grader.checks.exercise2 import probes

ALPHA = 1e-9  # the chance that a correct initializer fails one check, at most
SEED = 2  # the judges' seed for the initializer checks; the project's tests try many more
# Large layers for the statistics; fan_in != fan_out in all but one, so a wrong fan shows.
SIZES = [[300, 100], [100, 300], [200, 200], [64, 512]]
SMALL = [[3, 5], [5, 3], [4, 4]]


def linear_name(size: list[int]) -> str:
    return f"Linear({size[0]}, {size[1]})"


# -- networks from specs --------------------------------------------------------------

dims = st.integers(1, 5)
_leaves = st.one_of(
    st.tuples(st.just("linear"), dims, dims, st.booleans()).map(list),
    st.tuples(st.just("conv1d"), dims, dims, st.integers(1, 3)).map(list),
    st.tuples(st.just("bn"), dims).map(list),
    st.just(["relu"]),
)
_ties = st.tuples(st.just("tie"), st.integers(0, 7)).map(list)
_names = st.sampled_from(["hidden", "out", "block 0", "block 1", "encoder", "w"])


def _parts(leaves: st.SearchStrategy[list[Any]]) -> st.SearchStrategy[list[Any]]:
    return st.recursive(leaves, lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda parts: ["seq", parts]),
        st.lists(st.tuples(_names, inner).map(list), min_size=1, max_size=3,
                 unique_by=lambda pair: pair[0]).map(lambda parts: ["named", parts]),
    ), max_leaves=6)


def nets(tied: bool = False) -> st.SearchStrategy[list[Any]]:
    """Specs of networks (see ``probes.build``); tied ones reuse a module at least once.
    They print as the Python that builds them (``describe``)."""
    if not tied:
        return st.lists(_parts(_leaves), min_size=1, max_size=4).map(lambda parts: ["seq", parts]).map(
            shown_as(describe))
    first = st.tuples(st.just("linear"), dims, dims, st.booleans()).map(list)
    return st.tuples(first, st.lists(_parts(st.one_of(_leaves, _ties)), max_size=3), _ties).map(
        lambda t: ["seq", [t[0], *t[1], t[2]]]).map(shown_as(describe))


def describe(spec: list[Any]) -> str:
    """The Python that builds the network of a spec, to paste: a module used again is named
    where it is first made, ``(m0 := nn.Linear(4, 8))``, and is ``m0`` after that."""
    tied: set[int] = set()
    _walk_ties(spec, [0], tied)
    return _describe(spec, [0], tied)


def _walk_ties(spec: list[Any], made: list[int], tied: set[int]) -> None:
    kind = spec[0]
    if kind == "seq":
        for part in spec[1]:
            _walk_ties(part, made, tied)
    elif kind == "named":
        for _, part in spec[1]:
            _walk_ties(part, made, tied)
    elif kind == "tie":
        if made[0]:
            tied.add(spec[1] % made[0])
    elif kind != "relu":
        made[0] += 1


def has_tie(spec: list[Any]) -> bool:
    """Whether the network of ``spec`` uses one module twice."""
    tied: set[int] = set()
    _walk_ties(spec, [0], tied)
    return bool(tied)


def _describe(spec: list[Any], made: list[int], tied: set[int]) -> str:
    kind = spec[0]
    if kind == "seq":
        return "nn.Sequential(" + ", ".join(_describe(part, made, tied) for part in spec[1]) + ")"
    if kind == "named":
        return "nn.ModuleDict({" + ", ".join(f"{name!r}: {_describe(part, made, tied)}"
                                             for name, part in spec[1]) + "})"
    if kind == "tie":
        return f"m{spec[1] % made[0]}" if made[0] else "nn.ReLU()"
    if kind == "relu":
        return "nn.ReLU()"
    text = {
        "linear": lambda: f"nn.Linear({spec[1]}, {spec[2]}" + ("" if spec[3] else ", bias=False") + ")",
        "conv1d": lambda: f"nn.Conv1d({spec[1]}, {spec[2]}, {spec[3]})",
        "bn": lambda: f"nn.BatchNorm1d({spec[1]})",
    }[kind]()
    made[0] += 1
    return f"(m{made[0] - 1} := {text})" if made[0] - 1 in tied else text


# -- param_shapes and count_params ----------------------------------------------------


@check("param_shapes", "lists (name, shape) of every parameter, in order", points=2,
       hint="[(name, tuple(p.shape)) for name, p in net.named_parameters()]")
@budget(10)
@given(specs=st.lists(nets(tied=False) | nets(tied=True), min_size=1, max_size=4))
def test_param_shapes(submission, specs):
    results = submission.run(probes.param_shapes_of, specs)
    for spec, result in paired(specs, results, "networks"):
        net = describe(spec)
        expected = [[name, list(p.shape)] for name, p in probes.build(spec).named_parameters()]
        value = result["value"]
        expect(isinstance(value, list) and not is_opaque(value),
               lambda: f"param_shapes(net) should return a list of (name, shape) pairs, got "
               f"{result['kind']} {show(value)}\n  on net = {net}")
        expect(value == expected,
               lambda: f"param_shapes(net) is wrong:\n  got      {show(_as_pairs(value))}\n  expected "
               f"{show(_as_pairs(expected))}\n  on net = {net}")
        expect(all(result["tuple_shapes"]),
               lambda: f"each shape should be a tuple, tuple(p.shape), got {show(value)}\n  on net = {net}")


def _as_pairs(value: list[Any]) -> list[Any]:
    """For a message: [name, [8, 4]] entries shown as ('name', (8, 4)), as the student wrote them."""
    return [(p[0], tuple(p[1])) if isinstance(p, list) and len(p) == 2 and isinstance(p[1], list) else p
            for p in value]


def distinct_numel(values: Iterable[torch.Tensor]) -> int:
    """Scalars in ``values``, counting tensors that are the same memory only once."""
    seen = {(t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape), t.stride()): t.numel()
            for t in values}
    return sum(seen.values())


def _as_number(value: Any) -> float | None:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return float(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _judge_counts(specs: list[list[Any]], results: list[dict[str, Any]]) -> None:
    for spec, result in paired(specs, results, "networks"):
        expected = distinct_numel(result["parameters"].values())
        got = _as_number(result["count"])
        expect(got is not None,
               lambda: f"count_params(net) should return a number, got {show(result['count'])}"
               f"\n  on net = {describe(spec)}")
        tie = " (one module used twice: its parameters count once)" if has_tie(spec) else ""
        expect(got == expected, lambda: f"count_params(net) should be {expected}, got {show(result['count'])}"
               f"{tie}\n  on net = {describe(spec)}")


@check("count_params", "counts every scalar parameter", points=1,
       hint="sum p.numel() over net.parameters(); buffers such as running means are no parameters")
@budget(8)
@given(specs=st.lists(nets(tied=False), min_size=1, max_size=4))
def test_count_params(submission, specs):
    _judge_counts(specs, submission.run(probes.count_params_of, specs))


# -- rgnet ----------------------------------------------------------------------------

BLOCK_NAMES = [f"block {i}" for i in range(4)]
RGNET_SHAPES = [[8, 4], [8], [4, 8], [4]] * 4 + [[1, 4], [1]]
batches = st.lists(tensors(st.tuples(st.integers(1, 4), st.just(4))), min_size=1, max_size=4)


@check("rgnet", 'blocks are named "block 0" … "block 3"', points=1,
       hint="net.add_module(f'block {i}', block1()) inside block2()")
def test_rgnet_names(submission):
    result = submission.run(probes.rgnet_run, [torch.ones(1, 4)])
    children = [name.removeprefix("0.") for name in result["modules"]
                if name.startswith("0.") and name.count(".") == 1]
    expect(children == BLOCK_NAMES,
           lambda: f"rgnet()[0] should hold the blocks {BLOCK_NAMES}, in that order; its children are named "
           f"{children}")


@check("rgnet", "four separate blocks of Linear(4, 8) and Linear(8, 4), then Linear(4, 1)", points=1,
       hint="block1() = Sequential(Linear(4, 8), ReLU(), Linear(8, 4), ReLU()), a fresh one per block")
def test_rgnet_structure(submission):
    result = submission.run(probes.rgnet_run, [torch.ones(1, 4)])
    params = [p for _, p in result["parameters"]]
    shapes = [list(p.shape) for p in params]
    expect(shapes == RGNET_SHAPES, lambda: f"rgnet()'s parameter shapes, in order, should be {RGNET_SHAPES}, "
           f"got {shapes}")
    distinct, total = distinct_numel(params), sum(p.numel() for p in params)
    expect(distinct == total,
           lambda: f"rgnet()'s four blocks should be separate, but some share their parameters ({distinct} "
           f"distinct scalars instead of {total}): call block1() once for each block")


def rgnet_forward(params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """rgnet's output from its parameters in named_parameters() order, in float64."""
    p = [t.double() for t in params]
    h = x.double()
    for i in range(0, 16, 4):
        h = torch.relu(h @ p[i].T + p[i + 1])
        h = torch.relu(h @ p[i + 2].T + p[i + 3])
    return h @ p[16].T + p[17]


@check("rgnet", "output matches its parameters", points=2)
@budget(8)
@given(xs=batches)
def test_rgnet_output(submission, xs):
    result = submission.run(probes.rgnet_run, xs)
    params = [p for _, p in result["parameters"]]
    shapes = [list(p.shape) for p in params]
    expect(shapes == RGNET_SHAPES,
           lambda: f"cannot recompute rgnet's output: its parameter shapes should be {RGNET_SHAPES}, got {shapes}")  # noqa: E501
    for x, y in paired(xs, result["outputs"]):
        y = expect_tensor(y, "rgnet()(X)", X=x)
        expect_close(y, rgnet_forward(params, x), "rgnet()(X)", rtol=1e-4, atol=1e-5, X=x)


# -- initializers: the decisions ------------------------------------------------------


def _per_layer(result: dict[str, Any], sizes: list[list[int]], judge: Any) -> str | None:
    """The first problem ``judge(size, weight, alpha)`` finds in a layer, alpha split evenly."""
    for size, layer in zip(sizes, result["linear"], strict=True):
        weight, shape = layer["weight"], [size[1], size[0]]
        if not isinstance(weight, torch.Tensor) or list(weight.shape) != shape:
            got = list(weight.shape) if isinstance(weight, torch.Tensor) else show(weight)
            return f"{linear_name(size)}.weight should keep its shape {shape}, got {got}"
        problem = judge(size, weight.detach().double(), ALPHA / len(sizes))
        if problem:
            return f"{linear_name(size)}.weight: {problem}"
    return None


def normal_weight_problem(result: dict[str, Any], sizes: list[list[int]]) -> str | None:
    """Every weight ~ N(0, 0.01²)."""
    return _per_layer(result, sizes, lambda size, w, alpha: stats.normal_problem(w, 0.0, 0.01, alpha))


def xavier_weight_problem(result: dict[str, Any], sizes: list[list[int]]) -> str | None:
    """Every nn.Linear(i, o).weight ~ U(-a, a), a = sqrt(6 / (i + o))."""
    return _per_layer(result, sizes, lambda size, w, alpha: stats.xavier_uniform_problem(w, alpha))


def my_init_weight_problem(result: dict[str, Any], sizes: list[list[int]]) -> str | None:
    """Every weight is 0 w.p. 1/2, U(5, 10) w.p. 1/4 and U(-10, -5) w.p. 1/4."""
    def judge(size: list[int], w: torch.Tensor, alpha: float) -> str | None:
        w = w.flatten()
        n, part = w.numel(), alpha / 4
        if not bool(w.isfinite().all()):
            return "some values are nan or infinite"
        slack = 10 * stats.SUPPORT_RTOL
        zero, magnitude = w == 0, w.abs()
        wrong = ~zero & ((magnitude < 5 - slack) | (magnitude > 10 + slack))
        if bool(wrong.any()):
            return (f"every value should be 0 or lie in [5, 10] or [-10, -5]: {int(wrong.sum())} of {n} "
                    f"do not, e.g. {float(w[wrong][0]):.5g}")
        for count, p, what in ((int(zero.sum()), 0.5, "a weight of 0"),
                               (int((w > 0).sum()), 0.25, "a weight in [5, 10]"),
                               (int((w < 0).sum()), 0.25, "a weight in [-10, -5]")):
            problem = stats.proportion_problem(count, n, p, part, what)
            if problem:
                return problem
        problem = stats.uniform_problem(magnitude[~zero], 5.0, 10.0, part)
        return f"the nonzero weights' absolute values: {problem}" if problem else None

    return _per_layer(result, sizes, judge)


def constant_problem(tensor: Any, value: float, what: str) -> str | None:
    """``tensor`` holds ``value`` everywhere."""
    if not isinstance(tensor, torch.Tensor):
        return f"{what} should be a tensor of {value:g}s, got {show(tensor)}"
    differ = tensor != value
    if bool(differ.any()):
        first = float(tensor[differ][0])
        return (f"{what} should be {value:g} everywhere: {int(differ.sum())} of {tensor.numel()} "
                f"entries are not, e.g. {first:.5g}")
    return None


def constant_layers_problem(result: dict[str, Any], sizes: list[list[int]], part: str,
                            value: float) -> str | None:
    for size, layer in zip(sizes, result["linear"], strict=True):
        problem = constant_problem(layer[part], value, f"{linear_name(size)}.{part}")
        if problem:
            return problem
    return None


def untouched_problem(result: dict[str, Any]) -> str | None:
    """The modules other than nn.Linear hold what they held before, and the nn.Linear ones
    do not (an initializer that does nothing leaves everything untouched by itself)."""
    before = result.get("linear_before") or []
    if before and all(isinstance(layer["weight"], torch.Tensor) and layer["weight"].shape == old.shape
                      and torch.equal(layer["weight"], old) for layer, old in zip(result["linear"], before, strict=False)):  # noqa: E501
        return "the nn.Linear weights are unchanged too: it initializes nothing"
    for label, states in result["others"].items():
        before, after = states["before"], states["after"]
        if sorted(before) != sorted(after):
            return f"{label}'s state should keep its entries {sorted(before)}, got {sorted(after)}"
        for key, old in before.items():
            new = after[key]
            if not (isinstance(new, torch.Tensor) and new.shape == old.shape):
                got = list(new.shape) if isinstance(new, torch.Tensor) else show(new)
                return f"{label}.{key} changed its shape from {list(old.shape)} to {got}"
            differ = new != old
            if bool(differ.any()):
                index = tuple(int(i) for i in differ.nonzero()[0])
                return (f"{label}.{key} changed: {int(differ.sum())} of {old.numel()} entries differ, e.g. "
                        f"at index {index} it was {float(old[index]):.5g}, it is now {float(new[index]):.5g}")
    return None


# -- initializers: the pictures of a failure ------------------------------------------
# A distribution function and the support of the right values, for one Linear(i, o).
Expected = tuple[Callable[[torch.Tensor], torch.Tensor], tuple[float, float]]


def _uniform_cdf(low: float, high: float) -> Callable[[torch.Tensor], torch.Tensor]:
    return lambda x: ((x - low) / (high - low)).clamp(0.0, 1.0)


def normal_expected(size: list[int]) -> Expected:
    return (lambda x: 0.5 * (1 + torch.erf(x / (0.01 * math.sqrt(2)))), (-0.04, 0.04))


def xavier_expected(size: list[int]) -> Expected:
    a = stats.xavier_uniform_bound(size[0], size[1])
    return _uniform_cdf(-a, a), (-a, a)


def my_init_expected(size: list[int]) -> Expected:
    low, high = _uniform_cdf(-10.0, -5.0), _uniform_cdf(5.0, 10.0)
    # P(w < x): the mass at 0 falls in the bin [0, b), as the student's zeros do.
    return (lambda x: 0.25 * low(x) + 0.5 * (x > 0).double() + 0.25 * high(x), (-10.0, 10.0))


def weight_figure(result: dict[str, Any], sizes: list[list[int]], problem_of: Callable[..., str | None],
                  expected: Callable[[list[int]], Expected]) -> dict[str, Any] | None:
    """The histogram of the first layer whose weight is wrong, against its distribution."""
    for i, size in enumerate(sizes):
        layer = result["linear"][i]
        weight = layer["weight"]
        if isinstance(weight, torch.Tensor) and problem_of({"linear": [layer]}, [size]):
            cdf, support = expected(size)
            return figure_data.histogram(weight, cdf, support=support,
                                         title=f"{linear_name(size)}.weight: yours against the expected")
    return None


# -- initializers: the checks ---------------------------------------------------------


def _initialized(submission: Any, name: str, sizes: list[list[int]], others: bool = False) -> dict[str, Any]:
    return submission.run(probes.initialized, name, SEED, sizes, others)


def _judge(problem: str | None, name: str, what: str, figure: Any = None) -> None:
    expect(problem is None, lambda: f"after net.apply({name}) on a network of {what}:\n  {problem}"
           f"\n  (seed {SEED}; a correct {name} fails this check with probability below {ALPHA:g})",
           figure)


def _layers(sizes: list[list[int]]) -> str:
    return ", ".join(linear_name(size) for size in sizes)


def _judge_untouched(submission: Any, name: str) -> None:
    result = _initialized(submission, name, SMALL, others=True)
    problem = untouched_problem(result)
    expect(problem is None, lambda: f"after net.apply({name}) on a network of {_layers(SMALL)} and "
           f"{', '.join(result['others'])}:\n  {problem}\n  ({name} must change nn.Linear modules only)")


def _judge_constant(submission: Any, name: str, part: str, value: float) -> None:
    result = _initialized(submission, name, SMALL)
    problem = constant_layers_problem(result, SMALL, part, value)
    if problem is None and part == "bias":  # zeros everywhere make the bias 0 by themselves
        problem = next((f"{linear_name(size)}.bias is 0, but so is every entry of its weight: the weight was "
                        "not initialized" for size, layer in zip(SMALL, result["linear"], strict=True)
                        if isinstance(layer["weight"], torch.Tensor) and not bool((layer["weight"] != 0).any())),  # noqa: E501
                       None)
    expect(problem is None, lambda: f"after net.apply({name}) on a network of {_layers(SMALL)}:\n  {problem}")


@check("init_normal", "weight ~ N(0, 0.01²)", points=2,
       hint="nn.init.normal_(m.weight, mean=0, std=0.01): the second positional argument is the mean")
def test_init_normal_weight(submission):
    result = _initialized(submission, "init_normal", SIZES)
    _judge(normal_weight_problem(result, SIZES), "init_normal", _layers(SIZES),
           lambda: weight_figure(result, SIZES, normal_weight_problem, normal_expected))


@check("init_normal", "bias is 0", points=1, hint="nn.init.zeros_(m.bias)")
def test_init_normal_bias(submission):
    _judge_constant(submission, "init_normal", "bias", 0.0)


@check("init_normal", "leaves modules other than nn.Linear untouched", points=1,
       hint="test type(m) == nn.Linear (or isinstance) before touching m")
def test_init_normal_untouched(submission):
    _judge_untouched(submission, "init_normal")


@check("init_constant", "weight is 1", points=1, hint="nn.init.constant_(m.weight, 1)")
def test_init_constant_weight(submission):
    _judge_constant(submission, "init_constant", "weight", 1.0)


@check("init_constant", "bias is 0", points=1, hint="nn.init.zeros_(m.bias)")
def test_init_constant_bias(submission):
    _judge_constant(submission, "init_constant", "bias", 0.0)


@check("init_constant", "leaves modules other than nn.Linear untouched", points=1,
       hint="test type(m) == nn.Linear (or isinstance) before touching m")
def test_init_constant_untouched(submission):
    _judge_untouched(submission, "init_constant")


@check("init_xavier", "weight ~ U(±√(6 / (fan_in + fan_out)))", points=2,
       hint="nn.init.xavier_uniform_(m.weight); fan_in = in_features, fan_out = out_features")
def test_init_xavier_weight(submission):
    result = _initialized(submission, "init_xavier", SIZES)
    _judge(xavier_weight_problem(result, SIZES), "init_xavier", _layers(SIZES),
           lambda: weight_figure(result, SIZES, xavier_weight_problem, xavier_expected))


@check("init_xavier", "leaves modules other than nn.Linear untouched", points=1,
       hint="test type(m) == nn.Linear (or isinstance) before touching m")
def test_init_xavier_untouched(submission):
    _judge_untouched(submission, "init_xavier")


@check("init_42", "weight is 42", points=1, hint="nn.init.constant_(m.weight, 42)")
def test_init_42_weight(submission):
    _judge_constant(submission, "init_42", "weight", 42.0)


@check("init_42", "leaves modules other than nn.Linear untouched", points=1,
       hint="test type(m) == nn.Linear (or isinstance) before touching m")
def test_init_42_untouched(submission):
    _judge_untouched(submission, "init_42")


@check("my_init", "weight is 0 w.p. 1/2, U(5, 10) w.p. 1/4, U(−10, −5) w.p. 1/4", points=3,
       hint="draw U(-10, 10), then zero every entry with |w| < 5")
def test_my_init_weight(submission):
    result = _initialized(submission, "my_init", SIZES)
    _judge(my_init_weight_problem(result, SIZES), "my_init", _layers(SIZES),
           lambda: weight_figure(result, SIZES, my_init_weight_problem, my_init_expected))


@check("my_init", "leaves modules other than nn.Linear untouched", points=1,
       hint="test type(m) == nn.Linear (or isinstance) before touching m")
def test_my_init_untouched(submission):
    _judge_untouched(submission, "my_init")


# -- tied_net -------------------------------------------------------------------------

TIED_SHAPES = {"0.weight": [8, 4], "0.bias": [8], "2.weight": [8, 8], "2.bias": [8],
               "4.weight": [8, 8], "4.bias": [8], "6.weight": [1, 8], "6.bias": [1]}
# Part of every input, so that no example lets all the hidden units die (then both uses'
# gradients would vanish and an untied net could not be told apart).
BASE_BATCH = torch.randn(8, 4, generator=torch.Generator().manual_seed(0))


def _tied_state_problem(state: Any) -> str | None:
    if not isinstance(state, dict) or any(not isinstance(state.get(k), torch.Tensor) for k in TIED_SHAPES):
        keys = sorted(state) if isinstance(state, dict) else show(state)
        return (f"tied_net() should be Sequential(Linear(4, 8), ReLU, shared, ReLU, shared, ReLU, "
                f"Linear(8, 1)), whose state_dict has the keys {sorted(TIED_SHAPES)}; got {keys}")
    shapes = {k: list(state[k].shape) for k in TIED_SHAPES}
    if shapes != TIED_SHAPES:
        return f"tied_net()'s parameter shapes should be {TIED_SHAPES}, got {shapes}"
    return None


@check("tied_net", "layers 2 and 4 share storage", points=2,
       hint="build shared = nn.Linear(8, 8) once and put that one object at positions 2 and 4")
def test_tied_storage(submission):
    state = submission.run(probes.tied_net_state)
    problem = _tied_state_problem(state)
    expect(problem is None, str(problem))
    for part in ("weight", "bias"):
        a, b = state[f"2.{part}"], state[f"4.{part}"]
        same = (a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()
                and a.storage_offset() == b.storage_offset() and a.stride() == b.stride())
        equal = " (their values are equal, but they are copies)" if torch.equal(a, b) else ""
        expect(same, lambda: f"layer 2's {part} and layer 4's {part} should be the same tensor in memory, "
               f"but they live in separate storage{equal}: layers 2 and 4 are two modules, not one")


def tied_forward(state: dict[str, torch.Tensor], x: torch.Tensor) -> tuple[torch.Tensor, dict[str, Any]]:
    """The output from the state, with each use of the shared layer as its own leaf, and
    the gradients of output.sum() with respect to each use."""
    p = {k: v.double().clone().requires_grad_(True) for k, v in state.items() if k in TIED_SHAPES}
    h = torch.relu(x.double() @ p["0.weight"].T + p["0.bias"])
    h = torch.relu(h @ p["2.weight"].T + p["2.bias"])
    h = torch.relu(h @ p["4.weight"].T + p["4.bias"])
    y = h @ p["6.weight"].T + p["6.bias"]
    y.sum().backward()
    return y.detach(), {k: t.grad for k, t in p.items()}


@check("tied_net", "the shared weight's gradient is the sum of both uses'", points=2,
       hint="use one nn.Linear(8, 8) object twice: its gradient then adds up both uses")
@budget(5)
@given(extra=tensors(st.tuples(st.integers(1, 4), st.just(4))))
def test_tied_gradients(submission, extra):
    x = torch.cat([BASE_BATCH, extra])
    result = submission.run(probes.tied_net_gradients, x)
    state = result["state"]
    problem = _tied_state_problem(state)
    expect(problem is None, lambda: f"cannot recompute the gradients: {problem}")
    y = expect_tensor(result["output"], "tied_net()(X)", X=x)
    expected_y, uses = tied_forward(state, x)
    expect_close(y, expected_y, "tied_net()(X), recomputed from its state_dict", rtol=1e-4, atol=1e-5, X=x)
    grads = result["grads"]
    expect(isinstance(grads, dict), lambda: f"tied_net()(X) does not require grad, so no gradient reaches the "  # noqa: E501
           f"parameters\n  on input X = {show(x)}")
    for part in ("weight", "bias"):
        total = uses[f"2.{part}"] + uses[f"4.{part}"]
        for layer in ("2", "4"):
            grad = grads.get(f"{layer}.{part}")
            what = f"layer {layer}'s {part}.grad after tied_net()(X).sum().backward()"
            expect(isinstance(grad, torch.Tensor), lambda: f"{what} is {show(grad)}\n  on input X = {show(x)}")  # noqa: E501
            own = uses[f"{layer}.{part}"]
            if grad.shape == total.shape and torch.allclose(grad.double(), total, rtol=1e-4, atol=1e-6):
                continue
            expect(not (grad.shape == own.shape and torch.allclose(grad.double(), own, rtol=1e-4, atol=1e-6)),
                   lambda: f"{what} is the gradient of layer {layer}'s own use only; the shared {part}'s "
                   f"gradient should be the sum over both uses (layers 2 and 4)\n  on input X = {show(x)}")
            expect_close(grad, total, f"{what} (the sum of both uses' gradients)", rtol=1e-4, atol=1e-6, X=x)
