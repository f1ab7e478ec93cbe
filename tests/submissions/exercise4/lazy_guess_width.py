"""Wrong: MyLazyLinear guesses the input width in __init__ (20, as in the book's examples),
so it has a weight before the first forward and works for inputs of width 20 only."""

import torch
from torch import nn


class MyLazyLinear(nn.Module):
    def __init__(self, out_features):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, 20) * 0.01)
        self.bias = nn.Parameter(torch.zeros(out_features))

    def forward(self, X):
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
