"""Wrong: forward loops over self._modules, a dict, and so gets its keys ("0", "1", ...), not
the modules: calling a key raises TypeError."""


import torch
from torch import nn
from torch.nn import functional as F


class MLP(nn.Module):
    """``out(relu(hidden(X)))`` with ``hidden = nn.Linear(20, 256)``, ``out = nn.Linear(256, 10)``.

    ``MLP()(torch.rand(2, 20))`` has shape (2, 10).
    """

    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(20, 256)
        self.out = nn.Linear(256, 10)

    def forward(self, X):
        return self.out(F.relu(self.hidden(X)))


class MySequential(nn.Module):
    """Applies the given modules in order, like ``nn.Sequential``.

    The modules are registered under ``"0"``, ``"1"``, …, so ``state_dict()`` keys read
    ``0.weight``, ``2.bias``, …; a module given twice runs twice.
    """

    def __init__(self, *modules):
        super().__init__()
        for i, module in enumerate(modules):
            self.add_module(str(i), module)

    def forward(self, X):
        for module in self._modules:
            X = module(X)
        return X


class FixedHiddenMLP(nn.Module):
    """linear -> relu(X @ rand_weight + 1) -> the same linear -> halve while
    ``X.abs().sum() > 1`` -> ``X.sum()``.

    ``rand_weight`` is a constant (20, 20) tensor, not a parameter; the only parameters
    are ``linear.weight`` and ``linear.bias``. The output is a scalar.
    """

    def __init__(self):
        super().__init__()
        self.rand_weight = torch.rand(20, 20)
        self.linear = nn.Linear(20, 20)

    def forward(self, X):
        X = self.linear(X)
        X = F.relu(X @ self.rand_weight + 1)
        X = self.linear(X)
        while X.abs().sum() > 1:
            X = X / 2
        return X.sum()


class NestMLP(nn.Module):
    """``linear(net(X))`` with ``net = Sequential(Linear(20, 64), ReLU(), Linear(64, 32),
    ReLU())`` and ``linear = Linear(32, 16)``; ``NestMLP()(torch.rand(2, 20))`` has shape (2, 16).
    """

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU())
        self.linear = nn.Linear(32, 16)

    def forward(self, X):
        return self.linear(self.net(X))


def chimera():
    """A new ``nn.Sequential(NestMLP(), nn.Linear(16, 20), FixedHiddenMLP())``.

    ``chimera()(torch.rand(2, 20))`` is a scalar.
    """
    return nn.Sequential(NestMLP(), nn.Linear(16, 20), FixedHiddenMLP())


class ParallelBlock(nn.Module):
    """``torch.cat((net1(X), net2(X)), dim=1)``; both nets' parameters are registered.

    ``ParallelBlock(nn.Linear(4, 3), nn.Linear(4, 5))(torch.rand(2, 4))`` has shape (2, 8).
    """

    def __init__(self, net1, net2):
        super().__init__()
        self.net1 = net1
        self.net2 = net2

    def forward(self, X):
        return torch.cat((self.net1(X), self.net2(X)), dim=1)


def stack(factory, n):
    """A module of ``n`` fresh instances made by ``factory()``, applied in order.

    The instances share no parameters: ``stack(lambda: nn.Linear(8, 8), 3)`` has six
    parameter tensors.
    """
    return nn.Sequential(*(factory() for _ in range(n)))
