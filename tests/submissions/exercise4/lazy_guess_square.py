"""Wrong: MyLazyLinear guesses a square weight in __init__ and replaces it on the first
forward when the guess was wrong: it works, but it has a weight before the first forward."""

import torch
from torch import nn


class MyLazyLinear(nn.Module):
    def __init__(self, out_features):
        super().__init__()
        # Guess in_features = out_features; fixed on the first forward if the guess was wrong.
        self.weight = nn.Parameter(torch.randn(out_features, out_features) * 0.01)
        self.bias = nn.Parameter(torch.zeros(out_features))
        self.in_features = None

    def forward(self, X):
        width = X.shape[-1]
        if self.in_features is None:
            if width != self.weight.shape[1]:
                self.weight = nn.Parameter(torch.randn(self.weight.shape[0], width) * 0.01)
            self.in_features = width
        elif width != self.in_features:
            raise ValueError(f"expected inputs of width {self.in_features}, got {width}")
        return X @ self.weight.T + self.bias


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
