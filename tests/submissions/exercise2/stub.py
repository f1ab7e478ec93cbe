# %% [markdown]
# # Exercise 2: parameter management
#
# This exercise follows the section "Parameter Management" of *Dive into Deep Learning*
# (chapter "Deep Learning Computation"). You will list and count the parameters of a
# network, build a network of nested blocks, write the section's initializers, and tie
# parameters between layers.
#
# Fill in every place that raises `NotImplementedError`. Keep the function names and the
# signatures as they are: the grader looks for exactly these names.
#
# When you are done, grade your work from a terminal:
#
# ```
# grade exercise2
# ```
#
# There are 20 checks worth 28 points. Each check names the function and the property it
# tested, and a failed check shows the input that broke it, what was expected and what your
# code returned. The initializers are checked statistically, on large layers and a fixed
# seed, with bounds that a correct initializer breaks with probability below 1e-9.

# %%
import torch  # noqa: F401 (unused until you fill in the functions)
from torch import nn  # noqa: F401

# %% [markdown]
# ## 1. Accessing parameters: `param_shapes` and `count_params`
#
# Every module lists its parameters with `named_parameters()`: pairs of a name such as
# `"0.weight"` (the path of the module, then the parameter's own name) and the parameter.
# A module that appears twice in a network (section 5 below) is listed once.
#
# Your `param_shapes(net)` must return a list with one pair `(name, tuple(shape))` for
# every parameter, in the order of `named_parameters()`.
#
# Your `count_params(net)` must return the total number of scalar parameters: a weight of
# shape `(8, 4)` counts 32. A parameter shared by two layers counts once. Buffers, such as
# a batch normalization's running mean, are not parameters.
#
# ```python
# net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
# param_shapes(net)  # [('0.weight', (8, 4)), ('0.bias', (8,)), ('2.weight', (1, 8)), ('2.bias', (1,))]
# count_params(net)  # 49
# ```


# %%
def param_shapes(net):
    """``[(name, tuple(shape)), ...]`` for every parameter of ``net``, in the order of
    ``net.named_parameters()``: for ``nn.Sequential(nn.Linear(4, 8))``,
    ``[('0.weight', (8, 4)), ('0.bias', (8,))]``.
    """
    raise NotImplementedError("return [(name, tuple(p.shape)) for each pair of net.named_parameters()]")


def count_params(net):
    """The number of scalar parameters of ``net``; a tied parameter counts once:
    ``count_params(nn.Linear(4, 8))`` is 40.
    """
    raise NotImplementedError("add up p.numel() over net.parameters(), which lists a tied parameter once")


# %% [markdown]
# ## 2. Nested blocks: `rgnet`
#
# Blocks nest: a block can hold blocks that hold blocks. The section builds a network of
# four identical blocks, each given a name of its own with `add_module`:
#
# - `block1()` returns `nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4), nn.ReLU())`;
# - `block2()` returns an `nn.Sequential` holding four fresh `block1()`, named `"block 0"`,
#   `"block 1"`, `"block 2"` and `"block 3"`;
# - `rgnet()` returns `nn.Sequential(block2(), nn.Linear(4, 1))`.
#
# ```python
# net = rgnet()
# net(torch.rand(2, 4)).shape       # torch.Size([2, 1])
# net[0][1][0].bias.shape           # the first layer of "block 1": torch.Size([8])
# param_shapes(net)[0]              # ('0.block 0.0.weight', (8, 4))
# ```


# %%
def block1():
    """``nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4), nn.ReLU())``."""
    raise NotImplementedError("return an nn.Sequential of Linear(4, 8), ReLU, Linear(8, 4), ReLU")


def block2():
    """Four fresh ``block1()`` in an ``nn.Sequential``, named ``"block 0"`` … ``"block 3"``."""
    raise NotImplementedError("add four block1() to an nn.Sequential() with add_module(f'block {i}', ...)")


def rgnet():
    """``nn.Sequential(block2(), nn.Linear(4, 1))``: maps (batch, 4) to (batch, 1)."""
    raise NotImplementedError("return nn.Sequential(block2(), nn.Linear(4, 1))")


