"""Judges for exercise3 (custom layers). They run in the grader's process, never beside
student code: each asks a probe for plain data and recomputes what the answer must be.
"""

from __future__ import annotations

import torch
from hypothesis import given
from hypothesis import strategies as st

from grader.authoring import (
    batches,
    budget,
    check,
    expect,
    expect_close,
    expect_shape,
    expect_tensor,
    paired,
    shapes,
    tensors,
)
from grader.checks import common_probes
from grader.checks.exercise3 import probes

EPS = {dtype: torch.finfo(dtype).eps for dtype in (torch.float32, torch.float64)}
any_float = st.sampled_from([torch.float32, torch.float64])


def float_inputs(dtype: st.SearchStrategy[torch.dtype] = any_float) -> st.SearchStrategy[torch.Tensor]:
    return dtype.flatmap(lambda d: tensors(shapes(0, 3), dtype=d))


def tolerance(x: torch.Tensor) -> float:
    """Rounding room for one subtraction of a mean, at the input's precision."""
    return 16 * EPS[x.dtype] * max(1.0, float(x.abs().max()))


# -- CenteredLayer -------------------------------------------------------------------


@check("CenteredLayer", "has no parameters", points=1)
def test_centered_no_parameters(submission):
    names = submission.run(common_probes.parameter_shapes, "CenteredLayer", [], torch.ones(3))
    expect(names == {}, lambda: f"CenteredLayer() should have no parameters, but has {sorted(names)}")


def centered_along_some_dim(x: torch.Tensor, y: torch.Tensor) -> bool:
    """Whether ``y - x`` is constant along at least one dimension, as centering along it
    makes it (a 0-d input has none: zero mean alone decides)."""
    shift = y.double() - x.double()
    if x.dim() == 0 or shift.numel() == 0:
        return True
    room = 2 * tolerance(x)
    return any(float((shift - shift.mean(d, keepdim=True)).abs().max()) <= room for d in range(x.dim()))


@check("CenteredLayer", "output has zero mean", points=2, hint="subtract X.mean(), the mean of all entries")
@budget(20)
@given(xs=st.lists(float_inputs(), min_size=1, max_size=8))
def test_centered_zero_mean(submission, xs):
    ys = submission.run(probes.centered_outputs, xs)
    for x, y in paired(xs, ys):
        y = expect_tensor(y, "CenteredLayer()(X)", X=x)
        expect_shape(y, tuple(x.shape), "CenteredLayer()(X)", X=x)  # a lone 0 has zero mean too
        mean = float(y.double().mean()) if y.numel() else 0.0
        expect(abs(mean) <= tolerance(x),
               lambda: f"the output's mean should be 0, got {mean:.6g}\n  on input X = {x!r}\n  output {y!r}")
        # All zeros (or any constant of mean 0) has zero mean by itself: the output must also
        # be the input minus what a centering subtracts, constant along some dimension.
        expect(centered_along_some_dim(x, y),
               lambda: "the output has zero mean but is not the input centered: output - input should be "
               f"constant (along at least one dimension of X)\n  on input X = {x!r}\n  output {y!r}")


@check("CenteredLayer", "output is the input shifted by one constant", points=2,
       hint="subtract one number, the mean of all of X, from every entry")
@budget(20)
@given(xs=st.lists(float_inputs(), min_size=1, max_size=8))
def test_centered_shift(submission, xs):
    ys = submission.run(probes.centered_outputs, xs)
    for x, y in paired(xs, ys):
        y = expect_tensor(y, "CenteredLayer()(X)", X=x)
        expect_shape(y, tuple(x.shape), "CenteredLayer()(X)", X=x)
        shift = y.double() - x.double()
        spread = float(shift.max() - shift.min()) if shift.numel() else 0.0
        expect(spread <= 2 * tolerance(x),
               lambda: f"output - input should be the same number everywhere, but ranges over {spread:.6g}"
               f"\n  on input X = {x!r}\n  output {y!r}")
        # The input unchanged is shifted by 0 by itself: a centering shifts by 0 only an input
        # whose mean is already 0.
        mean = float(x.double().mean()) if x.numel() else 0.0
        unchanged = shift.numel() > 0 and float(shift.abs().max()) <= 2 * tolerance(x)
        expect(not (unchanged and abs(mean) > 2 * tolerance(x)),
               lambda: f"the output is the input unchanged, but X's mean is {mean:.6g}: the constant to "
               f"subtract depends on X\n  on input X = {x!r}\n  output {y!r}")


