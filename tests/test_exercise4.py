"""exercise4 specifics beyond tests/test_fixtures.py: messages and determinism, the
statistical Xavier check never flakes on correct code and always catches wrong code, lazy
parameters cross from the worker as None, and the judges know the shapes of the networks
they generate.

The statistical decision runs here in the test process, on the tensors that the judges'
own probe makes from the reference solution (or from a wrong materialize), for many seeds:
200 full grading runs would take minutes, the decisions alone take seconds.
"""

from __future__ import annotations

import importlib.util
import math
import types
from collections.abc import Callable

import pytest
import torch
from hypothesis import given, settings
from torch import nn

from grader.checks.exercise4 import judges, probes
from grader.report import Status
from grader.sandbox import wire
from tests.conftest import ROOT, SUBMISSIONS, without_timings

FIXTURES = SUBMISSIONS / "exercise4"
SEEDS = range(200)


def _load(path, name: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SOLUTION = _load(ROOT / "solutions" / "exercise4.py", "exercise4_solution")
ALTERNATIVE = _load(FIXTURES / "alt_register_on_forward.py", "exercise4_alternative")


# -- whole reports ------------------------------------------------------------------------------


def test_same_failing_submission_gives_identical_reports(grade_file):
    reports = [without_timings(grade_file(FIXTURES / "lazy_recreate_every_forward.py", "exercise4"))
               for _ in range(3)]
    assert reports[0] == reports[1] == reports[2]
    assert reports[0]["score"] == 22


def test_failures_name_the_property_and_the_shrunk_input(grade_file):
    report = grade_file(FIXTURES / "lazy_no_value_error.py", "exercise4")
    (failure,) = [c for c in report.checks if c.status != Status.PASSED]
    assert failure.name == "MyLazyLinear: an input of another width raises ValueError"
    assert failure.target == "MyLazyLinear"
    assert "it should raise ValueError, but it raised RuntimeError" in failure.message
    assert "on input X1 = tensor(" in failure.message and "X2 = tensor(" in failure.message
    assert failure.counterexample.startswith("cases=[")
    assert failure.counterexample.count("tensor(") == 2  # shrunk to one pair of inputs


# -- the Xavier decision, on many seeds -----------------------------------------------------------


def _materialize(init: Callable[[nn.Linear], None]) -> Callable[[nn.Module, torch.Tensor], nn.Module]:
    """A materialize that runs the forward, then ``init`` on every nn.Linear, bias zeroed."""
    def materialize(net: nn.Module, example: torch.Tensor) -> nn.Module:
        net(example)
        with torch.no_grad():
            for m in net.modules():
                if isinstance(m, nn.Linear):
                    init(m)
                    m.bias.zero_()
        return net
    return materialize


def _uniform(bound: Callable[[nn.Linear], float]) -> Callable[[nn.Linear], None]:
    return lambda m: m.weight.uniform_(-bound(m), bound(m))


def _fan_sum(m: nn.Linear) -> int:
    return m.in_features + m.out_features


CORRECT = {
    "reference solution": SOLUTION.materialize,
    "uniform_ by hand under no_grad": ALTERNATIVE.materialize,
}
# Several are close to right, to show that the bounds are tight enough to matter, not only
# loose enough never to flake.
WRONG: dict[str, Callable[[nn.Module, torch.Tensor], nn.Module]] = {
    "xavier normal": _materialize(lambda m: nn.init.xavier_normal_(m.weight)),
    "relu gain": _materialize(lambda m: nn.init.xavier_uniform_(m.weight, gain=math.sqrt(2))),
    "fan_in only": _materialize(_uniform(lambda m: math.sqrt(6 / m.in_features))),
    "fan_out only": _materialize(_uniform(lambda m: math.sqrt(6 / m.out_features))),
    "bound 10% high": _materialize(_uniform(lambda m: 1.1 * math.sqrt(6 / _fan_sum(m)))),
    "bound 10% low": _materialize(_uniform(lambda m: 0.9 * math.sqrt(6 / _fan_sum(m)))),
    "default init left": _materialize(lambda m: None),
    "kaiming uniform": _materialize(lambda m: nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")),
}


def _decide(materialize: Callable[..., nn.Module], seed: int) -> str | None:
    """What the Xavier check decides about ``materialize`` under ``seed``."""
    sub = types.SimpleNamespace(materialize=materialize)
    result = probes.materialized(sub, judges.BIG, judges.BIG_EXAMPLE, seed)
    assert result["raised"] is None
    return judges.xavier_problem(result, judges.BIG, judges.BIG_WIDTH)


@pytest.fixture
def one_thread():
    """Sorting 30,000 values on two threads of a busy machine costs ten times one thread's."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("case", sorted(CORRECT))
def test_correct_materialize_passes_under_every_seed(case):
    failures = {seed: problem for seed in SEEDS if (problem := _decide(CORRECT[case], seed))}
    assert not failures


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("case", sorted(WRONG))
def test_wrong_materialize_fails_under_every_seed(case):
    passed = [seed for seed in SEEDS if _decide(WRONG[case], seed) is None]
    assert not passed


def test_the_judges_seed_is_among_those_tried():
    assert judges.SEED in SEEDS


def test_every_xavier_layer_is_large_and_not_square():
    layers = judges.layer_shapes(judges.BIG, judges.BIG_WIDTH)
    assert len(layers) == 5
    assert all(out * inp >= 10_000 and out != inp for _, out, inp in layers)


# -- what crosses from the worker ---------------------------------------------------------------


def _crossed(value):
    return wire.loads(wire.dumps(wire.plain(value)))


def test_uninitialized_parameters_cross_as_none():
    def no_forward(net: nn.Module, example: torch.Tensor) -> nn.Module:
        return net

    sub = types.SimpleNamespace(materialize=no_forward)
    result = _crossed(probes.materialized(sub, judges.BIG, judges.BIG_EXAMPLE, 0))
    assert result["layers"][0] == {"weight": None, "bias": None}
    assert "still uninitialized" in judges.shape_problem(result, judges.BIG, judges.BIG_WIDTH)
    assert judges.returned_problem(result) is None
    (before,) = _crossed(probes.before_first_forward(SOLUTION, [[3, torch.ones(2, 5)]]))
    assert before == {"weight": {"kind": "uninitialized"}, "parameters": {"weight": None, "bias": None}}


def test_initializing_before_the_forward_is_explained():
    def too_early(net: nn.Module, example: torch.Tensor) -> nn.Module:
        for m in net.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
        return net

    sub = types.SimpleNamespace(materialize=too_early)
    result = _crossed(probes.materialized(sub, [["lazy", 3]], torch.ones(2, 4), 0))
    assert "the parameters were still uninitialized" in judges.raised_problem(result)


def test_parameters_keep_their_identity_across_the_wire():
    x = torch.ones(2, 4)
    (kept,) = _crossed(probes.across_forwards(SOLUTION, [[3, x, x]]))
    assert judges.same_tensor(kept["first"]["attributes"]["weight"], kept["second"]["attributes"]["weight"])
    assert judges.same_tensor(kept["first"]["parameters"]["weight"], kept["second"]["attributes"]["weight"])
    assert not judges.same_tensor(kept["first"]["values"]["attribute weight"],
                                  kept["second"]["attributes"]["weight"])  # a copy is not the tensor


def test_a_weight_swapped_through_data_is_another_tensor():
    class Swapping(nn.Module):
        def __init__(self, out_features: int) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.zeros(out_features, 4))
            self.bias = nn.Parameter(torch.zeros(out_features))

        def forward(self, X: torch.Tensor) -> torch.Tensor:
            self.weight.data = torch.randn(self.weight.shape)  # same Parameter, new storage
            return X @ self.weight.T + self.bias

    x = torch.ones(2, 4)
    (kept,) = _crossed(probes.across_forwards(types.SimpleNamespace(MyLazyLinear=Swapping), [[3, x, x]]))
    assert not judges.same_tensor(kept["first"]["attributes"]["weight"],
                                  kept["second"]["attributes"]["weight"])


# -- the networks the judges generate -----------------------------------------------------------


@settings(max_examples=60, derandomize=True, database=None, deadline=None)
@given(case=judges.lazy_nets())
def test_judges_know_the_shapes_of_their_networks(case):
    specs, example = case
    net, layers = probes.build(specs)
    assert any(nn.parameter.is_lazy(p) for p in net.parameters())
    net(example)
    expected = judges.layer_shapes(specs, example.shape[-1])
    assert [(m.out_features, m.in_features) for m in layers] == [(out, inp) for _, out, inp in expected]
    assert all(type(m) is nn.Linear for m in layers)


def test_layer_paths_name_the_modules():
    net, layers = probes.build(judges.BIG)
    for (where, _, _), layer in zip(judges.layer_shapes(judges.BIG, judges.BIG_WIDTH), layers, strict=True):
        module = net
        for index in where.removeprefix("net[").removesuffix("]").split("]["):
            module = module[int(index)]
        assert module is layer


# -- partly_lazy_mlp -------------------------------------------------------------------------------


def _partly(activation: Callable[[], nn.Module] | None, after_last: bool = False) -> types.SimpleNamespace:
    """A partly_lazy_mlp with ``activation`` between the layers (None: nothing), maybe after the last."""
    def partly_lazy_mlp(in_features: int, sizes: list[int]) -> nn.Sequential:
        layers: list[nn.Module] = [nn.Linear(in_features, sizes[0])]
        for size in sizes[1:]:
            layers += [activation()] if activation else []
            layers.append(nn.LazyLinear(size))
        layers += [activation()] if activation and after_last else []
        return nn.Sequential(*layers)
    return types.SimpleNamespace(partly_lazy_mlp=partly_lazy_mlp)


PARTLY_CASE = [4, [5, 3, 2], torch.randn(6, 4, generator=torch.Generator().manual_seed(0))]


@pytest.mark.parametrize(("name", "sub", "right"), [
    ("reference solution", SOLUTION, True),
    ("no activation", _partly(None), False),
    ("ReLU after the last layer", _partly(nn.ReLU, after_last=True), False),
    ("tanh between the layers", _partly(nn.Tanh), False),
])
def test_the_output_is_recomputed_with_relu_between_the_layers_only(name, sub, right):
    (result,) = _crossed(probes.partly_lazy_runs(sub, [PARTLY_CASE]))
    expected = judges.partly_lazy_expected(PARTLY_CASE, result)
    assert torch.allclose(result["output"].double(), expected, atol=1e-6) == right, name


def test_before_the_forward_only_the_later_layers_are_lazy():
    (result,) = _crossed(probes.partly_lazy_runs(SOLUTION, [PARTLY_CASE]))
    lazy = {"weight": None, "bias": None}
    assert [layer["parameters"] for layer in result["before"]] == [
        {"weight": [5, 4], "bias": [5]}, {}, lazy, {}, lazy]
    assert [layer["parameters"]["weight"] for layer in result["after"][::2]] == [[5, 4], [3, 5], [2, 3]]