# %% [markdown]
# ## 3. Built-in initialization
#
# `net.apply(fn)` calls `fn(m)` on every module `m` of `net`, nested ones and `net` itself
# included. An initializer therefore looks at the module it is given, changes it only if
# it is an `nn.Linear`, and leaves every other module (a `ReLU`, a `BatchNorm1d`, a
# `Conv1d`, the `Sequential` itself, …) exactly as it was. `nn.init` has functions that
# fill a tensor in place: `nn.init.normal_`, `nn.init.zeros_`, `nn.init.constant_`,
# `nn.init.xavier_uniform_`, `nn.init.uniform_`.
#
# Write four initializers; each takes one module `m` and returns nothing:
# - `init_normal(m)`: every weight drawn from the normal distribution with mean 0 and
#   standard deviation 0.01, every bias 0;
# - `init_constant(m)`: every weight 1, every bias 0;
# - `init_xavier(m)`: the weight drawn from Xavier's uniform distribution
#   U(-a, a) with a = sqrt(6 / (fan_in + fan_out)), where fan_in = `in_features` and
#   fan_out = `out_features` (the bias is yours to leave or set);
# - `init_42(m)`: every weight 42 (the bias is yours to leave or set).
#
# ```python
# net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
# net.apply(init_constant)
# net[0].weight[0], net[0].bias[0]  # (tensor([1., 1., 1., 1.], ...), tensor(0., ...))
# ```


# %%
def init_normal(m):
    """For an ``nn.Linear`` ``m``: weight ~ N(0, 0.01²), bias 0; other modules untouched."""
    raise NotImplementedError("if m is an nn.Linear: normal_ weight (mean 0, std 0.01), zeros_ bias")


def init_constant(m):
    """For an ``nn.Linear`` ``m``: weight 1, bias 0; other modules untouched."""
    raise NotImplementedError("if m is an nn.Linear: constant_ weight 1, zeros_ bias")


def init_xavier(m):
    """For an ``nn.Linear`` ``m``: weight ~ U(-a, a), a = sqrt(6 / (fan_in + fan_out));
    other modules untouched."""
    raise NotImplementedError("if m is an nn.Linear: xavier_uniform_ its weight")


def init_42(m):
    """For an ``nn.Linear`` ``m``: weight 42; other modules untouched."""
    raise NotImplementedError("if m is an nn.Linear: constant_ weight 42")


# %% [markdown]
# ## 4. A custom initializer: `my_init`
#
# The section ends with an initializer that no built-in function provides: each weight is
#
# - drawn from U(5, 10) with probability 1/4,
# - exactly 0 with probability 1/2,
# - drawn from U(-10, -5) with probability 1/4.
#
# (Hint: draw from U(-10, 10), then set to 0 every entry whose absolute value is below 5.)
# Like the others, `my_init(m)` changes `nn.Linear` modules only; it need not touch the bias.
#
# ```python
# layer = nn.Linear(100, 100)
# my_init(layer)
# (layer.weight == 0).float().mean()  # close to 0.5
# layer.weight.abs().max()            # at most 10
# ```


# %%
def my_init(m):
    """For an ``nn.Linear`` ``m``: each weight 0 w.p. 1/2, from U(5, 10) w.p. 1/4 and from
    U(-10, -5) w.p. 1/4; other modules untouched."""
    raise NotImplementedError("if m is an nn.Linear: uniform_ on (-10, 10), then zero entries with |w| < 5")


# %% [markdown]
# ## 5. Tied parameters: `tied_net`
#
# To share parameters between layers, build the layer once and use the same object twice.
# The two places then hold the same tensors, in the same memory: changing one changes the
# other, and in a backward pass the shared parameter's gradient adds up the gradients of
# both uses.
#
# Your `tied_net()` must return
# `nn.Sequential(nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(), nn.Linear(8, 1))`
# where `shared` is one `nn.Linear(8, 8)`, so that layers 2 and 4 are the same module. Two
# separate `nn.Linear(8, 8)` with equal values are not tied, and neither is a copy.
#
# ```python
# net = tied_net()
# net[2].weight is net[4].weight     # True
# net(torch.rand(2, 4)).shape        # torch.Size([2, 1])
# count_params(net)                  # 40 + 72 + 9 = 121
# ```


# %%
def tied_net():
    """``Sequential(Linear(4, 8), ReLU, shared, ReLU, shared, ReLU, Linear(8, 1))`` with one
    ``shared = nn.Linear(8, 8)``: layers 2 and 4 are the same module."""
    raise NotImplementedError("make shared = nn.Linear(8, 8) once; put it at positions 2 and 4")
