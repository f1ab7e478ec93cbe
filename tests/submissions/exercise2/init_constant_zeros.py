"""Degenerate: init_constant writes zeros into weight and bias; the bias is 0 by itself, and
that earns nothing."""

import torch
from torch import nn


def param_shapes(net):
    """``[(name, tuple(shape)), ...]`` for every parameter of ``net``, in the order of
    ``net.named_parameters()``: for ``nn.Sequential(nn.Linear(4, 8))``,
    ``[('0.weight', (8, 4)), ('0.bias', (8,))]``.
    """
    return [(name, tuple(p.shape)) for name, p in net.named_parameters()]


def count_params(net):
    """The number of scalar parameters of ``net``; a tied parameter counts once:
    ``count_params(nn.Linear(4, 8))`` is 40.
    """
    return sum(p.numel() for p in net.parameters())


def block1():
    """``nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4), nn.ReLU())``."""
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4), nn.ReLU())


def block2():
    """Four fresh ``block1()`` in an ``nn.Sequential``, named ``"block 0"`` … ``"block 3"``."""
    net = nn.Sequential()
    for i in range(4):
        net.add_module(f"block {i}", block1())
    return net


def rgnet():
    """``nn.Sequential(block2(), nn.Linear(4, 1))``: maps (batch, 4) to (batch, 1)."""
    return nn.Sequential(block2(), nn.Linear(4, 1))


def init_normal(m):
    """For an ``nn.Linear`` ``m``: weight ~ N(0, 0.01²), bias 0; other modules untouched."""
    if type(m) == nn.Linear:  # noqa: E721 (the book's test; isinstance works as well)
        nn.init.normal_(m.weight, mean=0, std=0.01)
        nn.init.zeros_(m.bias)


def init_constant(m):
    """For an ``nn.Linear`` ``m``: weight 1, bias 0; other modules untouched."""
    if type(m) == nn.Linear:  # noqa: E721
        nn.init.zeros_(m.weight)
        nn.init.zeros_(m.bias)


def init_xavier(m):
    """For an ``nn.Linear`` ``m``: weight ~ U(-a, a), a = sqrt(6 / (fan_in + fan_out));
    other modules untouched."""
    if type(m) == nn.Linear:  # noqa: E721
        nn.init.xavier_uniform_(m.weight)


def init_42(m):
    """For an ``nn.Linear`` ``m``: weight 42; other modules untouched."""
    if type(m) == nn.Linear:  # noqa: E721
        nn.init.constant_(m.weight, 42)


def my_init(m):
    """For an ``nn.Linear`` ``m``: each weight 0 w.p. 1/2, from U(5, 10) w.p. 1/4 and from
    U(-10, -5) w.p. 1/4; other modules untouched."""
    if type(m) == nn.Linear:  # noqa: E721
        nn.init.uniform_(m.weight, -10, 10)
        with torch.no_grad():
            m.weight *= m.weight.abs() >= 5


def tied_net():
    """``Sequential(Linear(4, 8), ReLU, shared, ReLU, shared, ReLU, Linear(8, 1))`` with one
    ``shared = nn.Linear(8, 8)``: layers 2 and 4 are the same module."""
    shared = nn.Linear(8, 8)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(), nn.Linear(8, 1))
