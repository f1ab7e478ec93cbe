"""grader.authoring.stats: each bound holds (checked against exact tail probabilities where they can
be computed), is not absurdly loose, and the composite tests pass correct samples and name
the property that a wrong sample breaks."""

from __future__ import annotations

import math

import pytest
import torch

from grader.authoring import stats

ALPHAS = [0.1, 1e-3, 1e-9]
F64 = torch.float64


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# -- the bounds -----------------------------------------------------------------------


def test_normal_quantile_matches_known_values():
    assert stats.normal_quantile(0.05) == pytest.approx(1.959963985, abs=1e-8)
    assert stats.normal_quantile(1e-9) == pytest.approx(6.109410205, abs=1e-6)


@pytest.mark.parametrize("df", [1, 2, 10, 100, 1000, 30000, 100000])
@pytest.mark.parametrize("alpha", ALPHAS)
def test_chi2_interval_holds_exactly(df, alpha):
    low, high = stats.chi2_interval(df, alpha)
    half = torch.tensor(df / 2, dtype=F64)
    below = float(torch.special.gammainc(half, torch.tensor(low / 2, dtype=F64)))
    above = float(torch.special.gammaincc(half, torch.tensor(high / 2, dtype=F64)))
    assert below + above <= alpha
    if df >= 10000:  # at the judges' sizes, not much wider than needed: tails within 50x of alpha
        assert below + above >= alpha / 50


def _binomial_outside(n: int, p: float, low: float, high: float) -> float:
    """P(X/n < low) + P(X/n > high) for X ~ Binomial(n, p), exactly (in float64)."""
    k = torch.arange(n + 1, dtype=F64)
    log_pmf = (math.lgamma(n + 1) - torch.lgamma(k + 1) - torch.lgamma(n - k + 1)
               + k * math.log(p) + (n - k) * math.log1p(-p))
    fraction = k / n
    return float(log_pmf.exp()[(fraction < low) | (fraction > high)].sum())


@pytest.mark.parametrize("n", [10, 100, 1000, 30000])
@pytest.mark.parametrize("p", [0.01, 0.25, 0.5])
@pytest.mark.parametrize("alpha", ALPHAS)
def test_binomial_interval_holds_exactly(n, p, alpha):
    low, high = stats.binomial_interval(n, p, alpha)
    assert 0 <= low <= p <= high <= 1
    outside = _binomial_outside(n, p, low, high)
    assert outside <= alpha
    if n >= 1000:
        assert outside >= alpha / 50


@pytest.mark.parametrize("alpha", ALPHAS)
def test_hoeffding_radius_holds_for_fair_coins(alpha):
    n = 1000  # a fair coin is a value in [0, 1] with the largest variance
    radius = stats.hoeffding_radius(n, 1.0, alpha)
    assert _binomial_outside(n, 0.5, 0.5 - radius, 0.5 + radius) <= alpha
    assert stats.hoeffding_radius(n, 3.0, alpha) == pytest.approx(3 * radius)


def test_ks_distance_on_small_samples():
    def uniform(t):
        return t.clamp(0, 1)

    assert stats.ks_distance(torch.tensor([0.5]), uniform) == pytest.approx(0.5)
    assert stats.ks_distance(torch.tensor([0.75, 0.25]), uniform) == pytest.approx(0.25)
    assert stats.ks_distance(torch.tensor([0.0, 0.0]), uniform) == pytest.approx(1.0)


def test_dkw_radius_rejects_at_most_alpha_of_uniform_samples():
    n, reps, alpha = 100, 2000, 0.05
    samples = torch.rand(reps, n, generator=_generator(0), dtype=F64)
    radius = stats.dkw_radius(n, alpha)
    rejected = sum(stats.ks_distance(row, lambda t: t) > radius for row in samples)
    assert rejected / reps <= alpha


# -- the composite tests --------------------------------------------------------------


def _normal(n: int, mean: float, std: float, seed: int) -> torch.Tensor:
    return torch.randn(n, generator=_generator(seed), dtype=F64) * std + mean


def _uniform(n: int, low: float, high: float, seed: int) -> torch.Tensor:
    return torch.rand(n, generator=_generator(seed), dtype=F64) * (high - low) + low


