"""Judges for exercise1 (layers and blocks). They run in the grader's process, never beside
student code: each asks a probe for plain data and recomputes what the answer must be, from
the chain descriptions it sent and the parameters that came back.

Where a module is built from parts (chimera, stack, FixedHiddenMLP's two uses of one layer),
forward hooks report what each part saw and returned, so the composition is judged apart
from the parts: a wrong part costs only its own checks.
"""

from __future__ import annotations

from typing import Any

import torch
from hypothesis import given
from hypothesis import strategies as st

from grader.authoring import (
    budget,
    check,
    expect,
    expect_close,
    expect_shape,
    expect_tensor,
    layer_chains,
    on_input,
    paired,
    repeating_chains,
    show,
    shown_as,
    strategies,
    tensors,
)
from grader.checks import common_probes
from grader.checks.exercise1 import probes
from grader.checks.exercise1.recompute import (
    describe,
    fixed_hidden_candidates,
    python,
    run_chain,
    same_tensor,
    state_keys,
    storage,
)

LR = 0.5  # one SGD step with gradients of ones moves every registered parameter by -LR


def batches(width: int, max_count: int = 3) -> st.SearchStrategy[list[torch.Tensor]]:
    return strategies.batches(width, 1, 3, max_count)


# -- chains of layers -------------------------------------------------------------------------


def expect_chain_output(y: Any, expected: tuple[torch.Tensor, torch.Tensor], what: str,
                        **inputs: Any) -> None:
    value, size = expected
    y = expect_tensor(y, what, **inputs)
    atol = 1e-5 * (1.0 + float(size.max())) if size.numel() else 1e-5
    expect_close(y, value, what, rtol=1e-4, atol=atol, **inputs)


@st.composite
def chain_cases(draw: st.DrawFn, repeating: bool = False) -> list[Any]:
    width = draw(st.integers(1, 5))
    chain, _ = draw(repeating_chains(width) if repeating else layer_chains(width))
    return [shown_as(python)(chain), draw(batches(width))]  # prints as MySequential(nn.Linear(…), …)


# -- MLP ------------------------------------------------------------------------------------

MLP_SHAPES = {"hidden.weight": [256, 20], "hidden.bias": [256], "out.weight": [10, 256], "out.bias": [10]}


@check("MLP", "hidden is Linear(20, 256) and out is Linear(256, 10)", points=1,
       hint="create the layers in __init__ (two underscores on each side), after super().__init__()")
def test_mlp_structure(submission):
    found = submission.run(common_probes.module_structure, "MLP", [], torch.ones(2, 20))
    expect(found["parameters"] == MLP_SHAPES,
           lambda: f"MLP() should have the parameters (name: shape) {MLP_SHAPES}, got {found['parameters']}")


@check("MLP", "output is out(relu(hidden(X)))", points=2)
@budget(6)
@given(xs=batches(20))
def test_mlp_output(submission, xs):
    result = submission.run(common_probes.module_outputs, "MLP", [], xs)
    state = result["state"]
    chain = [{"kind": "linear", "name": "hidden"}, {"kind": "relu"}, {"kind": "linear", "name": "out"}]
    layers = {name: {k: state.get(f"{name}.{k}") for k in ("weight", "bias")} for name in ("hidden", "out")}
    expect(all(isinstance(t, torch.Tensor) for ps in layers.values() for t in ps.values()),
           lambda: f"MLP() should have parameters hidden.weight, hidden.bias, out.weight, out.bias; got {sorted(state)}")  # noqa: E501
    for x, y in paired(xs, result["outputs"]):
        expect_chain_output(y, run_chain(chain, x, layers), "MLP()(X)", X=x)


# -- MySequential ---------------------------------------------------------------------------


@check("MySequential", "output equals the chain applied in order", points=3,
       hint="apply the modules one after the other, in the order they were given")
