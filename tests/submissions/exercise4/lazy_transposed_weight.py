"""Wrong: MyLazyLinear stores its weight as (d, out_features), as MyLinear of exercise3 does,
instead of (out_features, d); the output is right for that weight."""

import torch
from torch import nn


class MyLazyLinear(nn.Module):
    def __init__(self, out_features):
        super().__init__()
        self.out_features = out_features
        self.weight = nn.UninitializedParameter()
        self.bias = nn.UninitializedParameter()

    def forward(self, X):
        width = X.shape[-1]
        if nn.parameter.is_lazy(self.weight):
            self.weight.materialize((width, self.out_features))
            self.bias.materialize((self.out_features,))
            nn.init.normal_(self.weight, std=0.01)
            nn.init.zeros_(self.bias)
        elif width != self.weight.shape[0]:
            raise ValueError(f"expected inputs of width {self.weight.shape[0]}, got {width}")
        return X @ self.weight + self.bias


def lazy_mlp(sizes):
    layers = []
    for i, size in enumerate(sizes):
        if i > 0:
            layers.append(nn.ReLU())
        layers.append(nn.LazyLinear(size))
    return nn.Sequential(*layers)


def init_xavier(module):
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        nn.init.zeros_(module.bias)


def materialize(net, example):
    net(example)
    net.apply(init_xavier)
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