def test_normal_problem_passes_correct_samples():
    for seed in range(20):
        assert stats.normal_problem(_normal(30000, 0.0, 0.01, seed).float(), 0.0, 0.01, 1e-9) is None


@pytest.mark.parametrize(("sample", "fragment"), [
    (_normal(30000, 0.0, 1.0, 1), "standard deviation should be 0.01"),
    (_normal(30000, 0.0, 0.011, 1), "standard deviation should be 0.01"),
    (_normal(30000, 0.001, 0.01, 1), "mean should be 0"),
    (_uniform(30000, -0.01 * math.sqrt(3), 0.01 * math.sqrt(3), 1), "normally distributed"),
    (torch.tensor([0.0, float("nan")]), "nan or infinite"),
    (torch.tensor([]), "no values"),
], ids=["std 1", "std 0.011", "mean 0.001", "uniform, same std", "nan", "empty"])
def test_normal_problem_names_what_broke(sample, fragment):
    problem = stats.normal_problem(sample, 0.0, 0.01, 1e-9)
    assert problem is not None and fragment in problem


def test_uniform_problem_passes_correct_samples():
    for seed in range(20):
        assert stats.uniform_problem(_uniform(30000, -0.2, 0.2, seed).float(), -0.2, 0.2, 1e-9) is None


def _three_points(n: int, seed: int) -> torch.Tensor:
    """-1, 0, 1 with probabilities 1/6, 2/3, 1/6: the mean and variance of U(-1, 1)."""
    u = torch.rand(n, generator=_generator(seed), dtype=F64)
    return torch.where(u < 1 / 6, -1.0, torch.where(u > 5 / 6, 1.0, 0.0)).to(F64)


@pytest.mark.parametrize(("sample", "fragment"), [
    (_uniform(30000, -1.05, 1.05, 2), "every value should lie in [-1, 1]"),
    (_uniform(30000, -0.9, 0.9, 2), "standard deviation should be 0.57735"),
    (_uniform(30000, -1.0, 0.9, 2), "mean should be 0"),
    (_three_points(30000, 2), "uniformly distributed"),
], ids=["too wide", "too narrow", "shifted", "same moments"])
def test_uniform_problem_names_what_broke(sample, fragment):
    problem = stats.uniform_problem(sample, -1.0, 1.0, 1e-9)
    assert problem is not None and fragment in problem


def test_a_rounding_error_past_the_bound_is_not_outside_the_support():
    a = math.sqrt(6 / 400)
    sample = _uniform(30000, -a, a, 3)
    sample[0] = a * (1 + 1e-7)
    assert stats.uniform_problem(sample, -a, a, 1e-9) is None


def test_proportion_problem():
    assert stats.proportion_problem(5020, 10000, 0.5, 1e-9, "heads") is None
    problem = stats.proportion_problem(3333, 10000, 0.5, 1e-9, "heads")
    assert problem is not None and "heads should have probability 0.5" in problem
    assert "3333 of 10000" in problem


@pytest.mark.parametrize("test", ["normal", "uniform"])
def test_composite_tests_reject_at_most_alpha_of_correct_samples(test):
    """At a large alpha the rejection rate is measurable: it stays below alpha."""
    alpha, reps = 0.3, 300
    if test == "normal":
        rejected = sum(stats.normal_problem(_normal(500, 1.0, 2.0, s), 1.0, 2.0, alpha) is not None
                       for s in range(reps))
    else:
        rejected = sum(stats.uniform_problem(_uniform(500, -3.0, 1.0, s), -3.0, 1.0, alpha) is not None
                       for s in range(reps))
    assert rejected / reps <= alpha


def test_xavier_uniform_problem():
    for seed in range(10):
        torch.manual_seed(seed)
        assert stats.xavier_uniform_problem(torch.nn.init.xavier_uniform_(torch.empty(100, 300)),
                                            1e-9) is None
    a = math.sqrt(6 / 300)  # the fan_in alone
    problem = stats.xavier_uniform_problem(_uniform(30000, -a, a, 4).reshape(100, 300), 1e-9)
    assert problem is not None and problem.startswith("with fan_in = 300, fan_out = 100: every value")
    assert "2 dimensions" in stats.xavier_uniform_problem(torch.zeros(4, 3, 2), 1e-9)
    assert stats.xavier_uniform_bound(300, 100, gain=2.0) == pytest.approx(2 * math.sqrt(6 / 400))
