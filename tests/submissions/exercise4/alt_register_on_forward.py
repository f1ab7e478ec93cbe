"""Correct, in other styles: MyLazyLinear starts with weight None and an eager bias, and
creates an ordinary nn.Parameter on the first forward; F.linear; lazy_mlp from a list
comprehension; materialize under no_grad with a loop over net.modules() and uniform_ by hand."""

import math

import torch
from torch import nn
from torch.nn import functional as F


class MyLazyLinear(nn.Module):
    def __init__(self, out_features):
        super().__init__()
        self.out_features = out_features
        self.register_parameter("weight", None)
        self.bias = nn.Parameter(torch.zeros(out_features))  # its shape is known already

    def forward(self, X):
        if self.weight is None:
            self.weight = nn.Parameter(0.01 * torch.randn(self.out_features, X.shape[-1]))
        elif X.shape[-1] != self.weight.shape[-1]:
            raise ValueError(
                f"this layer takes inputs with {self.weight.shape[-1]} features, not {X.shape[-1]}")
        return F.linear(X, self.weight, self.bias)


def lazy_mlp(sizes):
    modules = [m for size in sizes for m in (nn.ReLU(), nn.LazyLinear(size))]
    return nn.Sequential(*modules[1:])


def materialize(net, example):
    with torch.no_grad():
        net(example)
        for m in net.modules():
            if type(m) is nn.Linear:
                fan_out, fan_in = m.weight.shape
                bound = math.sqrt(6.0 / (fan_in + fan_out))
                m.weight.uniform_(-bound, bound)
                m.bias.fill_(0.0)
    return net


# The exercise's later functions, solved as in the reference solution: this file's point
# is elsewhere.
import torch  # noqa: E402
from torch import nn  # noqa: E402


def partly_lazy_mlp(in_features, sizes):
    """``nn.Sequential`` of ``nn.Linear(in_features, sizes[0])`` then ``nn.LazyLinear(size)``
    for each later size, ``nn.ReLU()`` between them and none after the last:
    ``partly_lazy_mlp(20, [256, 10])`` is Linear(20, 256), ReLU, LazyLinear(10).
    """
    layers = [nn.Linear(in_features, sizes[0])]
    for size in sizes[1:]:
        layers += [nn.ReLU(), nn.LazyLinear(size)]
    return nn.Sequential(*layers)
