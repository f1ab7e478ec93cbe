"""Correct, in other styles: explicit loops, keyword arguments, F.relu, math.ceil."""

import math

import torch
from torch import nn
from torch.nn import functional as F


class CenteredLayer(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, X):
        return X - torch.mean(X)


class MyLinear(nn.Module):
    def __init__(self, in_units: int, units: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(data=torch.randn(size=(in_units, units)), requires_grad=True)
        self.bias = nn.Parameter(data=torch.randn(size=(units,)), requires_grad=True)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return F.relu(input=torch.matmul(input=X, other=self.weight) + self.bias)


class TensorReduction(nn.Module):
    """Slow but correct: one term (i, j) at a time."""

    def __init__(self, in_units, units):
        super().__init__()
        self.in_units = in_units
        self.units = units
        self.weight = nn.Parameter(torch.randn(in_units, in_units, units))

    def forward(self, X):
        Y = torch.zeros(X.shape[0], self.units, dtype=X.dtype)
        for i in range(self.in_units):
            for j in range(self.in_units):
                Y = Y + (X[:, i] * X[:, j]).unsqueeze(1) * self.weight[i, j]
        return Y


class FourierHalf(nn.Module):
    def forward(self, X):
        n = X.shape[-1]
        return torch.fft.fft(X, dim=-1)[..., : math.ceil(n / 2)]