@budget(15)
@given(cases=st.lists(chain_cases(), min_size=1, max_size=4))
def test_sequential_output(submission, cases):
    results = submission.run(probes.sequential_outputs, cases)
    for (chain, xs), result in paired(cases, results, "cases"):
        for x, y in paired(xs, result["outputs"]):
            expect_chain_output(y, run_chain(chain, x, result["layers"]), f"{describe(chain)}(X)", X=x)


@check("MySequential", "children are registered under '0', '1', …", points=3,
       hint="register each module with self.add_module(str(i), module); a Python list hides them")
@budget(10)
@given(cases=st.lists(st.one_of(chain_cases(), chain_cases(repeating=True)), min_size=1, max_size=4))
def test_sequential_registration(submission, cases):
    results = submission.run(probes.sequential_registration, cases, LR)
    for (chain, _), result in paired(cases, results, "cases"):
        what = describe(chain)
        _judge_state_dict(what, chain, result)
        _judge_sgd_step(what, chain, result)


def _judge_state_dict(what: str, chain: list[dict], result: dict) -> None:
    state = result["state"]
    expect("raised" not in state,
           lambda: f"{what}.state_dict() raised {state.get('raised')}: register each child under its "
                   "position as a string, '0', '1', …")
    state = state["value"]
    expected = state_keys(chain)
    keys = list(state)
    expect(keys == [key for key, _, _ in expected],
           lambda: f"{what}.state_dict() should have the keys {[key for key, _, _ in expected]}, got {keys}")
    for key, name, attr in expected:
        value = expect_tensor(state[key], f"{what}.state_dict()[{key!r}]")
        expect(same_tensor(value, result["layers"][name][attr]),
               lambda: f"{what}.state_dict()[{key!r}] is not the {attr} of the module at that place "
               "(the modules must be registered themselves, not copies)")


def _judge_sgd_step(what: str, chain: list[dict], result: dict) -> None:
    step = result["step"]
    expect("raised" not in step, lambda: f"an SGD step over {what}.parameters() failed: {step.get('raised')}")
    positions = {key.rsplit(".", 1)[0]: name for key, name, _ in state_keys(chain)}
    for name, params in result["layers"].items():
        place = next(p for p, n in positions.items() if n == name)
        for attr, after in params.items():
            before = result["before"][name][attr]
            moved = before.add(torch.ones_like(before), alpha=-LR)
            expect(bool(torch.allclose(after, moved, rtol=0, atol=1e-6)),
                   lambda: f"one SGD step on {what}.parameters() (lr = {LR}, every gradient 1) should move "
                           f"the {attr} of the module at {place!r} by -{LR}; it moved by "
                   f"{show((after - before).flatten()[:4])}: the optimizer does not see it")


# -- FixedHiddenMLP ---------------------------------------------------------------------------

fixed_inputs = tensors(st.tuples(st.integers(1, 3), st.just(20)))


def _rand_weight(value: Any, what: str) -> torch.Tensor:
    expect(value is not None, lambda: f"{what} has no attribute rand_weight")
    value = expect_tensor(value, f"{what}.rand_weight")
    expect_shape(value, (20, 20), f"{what}.rand_weight")
    return value


@check("FixedHiddenMLP", "rand_weight is a constant, not a parameter", points=2,
       hint="keep rand_weight a plain tensor (torch.rand(20, 20)) or a buffer, never nn.Parameter")
def test_fixed_constant(submission):
    x = torch.rand(2, 20, generator=torch.Generator().manual_seed(1))
    result = submission.run(probes.fixed_hidden_constant, x)
    weight = _rand_weight(result["rand_weight"], "FixedHiddenMLP()")
    for name, parameter in result["parameters"].items():
        expect(not same_tensor(weight, parameter),
               lambda: f"FixedHiddenMLP().rand_weight is the parameter {name!r}: an optimizer would train it")
    # No parameters at all keeps rand_weight out of them by itself: linear's must be there.
    names = sorted(result["parameters"])
    expect({"linear.weight", "linear.bias"} <= set(names),
           lambda: f"FixedHiddenMLP()'s parameters should include linear.weight and linear.bias, got {names}: "  # noqa: E501
           "assign self.linear = nn.Linear(20, 20) in __init__ so that it is registered")
    expect(result["grad"] is None,
           lambda: f"FixedHiddenMLP().rand_weight received a gradient after backward, "
                   f"{show(result['grad'], 120)}: a constant must not require grad")


