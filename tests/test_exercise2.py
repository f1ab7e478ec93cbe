"""exercise2 specifics beyond tests/test_fixtures.py: the statistical initializer checks
never flake on correct code and always catch wrong code, storage sharing survives the trip
from the worker, and the networks the judges generate really are what they claim.

The statistical decisions run here in the test process, on tensors that the judges' own
probe makes from the reference solution (or from a wrong initializer), for many seeds:
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

from grader.checks.exercise2 import judges, probes
from grader.sandbox import wire
from tests.conftest import ROOT

SEEDS = range(200)


def _load_solution() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("exercise2_solution", ROOT / "solutions" / "exercise2.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SOLUTION = _load_solution()


def _linear_only(init: Callable[[nn.Module], None]) -> Callable[[nn.Module], None]:
    def apply(m: nn.Module) -> None:
        if type(m) is nn.Linear:
            with torch.no_grad():
                init(m)
    return apply


def _uniform(bound: Callable[[nn.Linear], float]) -> Callable[[nn.Module], None]:
    return _linear_only(lambda m: m.weight.uniform_(-bound(m), bound(m)))


def _mixture(zero: float) -> Callable[[nn.Module], None]:
    """0 w.p. ``zero``, else U(5, 10) or U(-10, -5) with equal probability."""
    def init(m: nn.Linear) -> None:
        u = torch.rand(m.weight.shape)
        magnitude = torch.empty(m.weight.shape).uniform_(5, 10)
        sign = torch.where(u < (1 - zero) / 2, 1.0, -1.0)
        m.weight.copy_(torch.where((u - (1 - zero) / 2).abs() < zero / 2, 0.0, sign * magnitude))
    return _linear_only(init)


def _fan_sum(m: nn.Linear) -> int:
    return m.in_features + m.out_features


# Each wrong initializer, with the decision it must fail. Several are close to right, to
# show that the bounds are tight enough to matter, not only loose enough never to flake.
WRONG: dict[str, tuple[str, Callable[[nn.Module], None]]] = {
    "normal, std 1": ("init_normal", _linear_only(lambda m: m.weight.normal_(0, 1))),
    "normal, mean 0.01 (positional)": ("init_normal",
                                       _linear_only(lambda m: nn.init.normal_(m.weight, 0.01))),
    "normal, std 0.011": ("init_normal", _linear_only(lambda m: m.weight.normal_(0, 0.011))),
    "normal, mean 0.001 (0.1 std)": ("init_normal", _linear_only(lambda m: m.weight.normal_(0.001, 0.01))),
    "uniform with std 0.01": ("init_normal", _uniform(lambda m: 0.01 * math.sqrt(3))),
    "xavier, fan_in only": ("init_xavier", _uniform(lambda m: math.sqrt(6 / m.in_features))),
    "xavier, fan_out only": ("init_xavier", _uniform(lambda m: math.sqrt(6 / m.out_features))),
    "xavier, bound 10% high": ("init_xavier", _uniform(lambda m: 1.1 * math.sqrt(6 / _fan_sum(m)))),
    "xavier, bound 10% low": ("init_xavier", _uniform(lambda m: 0.9 * math.sqrt(6 / _fan_sum(m)))),
    "xavier normal": ("init_xavier", _linear_only(lambda m: nn.init.xavier_normal_(m.weight))),
    "default init left": ("init_xavier", _linear_only(lambda m: None)),
    "my_init, 1/3 each": ("my_init", _mixture(1 / 3)),
    "my_init, zero w.p. 0.45": ("my_init", _mixture(0.45)),
    "my_init, no zeroing": ("my_init", _linear_only(lambda m: m.weight.uniform_(-10, 10))),
    "my_init, positive only": ("my_init", _linear_only(lambda m: m.weight.copy_(
        torch.empty(m.weight.shape).uniform_(0, 10) * (torch.rand(m.weight.shape) < 0.5)))),
}

DECISIONS = {
    "init_normal": judges.normal_weight_problem,
    "init_xavier": judges.xavier_weight_problem,
    "my_init": judges.my_init_weight_problem,
}


def _decide(name: str, init: Callable[[nn.Module], None], seed: int) -> str | None:
    """What the judge decides about ``init`` as ``name``, under ``seed``."""
    result = probes.initialized(types.SimpleNamespace(**{name: init}), name, seed, judges.SIZES, False)
    return DECISIONS[name](result, judges.SIZES)


@pytest.fixture
def one_thread():
    """Sorting 30,000 values on two threads of a busy machine costs ten times one thread's."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.slow
