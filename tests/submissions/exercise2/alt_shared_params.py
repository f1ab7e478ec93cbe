"""Correct, in other styles: torch.nn.init with positional arguments and explicit gain,
count_params over unique parameter objects, rgnet with add_module outside a loop helper,
and tied_net sharing the Parameter objects of two separate Linear modules (which truly
ties them: one tensor, one gradient)."""

import torch
import torch.nn as nn
import torch.nn.init as init


def param_shapes(net):
    shapes = []
    for name, param in net.named_parameters():
        shapes.append((name, tuple(param.size())))
    return shapes


def count_params(net):
    unique = {id(p): p for p in net.parameters()}
    return int(sum(torch.tensor(p.shape).prod() for p in unique.values()))


def block1():
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4), nn.ReLU())


def block2():
    net = nn.Sequential()
    net.add_module("block 0", block1())
    net.add_module("block 1", block1())
    net.add_module("block 2", block1())
    net.add_module("block 3", block1())
    return net


def rgnet():
    net = nn.Sequential()
    net.append(block2())
    net.append(nn.Linear(4, 1))
    return net


def init_normal(m):
    if type(m) is nn.Linear:
        init.normal_(m.weight, 0.0, 0.01)
        init.constant_(m.bias, 0.0)


def init_constant(m):
    if type(m) is nn.Linear:
        init.ones_(m.weight)
        init.zeros_(m.bias)


def init_xavier(m):
    if type(m) is nn.Linear:
        init.xavier_uniform_(m.weight, gain=1.0)
        init.zeros_(m.bias)


def init_42(m):
    if type(m) is nn.Linear:
        init.constant_(m.weight, val=42)


def my_init(m):
    if type(m) is nn.Linear:
        with torch.no_grad():
            w = torch.empty_like(m.weight).uniform_(-10, 10)
            m.weight.copy_(torch.where(w.abs() >= 5, w, torch.zeros_like(w)))


def tied_net():
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(),
                        nn.Linear(8, 1))
    net[4].weight = net[2].weight
    net[4].bias = net[2].bias
    return net
