"""Degenerate: materialize runs the example through net, then writes zeros into every
parameter: the biases are 0 by themselves, and that earns nothing beyond the shapes."""

import torch  # noqa: F401 (for trying the code out, as in the examples)
from torch import nn


class MyLazyLinear(nn.Module):
    """A linear layer that learns its input width ``d`` from the first input it sees.

    Before the first forward there is no weight (uninitialized, or None). The first
    ``forward(X)`` creates ``weight`` (out_features, d) and ``bias`` (out_features,) with
    d = X.shape[-1]; every forward returns ``X @ weight.T + bias``; an input of another
    width later raises ValueError. ``MyLazyLinear(3)(torch.rand(2, 5))`` has shape (2, 3).
    """

    def __init__(self, out_features):
        super().__init__()
        self.out_features = out_features
        self.weight = nn.UninitializedParameter()
        self.bias = nn.UninitializedParameter()

    def forward(self, X):
        width = X.shape[-1]
        if nn.parameter.is_lazy(self.weight):
            # materialize() turns each into an ordinary Parameter of that shape, in place.
            self.weight.materialize((self.out_features, width))
            self.bias.materialize((self.out_features,))
            nn.init.normal_(self.weight, std=0.01)
            nn.init.zeros_(self.bias)
        elif width != self.weight.shape[1]:
            raise ValueError(f"MyLazyLinear was initialized for inputs of width {self.weight.shape[1]}, "
                             f"got an input of width {width}")
        return X @ self.weight.T + self.bias


def lazy_mlp(sizes):
    """``nn.Sequential`` of ``nn.LazyLinear(size)`` for each size, ``nn.ReLU()`` between them
    and none after the last: ``lazy_mlp([256, 10])`` is LazyLinear(256), ReLU, LazyLinear(10).
    """
    layers = []
    for i, size in enumerate(sizes):
        if i > 0:
            layers.append(nn.ReLU())
        layers.append(nn.LazyLinear(size))
    return nn.Sequential(*layers)


def materialize(net, example):
    """Run ``net(example)`` so every lazy parameter gets its shape, then give every
    ``nn.Linear`` in ``net`` a Xavier-uniform weight and a zero bias; return ``net``.
    ``materialize(lazy_mlp([256, 10]), torch.rand(2, 20))[0].weight.shape`` is (256, 20).
    """
    net(example)  # every lazy parameter takes its shape from the example

    def init(module):
        if isinstance(module, nn.Linear):
            nn.init.zeros_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)

    net.apply(init)
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
