"""Correct, the way torch builds its own lazy layers: LazyModuleMixin calls
initialize_parameters before the first forward; torch.matmul; lazy_mlp with add_module;
materialize with torch.nn.init through named_modules and constant_."""

import torch
from torch import nn
from torch.nn.modules.lazy import LazyModuleMixin


class MyLazyLinear(LazyModuleMixin, nn.Module):
    def __init__(self, out_features):
        super().__init__()
        self.out_features = out_features
        self.weight = nn.UninitializedParameter()
        self.bias = nn.UninitializedParameter()

    def initialize_parameters(self, X):
        if self.has_uninitialized_params():
            with torch.no_grad():
                self.weight.materialize((self.out_features, X.shape[-1]))
                self.bias.materialize((self.out_features,))
                nn.init.kaiming_uniform_(self.weight)
                self.bias.zero_()

    def forward(self, X):
        in_features = self.weight.shape[1]
        if X.shape[-1] != in_features:
            raise ValueError(f"MyLazyLinear: got {X.shape[-1]} input features, expected {in_features}")
        return torch.matmul(X, self.weight.t()) + self.bias


def lazy_mlp(sizes):
    net = nn.Sequential()
    for i, size in enumerate(sizes):
        if i:
            net.add_module(f"relu{i}", nn.ReLU())
        net.add_module(f"linear{i}", nn.LazyLinear(size))
    return net


def materialize(net, example):
    _ = net(example)
    for _, module in net.named_modules():
        if isinstance(module, nn.Linear):
            torch.nn.init.xavier_uniform_(module.weight, gain=1.0)
            torch.nn.init.constant_(module.bias, 0.0)
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
