"""Correct, in other styles: self._modules[str(i)], indexing by position, torch.matmul,
a constant made with requires_grad=False, cat with a positional dim, setattr in stack."""

import torch
import torch.nn.functional as F
from torch import nn


class MLP(nn.Module):
    def __init__(self):
        nn.Module.__init__(self)
        self.hidden, self.out = nn.Linear(20, 256), nn.Linear(256, 10)

    def forward(self, X):
        return self.out(F.relu(self.hidden(X)))


class MySequential(nn.Module):
    def __init__(self, *args):
        super().__init__()
        for idx, module in enumerate(args):
            self._modules[str(idx)] = module

    def forward(self, X):
        for idx in range(len(self._modules)):
            X = self._modules[str(idx)](X)
        return X


class FixedHiddenMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.rand_weight = torch.rand((20, 20), requires_grad=False)
        self.linear = nn.Linear(20, 20)

    def forward(self, X):
        X = self.linear(X)
        X = F.relu(torch.matmul(X, self.rand_weight) + 1)
        X = self.linear(X)
        while X.abs().sum() > 1:
            X = X * 0.5
        return X.sum()


class NestMLP(nn.Module):
    def __init__(self):
        super().__init__()
        layers = [nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU()]
        self.net = nn.Sequential(*layers)
        self.linear = nn.Linear(32, 16)

    def forward(self, X):
        X = self.net(X)
        return self.linear(X)


def chimera():
    net = nn.Sequential()
    net.append(NestMLP())
    net.append(nn.Linear(16, 20))
    net.append(FixedHiddenMLP())
    return net


class ParallelBlock(nn.Module):
    def __init__(self, net1, net2):
        super().__init__()
        self.nets = nn.ModuleList([net1, net2])

    def forward(self, X):
        return torch.cat([net(X) for net in self.nets], 1)


class Stacked(nn.Module):
    def __init__(self, factory, n):
        super().__init__()
        self.n = n
        for i in range(n):
            setattr(self, f"block{i}", factory())

    def forward(self, X):
        for i in range(self.n):
            X = getattr(self, f"block{i}")(X)
        return X


def stack(factory, n):
    return Stacked(factory, n)
