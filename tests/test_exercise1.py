"""exercise1 specifics beyond tests/test_fixtures.py: messages, and the judges' own
recomputations checked against torch itself (nn.Sequential, torch.optim.SGD, the loop)."""

from __future__ import annotations

import subprocess
import sys
import types
from collections import Counter

import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from grader.authoring.strategies import layer_chains, repeating_chains, tensors
from grader.checks.exercise1 import probes, recompute
from grader.report import Status
from tests.conftest import ROOT, SUBMISSIONS, without_timings

FIXTURES = SUBMISSIONS / "exercise1"


def failures(report) -> dict[str, object]:
    return {c.name: c for c in report.checks if c.status != Status.PASSED}


def test_a_python_list_fails_registration_with_the_keys_and_a_minimal_chain(grade_file):
    report = grade_file(FIXTURES / "seq_python_list.py", "exercise1")
    (failure,) = failures(report).values()
    assert failure.name == "MySequential: children are registered under '0', '1', …"
    assert failure.target == "MySequential"
    expected = "MySequential(Linear(1, 1)).state_dict() should have the keys ['0.weight', '0.bias'], got []"
    assert expected in failure.message
    assert failure.counterexample.count("nn.Linear(") == 1  # shrunk to one Linear layer
    assert "'kind'" not in failure.counterexample  # the Python that builds it, not the grader's spec
    assert "add_module" in failure.hint


def test_children_keyed_by_module_say_which_properties_broke(grade_file):
    report = grade_file(FIXTURES / "seq_modules_keyed_by_block.py", "exercise1")
    found = failures(report)
    registration = found["MySequential: children are registered under '0', '1', …"]
    assert "state_dict() raised TypeError" in registration.message
    repeated = found["MySequential: a module given twice runs at each of its places"]
    assert "shared Linear" in repeated.message and "expected" in repeated.message
    assert "self._modules.values()" in repeated.hint


def test_same_failing_submission_gives_identical_reports(grade_file):
    reports = [without_timings(grade_file(FIXTURES / "stack_reversed.py", "exercise1")) for _ in range(2)]
    assert reports[0] == reports[1]
    assert reports[0]["score"] == 30


def test_the_solution_grades_in_well_under_two_seconds_of_judging(grade_file):
    report = grade_file(ROOT / "solutions" / "exercise1.py", "exercise1")
    assert report.score == report.max_score == 32
    assert report.timings["judging_s"] < 6  # ~1 s here; a lazy torch._dynamo import alone costs 1.2 s


# -- the judges' recomputations against torch -------------------------------------------------


@st.composite
def chains_and_input(draw, repeating: bool = False):
    width = draw(st.integers(1, 5))
    chain, out = draw(repeating_chains(width) if repeating else layer_chains(width, depth=2))
    return chain, out, draw(tensors(st.tuples(st.integers(1, 3), st.just(width))))


@settings(max_examples=60, deadline=None)
@given(case=st.one_of(chains_and_input(), chains_and_input(repeating=True)))
def test_chain_recomputation_and_keys_match_nn_sequential(case):
    chain, out_width, x = case
    layers: dict[str, nn.Linear] = {}
    net = probes._build(chain, nn.Sequential, layers)
    net.eval()
    y = net(x)
    params = {name: {"weight": m.weight.detach(), "bias": m.bias.detach()} for name, m in layers.items()}
    expected, size = recompute.run_chain(chain, x, params)
    assert y.shape == expected.shape == (x.shape[0], out_width)
    assert torch.allclose(y.double(), expected, rtol=1e-4, atol=1e-5 * (1 + float(size.max())))
    keys = recompute.state_keys(chain)
    assert [key for key, _, _ in keys] == list(net.state_dict())
    for key, name, attr in keys:
        saved = net.state_dict()[key]
        assert saved is not None and recompute.same_tensor(saved, params[name][attr])


@settings(max_examples=40, deadline=None)
@given(case=chains_and_input(repeating=True))
def test_repeating_chains_repeat_a_module_that_children_would_list_once(case):
    chain, _, _ = case
    top_level = Counter(layer["name"] for layer in chain if layer["kind"] == "linear")
    assert max(top_level.values()) >= 2
    assert "shared Linear" in recompute.describe(chain)