@check("FixedHiddenMLP", "the same linear runs twice and gets both uses' gradients", points=2,
       hint="call self.linear before and after the fixed layer; do not make a second layer")
@budget(5)
@given(x=fixed_inputs)
def test_fixed_linear_twice(submission, x):
    result = submission.run(probes.fixed_hidden_linear_calls, x)
    calls = result["calls"]
    expect(len(calls) == 2, lambda: f"FixedHiddenMLP().linear ran {len(calls)} time(s) in one forward, expected 2"  # noqa: E501
           + on_input({"X": x}))
    expect_close(expect_tensor(calls[0]["input"], "the input of linear's first use", X=x), x,
                 "the input of linear's first use", X=x)
    expect(result["requires_grad"], lambda: "FixedHiddenMLP()(X) does not require grad, so no gradient reaches linear"  # noqa: E501
           + on_input({"X": x}))
    for i, call in enumerate(calls):
        expect(call["grad"] is not None,
               lambda: f"no gradient reaches the output of linear's {('first', 'second')[i]} use" + on_input({"X": x}))  # noqa: E501
    # Gradients that flow out of a wrong output (zeros that carry gradients) are no answer:
    # X.sum() halved k times has the gradient 2^-k everywhere, and is 2^-k times the sum.
    second = expect_tensor(calls[1].get("output"), "the output of linear's second use", X=x).double()
    halving = float(expect_tensor(calls[1]["grad"], "its gradient", X=x).double().flatten()[0])
    y = expect_tensor(result.get("output"), "FixedHiddenMLP()(X)", X=x)
    expect_close(y, torch.tensor(halving * float(second.sum()), dtype=torch.float64),
                 "FixedHiddenMLP()(X), the sum of linear's second output halved as its gradient says,",
                 rtol=1e-4, atol=1e-5 * (1 + float(second.abs().sum())), X=x)
    weight = sum(c["grad"].double().T @ c["input"].double() for c in calls)
    bias = sum(c["grad"].double().sum(0) for c in calls)
    scale = float(sum(c["grad"].double().abs().T @ c["input"].double().abs() for c in calls).max())
    for name, got, expected in (("weight", result["weight_grad"], weight), ("bias", result["bias_grad"], bias)):  # noqa: E501
        got = expect_tensor(got, f"linear.{name}.grad", X=x)
        expect_close(got, expected, f"linear.{name}.grad (the sum of both uses' contributions)",
                     rtol=1e-4, atol=1e-6 * (1 + scale), X=x)


@check("FixedHiddenMLP", "output is the halved sum, from rand_weight and linear", points=3,
       hint="linear, relu(X @ rand_weight + 1), linear again, halve while X.abs().sum() > 1, return X.sum()")
@budget(8)
@given(xs=st.lists(fixed_inputs, min_size=1, max_size=4))
def test_fixed_output(submission, xs):
    result = submission.run(probes.fixed_hidden_outputs, xs)
    rand_weight = _rand_weight(result["rand_weight"], "FixedHiddenMLP()")
    weight, bias = (expect_tensor(result["linear"].get(k), f"FixedHiddenMLP().linear.{k}") for k in ("weight", "bias"))  # noqa: E501
    for x, y in paired(xs, result["outputs"]):
        y = expect_tensor(y, "FixedHiddenMLP()(X)", X=x)
        expect_shape(y, (), "FixedHiddenMLP()(X), which should be the scalar X.sum(),", X=x)
        candidates, size = fixed_hidden_candidates(x, weight, bias, rand_weight)
        best = min(candidates, key=lambda c: abs(float(c) - float(y)))
        expect_close(y, best, "FixedHiddenMLP()(X)", rtol=1e-4, atol=1e-5 * (1 + size), X=x)


# -- NestMLP and chimera ------------------------------------------------------------------------