@check("CenteredLayer", "gradients flow to the input", points=1,
       hint="use differentiable tensor operations; no .data, .detach() or .item(); X.grad is then G - G.mean()")  # noqa: E501
@budget(8)
@given(pairs=st.lists(shapes(1, 3, min_side=2).flatmap(lambda s: st.tuples(tensors(s), tensors(s))),
                      min_size=1, max_size=4))
def test_centered_gradients(submission, pairs):
    pairs = [[x, g] for x, g in pairs if float(g.max() - g.min()) > 0]  # a constant g gives grad 0
    if not pairs:
        return
    grads = submission.run(probes.centered_input_gradients, pairs)
    # Gradients that flow from a wrong output (zeros that carry gradients) are no answer.
    ys = submission.run(probes.centered_outputs, [x for x, _ in pairs])
    for ((x, g), grad), y in zip(paired(pairs, grads, "gradients"), paired(pairs, ys), strict=True):
        y = expect_tensor(y[1], "CenteredLayer()(X)", X=x)
        expect_close(y, x.double() - x.double().mean(), "CenteredLayer()(X), whose gradient this is,",
                     rtol=1e-4, atol=2 * tolerance(x), X=x)
        expect(grad is not None,
               lambda: f"no gradient reaches X: the output does not require grad\n  on input X = {x!r}")
        grad = expect_tensor(grad, "X.grad", X=x)
        expect_shape(grad, tuple(x.shape), "X.grad", X=x)
        # Judged against the gradient of X - X.mean(), G - G.mean(): a gradient that merely
        # flows (X - X.detach() passes G through and outputs zeros) is not enough.
        expect_close(grad, g.double() - g.double().mean(), "X.grad after (layer(X) * G).sum().backward()",
                     rtol=1e-4, atol=1e-4, X=x, G=g)


# -- MyLinear ------------------------------------------------------------------------


@st.composite
def linear_cases(draw, max_batches: int = 4):
    """(in_units, units, xs): a layer's size and batches of inputs for it."""
    in_units, units = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    xs = draw(batches(in_units, 1, 4, max_batches))
    return in_units, units, xs


def expect_parameters(shapes: dict, expected: dict[str, torch.Tensor], what: str) -> None:
    """The layer must hold the parameters the judge gave values to, in their shapes."""
    wanted = {name: list(value.shape) for name, value in expected.items()}
    expect(isinstance(shapes, dict) and all(shapes.get(n) == s for n, s in wanted.items()),
           lambda: f"{what} should have parameters {wanted} to compute with, got {shapes}",
           hint="name the parameters as the contract does, self.weight and self.bias (nn.Parameter): "
           "the check sets their values by name")


@check("MyLinear", "has weight (in_units, units) and bias (units,)", points=1)
@budget(6)
@given(in_units=st.integers(1, 8), units=st.integers(1, 8))
def test_mylinear_parameters(submission, in_units, units):
    shapes_ = submission.run(common_probes.parameter_shapes, "MyLinear", [in_units, units],
                             torch.ones(2, in_units))
    expected = {"weight": [in_units, units], "bias": [units]}
    expect(shapes_ == expected,
           lambda: f"MyLinear({in_units}, {units}) should have parameters {expected}, got {shapes_}")


@check("MyLinear", "output is relu(X @ weight + bias)", points=2)
@budget(15)
@given(case=linear_cases(), data=st.data())
def test_mylinear_output(submission, case, data):
    in_units, units, xs = case
    values = {"weight": data.draw(tensors((in_units, units)), label="weight"),
              "bias": data.draw(tensors((units,)), label="bias")}
    result = submission.run(probes.mylinear_outputs, in_units, units, values, xs)
    what = f"MyLinear({in_units}, {units})"
    expect_parameters(result["shapes"], values, what)
    weight, bias = values["weight"].double(), values["bias"].double()
    for x, y in paired(xs, result["outputs"]):
        y = expect_tensor(y, f"{what}(X)", X=x)
        expected = torch.relu(x.double() @ weight + bias)
        expect_close(y, expected, f"{what}(X)", rtol=1e-4, atol=1e-4,
                     X=x, weight=values["weight"], bias=values["bias"])


@check("MyLinear", "gradients reach weight and bias", points=2,
       hint="use self.weight and self.bias in forward, not their .data")
