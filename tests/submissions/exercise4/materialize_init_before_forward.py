"""Wrong: materialize initializes before the forward pass, while the lazy parameters are
still uninitialized (torch raises a ValueError)."""

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
            self.weight.materialize((self.out_features, width))
            self.bias.materialize((self.out_features,))
            nn.init.normal_(self.weight, std=0.01)
            nn.init.zeros_(self.bias)
        elif width != self.weight.shape[1]:
            raise ValueError(f"expected inputs of width {self.weight.shape[1]}, got {width}")
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
    net.apply(init_xavier)
    net(example)
    return net