NEST_SHAPES = {"net.0.weight": [64, 20], "net.0.bias": [64], "net.2.weight": [32, 64], "net.2.bias": [32],
               "linear.weight": [16, 32], "linear.bias": [16]}
NEST_MODULES = {"net": "Sequential", "net.0": "Linear", "net.1": "ReLU", "net.2": "Linear", "net.3": "ReLU",
                "linear": "Linear"}


@check("NestMLP", "net is Sequential(Linear(20, 64), ReLU, Linear(64, 32), ReLU), linear is Linear(32, 16)",
       points=1)
def test_nest_structure(submission):
    found = submission.run(common_probes.module_structure, "NestMLP", [], torch.ones(2, 20))
    modules = {name: kind for name, kind in found["modules"].items()
               if name in NEST_MODULES or name == "net.4"}
    expect(modules == NEST_MODULES, lambda: f"NestMLP() should be made of {NEST_MODULES}, got {modules}")
    expect(found["parameters"] == NEST_SHAPES,
           lambda: f"NestMLP() should have the parameters (name: shape) {NEST_SHAPES}, got "
                   f"{found['parameters']}")


@check("NestMLP", "output is linear(net(X))", points=2)
@budget(6)
@given(xs=batches(20))
def test_nest_output(submission, xs):
    result = submission.run(common_probes.module_outputs, "NestMLP", [], xs)
    state = result["state"]
    chain = [{"kind": "linear", "name": "net.0"}, {"kind": "relu"}, {"kind": "linear", "name": "net.2"},
             {"kind": "relu"}, {"kind": "linear", "name": "linear"}]
    layers = {name: {k: state.get(f"{name}.{k}") for k in ("weight", "bias")} for name in ("net.0", "net.2", "linear")}  # noqa: E501
    expect(all(isinstance(t, torch.Tensor) for ps in layers.values() for t in ps.values()),
           lambda: f"NestMLP() should have the parameters {sorted(NEST_SHAPES)}, got {sorted(state)}")
    for x, y in paired(xs, result["outputs"]):
        expect_chain_output(y, run_chain(chain, x, layers), "NestMLP()(X)", X=x)


CHIMERA_CHILDREN = {"0": "NestMLP", "1": "Linear", "2": "FixedHiddenMLP"}


@check("chimera", "is Sequential(NestMLP(), Linear(16, 20), FixedHiddenMLP())", points=1)
def test_chimera_structure(submission):
    found = submission.run(common_probes.module_structure, "chimera", [], torch.ones(2, 20))
    modules = found["modules"]
    expect(modules.get("") == "Sequential",
           lambda: f"chimera() should return an nn.Sequential, got {modules.get('')}")
    children = {name: kind for name, kind in modules.items() if name and "." not in name}
    expect(children == CHIMERA_CHILDREN,
           lambda: f"chimera()'s children should be {CHIMERA_CHILDREN}, got {children}")
    shapes = {name: found["parameters"].get(name) for name in ("1.weight", "1.bias")}
    expect(shapes == {"1.weight": [20, 16], "1.bias": [20]},
           lambda: f"chimera()[1] should be Linear(16, 20), with weight [20, 16] and bias [20]; got {shapes}")


@check("chimera", "runs NestMLP, then Linear(16, 20), then FixedHiddenMLP", points=2)
@budget(4)
@given(x=tensors(st.tuples(st.integers(1, 3), st.just(20))))
def test_chimera_composition(submission, x):
    result = submission.run(probes.chimera_calls, x)
    calls = result["calls"]
    order = [call["tag"] for call in calls]
    expect(order == [0, 1, 2],
           lambda: f"chimera()'s children ran in the order {order}, expected [0, 1, 2], each once" + on_input({"X": x}))  # noqa: E501
    first, middle, last = calls
    expect_close(expect_tensor(first["input"], "the input of chimera()[0]", X=x), x, "the input of chimera()[0]", X=x)  # noqa: E501
    expect_close(expect_tensor(middle["input"], "the input of chimera()[1]", X=x), first["output"],
                 "the input of chimera()[1], which should be chimera()[0]'s output", X=x)
    weight, bias = (expect_tensor(result["linear"].get(k), f"chimera()[1].{k}") for k in ("weight", "bias"))
    expected = run_chain([{"kind": "linear", "name": "1"}], middle["input"], {"1": {"weight": weight, "bias": bias}})  # noqa: E501
    expect_chain_output(middle["output"], expected, "the output of chimera()[1]", X=x)
    expect_close(expect_tensor(last["input"], "the input of chimera()[2]", X=x), middle["output"],
                 "the input of chimera()[2], which should be chimera()[1]'s output", X=x)
    output = expect_tensor(result["output"], "chimera()(X)", X=x)
    expect_close(output, expect_tensor(last["output"], "chimera()[2]'s output", X=x),
                 "chimera()(X), which should be chimera()[2]'s output", X=x)


