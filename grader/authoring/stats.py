"""Statistical decisions about random samples, for judging random initializers.

A judge that looks at a random initializer must pass every correct one, whatever the seed:
each test here rejects a sample drawn from the stated distribution with probability at
most ``alpha`` (the judges use 1e-9 per check). The bounds are exact or proven tail bounds
for the stated distribution, never estimates from a reference draw:

- the sample mean of a normal sample, with known standard deviation: exact normal quantile;
- the sum of squares of a normal sample: the chi-square bounds of Laurent and Massart
  (2000): P(S ≥ n + 2√(nt) + 2t) ≤ e^-t and P(S ≤ n - 2√(nt)) ≤ e^-t for S ~ χ²(n);
- means of bounded values: Hoeffding's inequality;
- the fraction of draws that fall in a category: the Chernoff bound with the binomial's
  Kullback-Leibler divergence;
- the whole distribution function: the Dvoretzky-Kiefer-Wolfowitz inequality with
  Massart's constant, P(sup |F_n - F| > ε) ≤ 2 exp(-2nε²).

Composite tests (``normal_problem``, ``uniform_problem``, ``proportion_problem``,
``xavier_uniform_problem``) split
their ``alpha`` between the tests they make (a union bound) and return ``None`` when the
sample is consistent with the distribution, otherwise a sentence that names the property
that broke, the observed value and the range a correct sample stays in.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from statistics import NormalDist

import torch

Interval = tuple[float, float]

# A value from a correct uniform initializer may overshoot a bound by a rounding error.
SUPPORT_RTOL = 1e-5


# -- bounds ---------------------------------------------------------------------------


def normal_quantile(alpha: float) -> float:
    """z with P(|Z| > z) = alpha for a standard normal Z."""
    return -NormalDist().inv_cdf(alpha / 2)


def normal_mean_interval(n: int, mean: float, std: float, alpha: float) -> Interval:
    """Where the mean of n draws from N(mean, std²) lies, but with probability alpha."""
    radius = normal_quantile(alpha) * std / math.sqrt(n)
    return mean - radius, mean + radius


def chi2_interval(df: int, alpha: float) -> Interval:
    """Where S ~ χ²(df) lies, but with probability at most alpha (Laurent-Massart)."""
    t = math.log(2 / alpha)
    return max(0.0, df - 2 * math.sqrt(df * t)), df + 2 * math.sqrt(df * t) + 2 * t


def hoeffding_radius(n: int, width: float, alpha: float) -> float:
    """The mean of n independent values in an interval of this width strays from its
    expectation by more than this with probability at most alpha."""
    return width * math.sqrt(math.log(2 / alpha) / (2 * n))


def dkw_radius(n: int, alpha: float) -> float:
    """sup |F_n - F| exceeds this with probability at most alpha (Massart's DKW bound)."""
    return math.sqrt(math.log(2 / alpha) / (2 * n))


def _kl(q: float, p: float) -> float:
    """The Kullback-Leibler divergence of Bernoulli(q) from Bernoulli(p)."""
    def term(a: float, b: float) -> float:
        return 0.0 if a == 0 else a * math.log(a / b)

    return term(q, p) + term(1 - q, 1 - p)


def binomial_interval(n: int, p: float, alpha: float) -> Interval:
    """Where the fraction of successes in n Bernoulli(p) trials lies, but with probability
    at most alpha (Chernoff: P(X/n ≥ q) ≤ exp(-n KL(q‖p)) for q > p, alike below)."""
    target = math.log(2 / alpha) / n

    def solve(inside: float, outside: float) -> float:
        if _kl(outside, p) <= target:
            return outside
        for _ in range(80):  # the interval halves each time: 2^-80 is far below any use
            middle = (inside + outside) / 2
            inside, outside = (middle, outside) if _kl(middle, p) <= target else (inside, middle)
        return outside

    return solve(p, 0.0), solve(p, 1.0)


def ks_distance(sample: torch.Tensor, cdf: Callable[[torch.Tensor], torch.Tensor]) -> float:
    """sup |F_n - F| between the sample's empirical distribution function and ``cdf``."""
    x, _ = sample.double().flatten().sort()
    n = x.numel()
    f = cdf(x)
    steps = torch.arange(1, n + 1, dtype=torch.float64) / n
    return float(torch.maximum(steps - f, f - (steps - 1 / n)).max())


# -- composite tests ------------------------------------------------------------------


def _values(sample: torch.Tensor) -> tuple[torch.Tensor, str | None]:
    x = sample.detach().double().flatten()
    if x.numel() == 0:
        return x, "there are no values to judge"
    if not bool(x.isfinite().all()):
        return x, f"{int((~x.isfinite()).sum())} of {x.numel()} values are nan or infinite"
    return x, None


def _outside(value: float, interval: Interval) -> bool:
    return not interval[0] <= value <= interval[1]


def _range(interval: Interval) -> str:
    return f"[{interval[0]:.5g}, {interval[1]:.5g}]"


def normal_problem(sample: torch.Tensor, mean: float, std: float, alpha: float) -> str | None:
    """Is ``sample`` (i.i.d. values) consistent with N(mean, std²)?

    Spread (sum of squares about ``mean``, chi-square), center (sample mean, exact normal)
    and shape (DKW against the normal distribution function), alpha/3 each.
    """
    x, problem = _values(sample)
    if problem:
        return problem
    n, part = x.numel(), alpha / 3
    low, high = chi2_interval(n, part)
    spread = float(((x - mean) ** 2).mean().sqrt())
    allowed = (std * math.sqrt(low / n), std * math.sqrt(high / n))
    if _outside(spread, allowed):
        return (f"the standard deviation should be {std:g}: observed {spread:.5g} about {mean:g}, "
                f"where {n} correct draws give {_range(allowed)}")
    center = float(x.mean())
    allowed = normal_mean_interval(n, mean, std, part)
    if _outside(center, allowed):
        return (f"the mean should be {mean:g}: observed {center:.5g}, "
                f"where {n} correct draws give {_range(allowed)}")
    distance = ks_distance(x, lambda t: torch.special.ndtr((t - mean) / std))
    radius = dkw_radius(n, part)
    if distance > radius:
        return (f"the values should be normally distributed: their distribution function is "
                f"{distance:.4g} away from N({mean:g}, {std:g}²)'s, where {n} correct draws "
                f"stay within {radius:.4g}")
    return None


def uniform_problem(sample: torch.Tensor, low: float, high: float, alpha: float) -> str | None:
    """Is ``sample`` (i.i.d. values) consistent with U(low, high)?

    Support (exact, up to rounding), mean and spread (Hoeffding), and shape (DKW against
    the uniform distribution function), alpha/3 for each of the last three.
    """
    x, problem = _values(sample)
    if problem:
        return problem
    n, part = x.numel(), alpha / 3
    width, middle, half = high - low, (low + high) / 2, (high - low) / 2
    slack = SUPPORT_RTOL * max(abs(low), abs(high))
    outside = (x < low - slack) | (x > high + slack)
    if bool(outside.any()):
        return (f"every value should lie in [{low:.5g}, {high:.5g}]: {int(outside.sum())} of {n} "
                f"do not, observed range [{float(x.min()):.5g}, {float(x.max()):.5g}]")
    center = float(x.mean())
    radius = hoeffding_radius(n, width, part)
    if _outside(center, (middle - radius, middle + radius)):
        return (f"the mean should be {middle:.5g}: observed {center:.5g}, where {n} correct draws "
                f"give {_range((middle - radius, middle + radius))}")
    # (x - middle)² lies in [0, half²] and has mean half²/3.
    square = float(((x - middle) ** 2).mean())
    radius = hoeffding_radius(n, half**2, part)
    expected = half**2 / 3
    if _outside(square, (expected - radius, expected + radius)):
        allowed = (math.sqrt(max(0.0, expected - radius)), math.sqrt(expected + radius))
        return (f"the standard deviation should be {half / math.sqrt(3):.5g} (that of U({low:.5g}, "
                f"{high:.5g})): observed {math.sqrt(square):.5g}, where {n} correct draws give "
                f"{_range(allowed)}")
    distance = ks_distance(x, lambda t: ((t - low) / width).clamp(0, 1))
    radius = dkw_radius(n, part)
    if distance > radius:
        return (f"the values should be uniformly distributed on [{low:.5g}, {high:.5g}]: their "
                f"distribution function is {distance:.4g} away from the uniform one, where {n} "
                f"correct draws stay within {radius:.4g}")
    return None


def proportion_problem(count: int, n: int, p: float, alpha: float, what: str) -> str | None:
    """Is ``count`` successes in ``n`` trials consistent with probability ``p``?"""
    if n == 0:
        return "there are no values to judge"
    allowed = binomial_interval(n, p, alpha)
    fraction = count / n
    if _outside(fraction, allowed):
        return (f"{what} should have probability {p:g}: observed fraction {fraction:.5g} "
                f"({count} of {n}), where correct draws give {_range(allowed)}")
    return None


def xavier_uniform_bound(fan_in: int, fan_out: int, gain: float = 1.0) -> float:
    """a of Xavier's uniform distribution U(-a, a): gain * sqrt(6 / (fan_in + fan_out))."""
    return gain * math.sqrt(6.0 / (fan_in + fan_out))


def xavier_uniform_problem(weight: torch.Tensor, alpha: float, gain: float = 1.0) -> str | None:
    """Is an nn.Linear weight, shape (fan_out, fan_in), consistent with Xavier's uniform
    initialization? (For a conv weight, fans also count the kernel: not handled here.)"""
    if weight.dim() != 2:
        return f"the weight should have 2 dimensions (fan_out, fan_in), got shape {list(weight.shape)}"
    fan_out, fan_in = weight.shape
    a = xavier_uniform_bound(fan_in, fan_out, gain)
    problem = uniform_problem(weight, -a, a, alpha)
    return f"with fan_in = {fan_in}, fan_out = {fan_out}: {problem}" if problem else None

