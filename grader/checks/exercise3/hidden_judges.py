"""Hidden judges for exercise3: they run when a submission is graded, and a student release
leaves this file out (it says only how many there are and their points). The public ones,
and the strategies and helpers both share, are in ``judges.py``.
"""

# As in judges.py: `expect` calls its message lambda at once, with the current loop values.

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from grader.authoring import (
    FLOAT_DTYPES,
    budget,
    check,
    expect,
    expect_shape,
    expect_tensor,
    paired,
    shapes,
    tensors,
)
from grader.checks.exercise3 import probes
from grader.checks.exercise3.judges import signals

# The robustness edges of the spec: half-precision dtypes, zero-dimensional and empty
# inputs, and odd signal lengths. A student meets them by reading the spec, not by grading.


@check("CenteredLayer", "keeps shape and dtype", points=1, hidden=True)
@budget(10)
@given(xs=st.lists(st.sampled_from(FLOAT_DTYPES)
                   .flatmap(lambda d: tensors(shapes(0, 3), dtype=d)), min_size=1, max_size=8))
def test_centered_shape_dtype(submission, xs):
    ys = submission.run(probes.centered_outputs, xs)
    for x, y in paired(xs, ys):
        y = expect_tensor(y, "CenteredLayer()(X)", X=x)
        expect_shape(y, tuple(x.shape), "CenteredLayer()(X)", X=x)
        expect(y.dtype == x.dtype, lambda: f"the output's dtype should be {x.dtype}, got {y.dtype}\n  on input X = {x!r}")  # noqa: E501


@check("FourierHalf", "keeps (n + 1) // 2 coefficients", points=1, hidden=True,
       hint="for n samples keep the first (n + 1) // 2 coefficients; mind odd n")
@budget(15)
@given(xs=signals)
def test_fourier_length(submission, xs):
    ys = submission.run(probes.fourier_outputs, xs)
    for x, y in paired(xs, ys):
        y = expect_tensor(y, "FourierHalf()(X)", X=x)
        n = x.shape[-1]
        expect_shape(y, (*x.shape[:-1], (n + 1) // 2), f"FourierHalf()(X) for n = {n}", X=x)