# -- ParallelBlock ------------------------------------------------------------------------------


@st.composite
def parallel_cases(draw: st.DrawFn) -> list[Any]:
    width = draw(st.integers(1, 5))
    chain1, _ = draw(layer_chains(width, max_layers=3, depth=0, prefix="a"))
    chain2, _ = draw(layer_chains(width, max_layers=3, depth=0, prefix="b"))
    as_net = shown_as(lambda chain: python(chain, "nn.Sequential"))  # what net1 and net2 are
    return [as_net(chain1), as_net(chain2), draw(batches(width))]


def describe_parallel(chain1: list[dict], chain2: list[dict]) -> str:
    return f"ParallelBlock(net1={describe(chain1, 'Sequential')}, net2={describe(chain2, 'Sequential')})"


@check("ParallelBlock", "output is cat((net1(X), net2(X)), dim=1)", points=2,
       hint="torch.cat((self.net1(X), self.net2(X)), dim=1): features side by side, one row per example")
@budget(12)
@given(cases=st.lists(parallel_cases(), min_size=1, max_size=4))
def test_parallel_output(submission, cases):
    results = submission.run(probes.parallel_outputs, cases)
    for (chain1, chain2, xs), result in paired(cases, results, "cases"):
        for x, y in paired(xs, result["outputs"]):
            (y1, s1), (y2, s2) = (run_chain(c, x, result["layers"]) for c in (chain1, chain2))
            expect_chain_output(y, (torch.cat((y1, y2), dim=1), torch.cat((s1, s2), dim=1)),
                                f"{describe_parallel(chain1, chain2)}(X)", X=x)


@check("ParallelBlock", "registers both nets' parameters", points=2,
       hint="keep net1 and net2 as attributes (self.net1 = net1) after super().__init__()")
@budget(8)
@given(cases=st.lists(parallel_cases(), min_size=1, max_size=4))
def test_parallel_parameters(submission, cases):
    results = submission.run(probes.parallel_parameters, cases)
    for (chain1, chain2, _), result in paired(cases, results, "cases"):
        what = describe_parallel(chain1, chain2)
        found = result["parameters"]
        expect("raised" not in found, lambda: f"{what}.parameters() raised {found.get('raised')}")
        registered = {(storage(t), t.storage_offset(), tuple(t.shape)) for t in found["value"]
                      if isinstance(t, torch.Tensor)}
        for net, chain in (("net1", chain1), ("net2", chain2)):
            for index, layer in enumerate(chain):
                if layer["kind"] != "linear":
                    continue
                for attr, t in result["layers"][layer["name"]].items():
                    expect((storage(t), t.storage_offset(), tuple(t.shape)) in registered,
                           lambda: f"{what}.parameters() lacks the {attr} of {net}[{index}]: {net} is not registered")  # noqa: E501


# -- stack ---------------------------------------------------------------------------------------

INSTANCE = {"linear": "nn.Linear({w}, {w})", "relu": "nn.Sequential(nn.Linear({w}, {w}), nn.ReLU())",
            "tanh": "nn.Sequential(nn.Linear({w}, {w}), nn.Tanh())"}