@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("name", sorted(DECISIONS))
def test_correct_initializers_pass_under_every_seed(name):
    failures = {seed: problem for seed in SEEDS if (problem := _decide(name, getattr(SOLUTION, name), seed))}
    assert not failures


@pytest.mark.slow
@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("case", sorted(WRONG))
def test_wrong_initializers_fail_under_every_seed(case):
    name, init = WRONG[case]
    passed = [seed for seed in SEEDS if _decide(name, init, seed) is None]
    assert not passed


def test_the_judges_seed_is_among_those_tried():
    assert judges.SEED in SEEDS


# -- what crosses from the worker -----------------------------------------------------


def test_tied_storage_survives_the_wire():
    state = wire.loads(wire.dumps(wire.plain(probes.tied_net_state(SOLUTION))))
    def storage(key: str) -> int:
        return state[key].untyped_storage().data_ptr()

    assert storage("2.weight") == storage("4.weight") and storage("2.bias") == storage("4.bias")
    assert storage("0.weight") != storage("6.weight")


def test_counting_by_storage_after_the_wire():
    specs = [["seq", [["linear", 3, 2, True], ["relu"], ["tie", 0], ["bn", 2]]]]
    (result,) = wire.loads(wire.dumps(wire.plain(probes.count_params_of(SOLUTION, specs))))
    assert len(result["parameters"]) == 6  # the tied weight and bias under two names each
    assert judges.distinct_numel(result["parameters"].values()) == 8 + 4 == result["count"]


def test_untouched_modules_start_from_values_no_default_gives():
    result = probes.initialized(SOLUTION, "init_constant", judges.SEED, judges.SMALL, True)
    assert set(result["others"]) >= {"Conv1d(3, 4, 3)", "BatchNorm1d(6)", "LayerNorm(5)"}
    bn = result["others"]["BatchNorm1d(6)"]["before"]
    assert not torch.equal(bn["weight"], torch.ones(6)) and not torch.equal(bn["bias"], torch.zeros(6))
    assert judges.untouched_problem(result) is None


def test_every_initializer_reaches_nested_linears():
    result = probes.initialized(SOLUTION, "init_42", 0, judges.SIZES, True)
    assert all(bool((layer["weight"] == 42).all()) for layer in result["linear"])


# -- the generated networks -----------------------------------------------------------


@settings(max_examples=60, derandomize=True, database=None, deadline=None)
@given(spec=judges.nets(tied=True))
def test_tied_specs_tie_a_parameter(spec):
    net = probes.build(spec)
    assert len(list(net.named_parameters(remove_duplicate=False))) > len(list(net.named_parameters()))
    assert ":= nn." in judges.describe(spec) and judges.has_tie(spec)
    assert repr(spec) == judges.describe(spec)  # hypothesis prints it as Python


@settings(max_examples=60, derandomize=True, database=None, deadline=None)
@given(spec=judges.nets(tied=False))
def test_untied_specs_share_nothing_and_describe_every_module(spec):
    net = probes.build(spec)
    assert len(list(net.named_parameters(remove_duplicate=False))) == len(list(net.named_parameters()))
    with_parameters = [m for m in net.modules() if any(True for _ in m.parameters(recurse=False))]
    text = judges.describe(spec)
    made = sum(text.count(f"nn.{kind}(") for kind in ("Linear", "Conv1d", "BatchNorm1d"))
    assert made == len(with_parameters)
    assert ":=" not in text and not judges.has_tie(spec)


@settings(max_examples=60, derandomize=True, database=None, deadline=None)
@given(spec=judges.nets(tied=False) | judges.nets(tied=True))
def test_a_net_prints_as_python_that_builds_it(spec):
    pasted = eval(repr(spec), {"nn": torch.nn})  # what a student would paste
    built = probes.build(spec)
    assert [(n, p.shape) for n, p in pasted.named_parameters(remove_duplicate=False)] == \
        [(n, p.shape) for n, p in built.named_parameters(remove_duplicate=False)]
    assert len(list(pasted.parameters())) == len(list(built.parameters()))


def test_rgnet_forward_matches_the_reference_network():
    torch.manual_seed(0)
    net = SOLUTION.rgnet()
    x = torch.randn(5, 4)
    params = [p.detach() for p in net.parameters()]
    torch.testing.assert_close(judges.rgnet_forward(params, x), net(x).double().detach())
