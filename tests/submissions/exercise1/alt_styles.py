"""Correct, in other styles: register_module, a buffer, keyword arguments, nn.ModuleList,
an nn.ReLU submodule, an in-place halving loop."""

import torch
from torch import nn


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(in_features=20, out_features=256)
        self.act = nn.ReLU()
        self.out = nn.Linear(in_features=256, out_features=10)

    def forward(self, X):
        return self.out(self.act(self.hidden(X)))


class MySequential(nn.Module):
    def __init__(self, *modules):
        super().__init__()
        for index, module in enumerate(modules):
            self.register_module(name=str(index), module=module)

    def forward(self, X):
        for block in self._modules.values():
            X = block(X)
        return X


class FixedHiddenMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("rand_weight", torch.rand(size=(20, 20)))
        self.linear = nn.Linear(in_features=20, out_features=20)

    def forward(self, X):
        X = self.linear(X)
        X = torch.relu(torch.mm(X, self.rand_weight) + 1)
        X = self.linear(X)
        while X.abs().sum() > 1:
            X /= 2
        return X.sum()


class NestMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_features=20, out_features=64), nn.ReLU(),
            nn.Linear(in_features=64, out_features=32), nn.ReLU(),
        )
        self.linear = nn.Linear(in_features=32, out_features=16)

    def forward(self, X):
        return self.linear(self.net(X))


def chimera():
    return nn.Sequential(NestMLP(), nn.Linear(in_features=16, out_features=20), FixedHiddenMLP())


class ParallelBlock(nn.Module):
    def __init__(self, net1, net2):
        super().__init__()
        self.add_module("net1", net1)
        self.add_module("net2", net2)

    def forward(self, X):
        return torch.cat(tensors=[self.net1(X), self.net2(X)], dim=1)


class Stack(nn.Module):
    def __init__(self, blocks):
        super().__init__()
        self.blocks = nn.ModuleList(blocks)

    def forward(self, X):
        for block in self.blocks:
            X = block(X)
        return X


def stack(factory, n):
    return Stack([factory() for _ in range(n)])