@st.composite
def stack_cases(draw: st.DrawFn) -> list[Any]:
    kind, width = draw(strategies.choice(tuple(sorted(INSTANCE)))), draw(st.integers(1, 4))
    n = draw(st.integers(1, 4))
    return [kind, width, n, draw(strategies.rows(width, 1, 3))]


def describe_stack(kind: str, width: int, n: int) -> str:
    return f"stack(lambda: {INSTANCE[kind].format(w=width)}, {n})"


@check("stack", "holds n fresh instances from factory() that share no parameters", points=2,
       hint="call factory() n times and keep every result in an nn.Sequential or nn.ModuleList")
@budget(10)
@given(cases=st.lists(stack_cases(), min_size=1, max_size=4))
def test_stack_instances(submission, cases):
    results = submission.run(probes.stack_instances, cases)
    for (kind, width, n, _), result in paired(cases, results, "cases"):
        what = describe_stack(kind, width, n)
        state = result["state"]
        expect("raised" not in state, lambda: f"{what}.state_dict() raised {state.get('raised')}")
        state = state["value"]
        expect(bool(state), lambda: f"{what} registers no parameters: the instances are not submodules")
        owner = {storage(t): i for i, made in enumerate(result["made"]) for t in made.values()}
        keys_of: dict[int, list[str]] = {}
        for key, t in state.items():
            t = expect_tensor(t, f"{what}.state_dict()[{key!r}]")
            expect(storage(t) in owner, lambda: f"{what}.state_dict()[{key!r}] belongs to no module that factory() made "  # noqa: E501
                   "(a copy of one?)")
            keys_of.setdefault(storage(t), []).append(key)
        shared = next((keys for keys in keys_of.values() if len(keys) > 1), None)
        expect(shared is None, lambda: f"in {what} the entries {shared} of state_dict() are one tensor: the instances "  # noqa: E501
               "share parameters (was one factory() result used several times?)")
        instances = {owner[p] for p in keys_of}
        expect(len(instances) == n, lambda: f"{what} holds {len(instances)} instance(s) made by factory(), expected {n}")  # noqa: E501
        for i in instances:
            expect(all(storage(t) in keys_of for t in result["made"][i].values()),
                   lambda: f"{what} holds only some of the parameters of the instance factory() made {i + 1}.")  # noqa: E501


@check("stack", "applies the instances in the order factory() made them", points=2,
       hint="chain the instances like nn.Sequential: the first one made runs first")
@budget(10)
@given(cases=st.lists(stack_cases(), min_size=1, max_size=4))
def test_stack_order(submission, cases):
    results = submission.run(probes.stack_calls, cases)
    for (kind, width, n, x), result in paired(cases, results, "cases"):
        what = describe_stack(kind, width, n)
        calls = result["calls"]
        order = [call["tag"] for call in calls]
        expect(len(order) == n, lambda: f"{what}(X) ran factory()'s instances {len(order)} time(s), expected {n}"  # noqa: E501
               + on_input({"X": x}))
        expect(order == sorted(order), lambda: f"{what}(X) ran the instances in the order {order} (0 is the first "  # noqa: E501
               "one factory() made), expected the order they were made in" + on_input({"X": x}))
        ran, made = sorted(set(order)), result["made"]
        expect(len(ran) == min(made, n), lambda: f"{what}(X) ran only the instance(s) {ran} of the {made} that "  # noqa: E501
               "factory() made (0 is the first one)" + on_input({"X": x}))
        expect_close(expect_tensor(calls[0]["input"], "the first instance's input", X=x), x,
                     f"the input of the first instance in {what}(X)", X=x)
        for i in range(1, n):
            got = expect_tensor(calls[i]["input"], f"the input of instance {i + 1}", X=x)
            expect_close(got, calls[i - 1]["output"],
                         f"the input of instance {i + 1} in {what}(X), which should be the output of instance {i}", X=x)  # noqa: E501
        output = expect_tensor(result["output"], f"{what}(X)", X=x)
        expect_close(output, calls[-1]["output"], f"{what}(X), which should be the last instance's output", X=x)  # noqa: E501

