"""The nets and training loops of exercise5's checks, built the same way in the worker (by
the probes, around the student's save and load functions) and in the grader's process (by
the judges, which recompute what the student's code must reproduce). No student code here.

Training uses no randomness: fixed data, no dropout in the trained nets, full batches. So
the same initial state and data give the same parameters bit for bit in any process that
computes on one thread, as workers do (the judges switch to one thread to recompute).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

SGD = "SGD with momentum"
ADAM = "Adam"
SGD_LR, MOMENTUM = 0.05, 0.9
ADAM_LR, BETAS, EPS = 0.01, (0.9, 0.999), 1e-8


def mlp(sizes: list[int]) -> nn.Sequential:
    """``Linear`` layers of the given widths with ``Tanh`` between them: the trained net."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:], strict=False)):
        if i:
            layers.append(nn.Tanh())
        layers.append(nn.Linear(n_in, n_out))
    return nn.Sequential(*layers)


def bn_net(sizes: list[int]) -> nn.Sequential:
    """``Linear(d, h), BatchNorm1d(h), ReLU, Dropout(0.5), Linear(h, o)`` for sizes [d, h, o]:
    a net whose outputs depend on its mode and on buffers (the running statistics)."""
    d, h, o = sizes
    return nn.Sequential(nn.Linear(d, h), nn.BatchNorm1d(h), nn.ReLU(), nn.Dropout(0.5), nn.Linear(h, o))


def random_parameters(net: nn.Module, seed: int) -> dict[str, torch.Tensor]:
    """Values for every parameter of ``net`` (buffers keep their defaults), from ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    return {name: torch.randn(p.shape, generator=generator) * 0.5 for name, p in net.named_parameters()}


def with_parameters(net: nn.Module, values: dict[str, torch.Tensor]) -> nn.Module:
    with torch.no_grad():
        for name, p in net.named_parameters():
            p.copy_(values[name])
    return net


def run_in_train_mode(net: nn.Module, batches: list[torch.Tensor]) -> nn.Module:
    """Forward passes in training mode, without gradients: batch norm's running statistics
    move away from their defaults (dropout's randomness touches no state)."""
    net.train()
    with torch.no_grad():
        for x in batches:
            net(x)
    return net


def optimizer(kind: str, net: nn.Module) -> torch.optim.Optimizer:
    """The optimizer of the trained net (the student's checkpoints save and restore it)."""
    if kind == SGD:
        return torch.optim.SGD(net.parameters(), lr=SGD_LR, momentum=MOMENTUM)
    if kind == ADAM:
        return torch.optim.Adam(net.parameters(), lr=ADAM_LR, betas=BETAS, eps=EPS)
    raise ValueError(f"unknown optimizer {kind!r}")


def train(net: nn.Module, opt: torch.optim.Optimizer, batches: list[list[torch.Tensor]]) -> None:
    """One full-batch step of mean squared error per (X, y) in ``batches``."""
    for x, y in batches:
        opt.zero_grad()
        F.mse_loss(net(x), y).backward()
        opt.step()


def parameters(net: nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in net.named_parameters()}