def _loop(x, weight, bias, rand_weight):
    h = torch.relu((x @ weight.T + bias) @ rand_weight + 1) @ weight.T + bias
    while h.abs().sum() > 1:
        h = h / 2
    return h.sum()


@settings(max_examples=30, deadline=None)
@given(x=tensors(st.tuples(st.integers(1, 3), st.just(20))), seed=st.integers(0, 50))
def test_fixed_hidden_recomputation_matches_the_loop(x, seed):
    g = torch.Generator().manual_seed(seed)
    weight = torch.randn(20, 20, generator=g) / 4
    bias, rand_weight = torch.randn(20, generator=g), torch.rand(20, 20, generator=g)
    candidates, size = recompute.fixed_hidden_candidates(x, weight, bias, rand_weight)
    expected = _loop(x.double(), weight.double(), bias.double(), rand_weight.double())
    assert any(abs(float(c - expected)) <= 1e-12 for c in candidates)
    got = _loop(x, weight, bias, rand_weight)  # float32, as a student computes it
    assert min(abs(float(c) - float(got)) for c in candidates) <= 1e-5 * (1 + size)


def test_fixed_hidden_offers_both_halvings_at_a_power_of_two():
    # With weight 0 the output is the bias: an absolute sum of exactly 4 halves twice, and
    # float32 rounding could as well make it halve once or three times.
    bias = torch.cat((torch.full((16,), 0.25), torch.zeros(4)))
    candidates, _ = recompute.fixed_hidden_candidates(torch.zeros(1, 20), torch.zeros(20, 20), bias,
                                                      torch.rand(20, 20))
    assert sorted(float(c) for c in candidates) == [0.5, 1.0, 2.0]
    assert float(_loop(torch.zeros(1, 20), torch.zeros(20, 20), bias, torch.rand(20, 20))) == 1.0


def test_the_probes_sgd_step_is_torch_sgd():
    torch.manual_seed(0)
    ours = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    theirs = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    theirs.load_state_dict(ours.state_dict())
    ours(torch.randn(5, 3)).sum().backward()
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        q.grad = p.grad.clone()
    probes._sgd_step(ours, 0.5)
    torch.optim.SGD(theirs.parameters(), lr=0.5).step()
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        assert torch.equal(p, q)


def test_the_registration_probe_does_not_import_torch_dynamo():
    """torch.optim imports torch._dynamo on first use: over a second in every fresh worker."""
    code = (
        "import sys, types, torch\nfrom torch import nn\n"
        "from grader.checks.exercise1 import probes\n"
        "sub = types.SimpleNamespace(MySequential=nn.Sequential)\n"
        "chain = [{'kind': 'linear', 'name': 'a', 'in': 2, 'out': 3}, {'kind': 'relu'}]\n"
        "result = probes.sequential_registration(sub, [[chain, [torch.ones(1, 2)]]], 0.5)\n"
        "assert not result[0]['step'], result\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_probes_run_outside_a_worker_on_the_reference_solution():
    """The probes' data, judged directly, on the solution: a quick guard for the recompute."""
    namespace: dict[str, object] = {}
    exec(compile((ROOT / "solutions" / "exercise1.py").read_text(), "exercise1.py", "exec"), namespace)
    sub = types.SimpleNamespace(**namespace)
    torch.manual_seed(0)
    x = torch.rand(2, 20)
    result = probes.fixed_hidden_linear_calls(sub, x)
    assert len(result["calls"]) == 2 and all(c["grad"] is not None for c in result["calls"])
    weight = sum(c["grad"].T @ c["input"] for c in result["calls"])
    assert torch.allclose(result["weight_grad"], weight, atol=1e-6)
    stacked = probes.stack_instances(sub, [["linear", 3, 3, torch.ones(1, 3)]])[0]
    assert len({recompute.storage(t) for t in stacked["state"]["value"].values()}) == 6
    assert len(stacked["made"]) == 3
