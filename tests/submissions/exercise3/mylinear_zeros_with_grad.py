"""Degenerate: MyLinear's forward returns zeros that carry gradients (out - out.detach()), so
weight and bias get the right gradients from a wrong output; only its parameters earn points."""

import torch
from torch import nn
from torch.nn import functional as F


class CenteredLayer(nn.Module):
    """Subtract the mean of the whole input from every entry; no parameters.

    Works for any shape and floating dtype, and gradients flow to the input:
    ``CenteredLayer()(torch.tensor([1., 2., 3., 4., 5.]))`` gives
    ``tensor([-2., -1., 0., 1., 2.])``.
    """

    def forward(self, X):
        return X - X.mean()


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
        out = F.relu(X @ self.weight + self.bias)
        return out - out.detach()


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


class FourierHalf(nn.Module):
    """The first ``(n + 1) // 2`` coefficients of ``torch.fft.fft(X, dim=-1)``.

    ``n`` is the length of the last dimension; the other dimensions are kept:
    ``FourierHalf()(torch.tensor([1., 2., 3., 4.]))`` gives ``tensor([10.+0.j, -2.+2.j])``.
    """

    def forward(self, X):
        n = X.shape[-1]
        return torch.fft.fft(X, dim=-1)[..., : (n + 1) // 2]
