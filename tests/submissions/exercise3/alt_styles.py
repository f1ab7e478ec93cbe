"""Correct, in other styles: sum / numel, register_parameter, torch.matmul, einsum, narrow."""

import torch
from torch import nn


class CenteredLayer(nn.Module):
    """Centers the input."""

    def forward(self, X):
        return X - X.sum() / X.numel()


class MyLinear(nn.Module):
    def __init__(self, in_units, units):
        super().__init__()
        self.register_parameter("weight", nn.Parameter(torch.randn(in_units, units)))
        self.register_parameter("bias", nn.Parameter(torch.zeros(units)))

    def forward(self, X):
        return torch.relu(torch.matmul(X, self.weight) + self.bias)


class TensorReduction(nn.Module):
    def __init__(self, in_units, units):
        super().__init__()
        self.weight = nn.Parameter(torch.rand(in_units, in_units, units) - 0.5)

    def forward(self, X):
        return torch.einsum("ijk,bi,bj->bk", self.weight, X, X)


class FourierHalf(nn.Module):
    def forward(self, X):
        coefficients = torch.fft.fft(X)
        return coefficients.narrow(-1, 0, (X.size(-1) + 1) // 2)