@budget(6)
@given(case=linear_cases(max_batches=1), data=st.data())
def test_mylinear_gradients(submission, case, data):
    in_units, units, (x,) = case
    g = data.draw(tensors((x.shape[0], units)), label="G")
    # Small weights and a large bias keep every unit active: relu or not, the gradients
    # are then X^T G and the column sums of G, so only how they flow is judged here.
    values = {"weight": data.draw(tensors((in_units, units)), label="weight") / 16,
              "bias": torch.full((units,), 128.0)}
    result = submission.run(probes.mylinear_gradients, in_units, units, values, x, g)
    what = f"MyLinear({in_units}, {units})"
    expect_parameters(result["shapes"], values, what)
    # Gradients that flow from a wrong output (zeros that carry gradients) are no answer: the
    # output the gradients came from must be the layer's (all units active, so relu or not).
    y = expect_tensor(result.get("output"), f"{what}(X)", X=x)
    expect_close(y, x.double() @ values["weight"].double() + values["bias"].double(), f"{what}(X)",
                 rtol=1e-4, atol=1e-3, X=x, weight=values["weight"], bias=values["bias"])
    expect(result["output_requires_grad"],
           lambda: "the output does not require grad, so no gradient can reach weight or bias "
           f"(was .data or .detach() used?)\n  on input X = {x!r}")
    grads = result["grads"]
    expected = {"weight": x.double().T @ g.double(), "bias": g.double().sum(0)}
    for name in ("weight", "bias"):
        grad = grads.get(name)
        expect(grad is not None, lambda: f"{name}.grad is None after backward: the output does not depend "
               f"on {name} through autograd\n  on input X = {x!r}")
        grad = expect_tensor(grad, f"{name}.grad", X=x)
        expect_close(grad, expected[name], f"{name}.grad after (layer(X) * G).sum().backward()",
                     rtol=1e-4, atol=1e-3, X=x, G=g)


# -- TensorReduction -----------------------------------------------------------------


@check("TensorReduction", "has weight (in_units, in_units, units)", points=1)
@budget(6)
@given(in_units=st.integers(1, 6), units=st.integers(1, 6))
def test_reduction_parameters(submission, in_units, units):
    shapes_ = submission.run(common_probes.parameter_shapes, "TensorReduction", [in_units, units],
                             torch.ones(2, in_units))
    expect(shapes_.get("weight") == [in_units, in_units, units],
           lambda: f"TensorReduction({in_units}, {units}) should have a parameter weight of shape "
           f"{[in_units, in_units, units]}, got {shapes_}")


@check("TensorReduction", "output is Σ_ij weight[i,j,k]·X[b,i]·X[b,j]", points=3)
@budget(15)
@given(case=linear_cases(), data=st.data())
def test_reduction_output(submission, case, data):
    in_units, units, xs = case
    weight = data.draw(tensors((in_units, in_units, units)), label="weight")
    result = submission.run(probes.tensor_reduction_outputs, in_units, units, {"weight": weight}, xs)
    what = f"TensorReduction({in_units}, {units})"
    expect_parameters(result["shapes"], {"weight": weight}, what)
    for x, y in paired(xs, result["outputs"]):
        y = expect_tensor(y, f"{what}(X)", X=x)
        xd = x.double()
        expected = torch.einsum("ijk,bi,bj->bk", weight.double(), xd, xd)
        scale = float(torch.einsum("ijk,bi,bj->bk", weight.double().abs(), xd.abs(), xd.abs()).max())
        expect_close(y, expected, f"{what}(X)", rtol=1e-4, atol=1e-5 * max(1.0, scale), X=x, weight=weight)


# -- FourierHalf ---------------------------------------------------------------------

signals = st.lists(tensors(shapes(1, 3, max_side=9)), min_size=1, max_size=6)


@check("FourierHalf", "coefficients equal fft(X)", points=3, hint="torch.fft.fft(X, dim=-1)")
@budget(15)
@given(xs=signals)
def test_fourier_values(submission, xs):
    ys = submission.run(probes.fourier_outputs, xs)
    for x, y in paired(xs, ys):
        y = expect_tensor(y, "FourierHalf()(X)", X=x)
        expected = torch.fft.fft(x.double(), dim=-1)
        n = x.shape[-1]
        keep = min(y.shape[-1] if y.dim() else 0, expected.shape[-1])
        # The exact length is the other check's business (an off-by-one loses only that),
        # but at least n // 2 coefficients must be there to be judged.
        expect(y.shape[:-1] == x.shape[:-1] and keep >= n // 2,
               lambda: f"FourierHalf()(X) should keep the leading dimensions {tuple(x.shape[:-1])} and at "
               f"least {n // 2} coefficients, got shape {tuple(y.shape)}\n  on input X = {x!r}")
        atol = 1e-4 * (1.0 + float(x.abs().sum(-1).max()))
        expect_close(y[..., :keep], expected[..., :keep], "the Fourier coefficients", atol=atol, X=x)
