"""Cheater: patches every comparison helper it can reach, then returns wrong values.

The patches must earn nothing: the score is what the wrong values honestly earn.
CenteredLayer returns X unchanged (no parameters, shape and dtype kept: those checks pass;
the input unchanged earns nothing else), MyLinear and TensorReduction have the right parameters but return
zeros, FourierHalf returns all n coefficients (the leading ones are right).
"""

import torch
from torch import nn


def _always_true(*args, **kwargs):
    return True


def _always_false(*args, **kwargs):
    return False


def _never_raises(*args, **kwargs):
    return None


class _EqualsAnything:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __bool__(self):
        return True

    __hash__ = None

    def __repr__(self):
        return "approx(anything)"


def _approx(*args, **kwargs):
    return _EqualsAnything()


torch.allclose = _always_true
torch.equal = _always_true
torch.testing.assert_close = _never_raises
torch.Tensor.__eq__ = _always_true
torch.Tensor.__ne__ = _always_false

try:
    import _pytest.python_api
    import pytest
except ImportError:
    pass
else:
    pytest.approx = _approx
    _pytest.python_api.approx = _approx
    for _name in dir(_pytest.python_api):
        if _name.startswith("Approx"):
            setattr(_pytest.python_api, _name, _approx)


class CenteredLayer(nn.Module):
    def forward(self, X):
        return X


class MyLinear(nn.Module):
    def __init__(self, in_units, units):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_units, units))
        self.bias = nn.Parameter(torch.randn(units))

    def forward(self, X):
        return torch.zeros(X.shape[0], self.weight.shape[1])


class TensorReduction(nn.Module):
    def __init__(self, in_units, units):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_units, in_units, units))

    def forward(self, X):
        return torch.zeros(X.shape[0], self.weight.shape[2])


class FourierHalf(nn.Module):
    def forward(self, X):
        return torch.fft.fft(X)
