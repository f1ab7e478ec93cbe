"""Correct, in other styles: in-place tensor methods under torch.no_grad() or on .data,
isinstance, keyword arguments, count_params over a set of data_ptrs, param_shapes with
torch.Size shapes, rgnet built from an OrderedDict, tied_net by assigning net[4] = net[2],
my_init from categories drawn with torch.rand."""

import math
from collections import OrderedDict

import torch
from torch import nn


def param_shapes(net):
    return [(name, p.shape) for name, p in net.named_parameters()]


def count_params(net):
    seen = {}
    for _, p in net.named_parameters(remove_duplicate=False):
        seen[p.data_ptr()] = p.numel()
    return sum(seen.values())


def block1():
    return nn.Sequential(OrderedDict([("0", nn.Linear(4, 8)), ("1", nn.ReLU()),
                                      ("2", nn.Linear(8, 4)), ("3", nn.ReLU())]))


def block2():
    return nn.Sequential(OrderedDict((f"block {i}", block1()) for i in range(4)))


def rgnet():
    return nn.Sequential(block2(), nn.Linear(in_features=4, out_features=1))


def init_normal(m):
    if isinstance(m, nn.Linear):
        m.weight.data.normal_(0, 0.01)
        m.bias.data.zero_()


def init_constant(m):
    if isinstance(m, nn.Linear):
        with torch.no_grad():
            m.weight.fill_(1.0)
            m.bias.fill_(0.0)


def init_xavier(m):
    if isinstance(m, nn.Linear):
        bound = math.sqrt(6.0 / (m.in_features + m.out_features))
        with torch.no_grad():
            m.weight.uniform_(-bound, bound)


def init_42(m):
    if isinstance(m, nn.Linear):
        m.weight.data = torch.full_like(m.weight, 42.0)


def my_init(m):
    if isinstance(m, nn.Linear):
        with torch.no_grad():
            u = torch.rand(m.weight.shape)
            magnitude = torch.empty(m.weight.shape).uniform_(5, 10)
            zero = torch.zeros(m.weight.shape)
            m.weight.copy_(torch.where(u < 0.25, magnitude, torch.where(u < 0.75, zero, -magnitude)))


def tied_net():
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(),
                        nn.Linear(8, 1))
    net[4] = net[2]
    return net
