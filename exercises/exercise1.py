# %% [markdown]
# # Exercise 1: layers and blocks
#
# This exercise follows the section "Layers and Modules" of *Dive into Deep Learning*
# (chapter "Deep Learning Computation"). You will build networks out of modules: a small
# MLP, your own version of `nn.Sequential`, a module whose forward runs arbitrary Python
# code, modules nested inside modules, and the two constructions that the section's
# exercises ask for: a parallel module and a factory of stacked modules.
#
# Fill in every place that raises `NotImplementedError`. Keep the names and the signatures
# as they are: the grader looks for exactly these names.
#
# When you are done, grade your work from a terminal:
#
# ```
# grade exercise1
# ```
#
# There are 16 checks worth 32 points. Each check names the class or function and the
# property it tested, and a failed check shows the input that broke it, what was expected
# and what your code returned.

# %%
import torch  # noqa: F401 (unused until you fill in the classes)
from torch import nn
from torch.nn import functional as F  # noqa: F401

# %% [markdown]
# ## 1. A custom module: `MLP`
#
# A module is a subclass of `nn.Module` with two methods: `__init__` creates the layers
# (call `super().__init__()` first, so that `nn.Module` can register them) and `forward`
# says how the input flows through them.
#
# Your `MLP()` must
# - have a hidden layer `hidden = nn.Linear(20, 256)` and an output layer
#   `out = nn.Linear(256, 10)`;
# - return `out(relu(hidden(X)))` for `X` of shape `(batch, 20)`.
#
# ```python
# net = MLP()
# net(torch.rand(2, 20)).shape            # torch.Size([2, 10])
# [name for name, _ in net.named_parameters()]
# # ['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']
# ```


# %%
class MLP(nn.Module):
    """``out(relu(hidden(X)))`` with ``hidden = nn.Linear(20, 256)``, ``out = nn.Linear(256, 10)``.

    ``MLP()(torch.rand(2, 20))`` has shape (2, 10).
    """

    def __init__(self):
        raise NotImplementedError("create hidden and out after super().__init__()")

    def forward(self, X):
        raise NotImplementedError("return out(relu(hidden(X)))")


# %% [markdown]
# ## 2. Your own `nn.Sequential`: `MySequential`
#
# `nn.Sequential` chains modules: the output of one is the input of the next. Write your
# own. The modules must be *registered* as children of your module, under the names
# `"0"`, `"1"`, `"2"`, … in the order given (use `self.add_module(str(i), module)`): then
# `state_dict()` lists their parameters as `0.weight`, `0.bias`, `2.weight`, …,
# `parameters()` hands them to an optimizer, and `.eval()` reaches them. Modules kept in a
# plain Python list are invisible to all of that.
#
# Your `MySequential(*modules)` must
# - register the modules under `"0"`, `"1"`, … in the given order;
# - apply them in that order, like `nn.Sequential`, for any chain, nested ones too;
# - apply a module as often as it appears: `MySequential(layer, nn.ReLU(), layer)` uses the
#   same `layer` twice. (`self.children()` lists a module only once, so loop over
#   `self._modules.values()` instead.)
#
# ```python
# net = MySequential(nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 10))
# net(torch.rand(2, 20)).shape   # torch.Size([2, 10])
# list(net.state_dict())         # ['0.weight', '0.bias', '2.weight', '2.bias']
# ```


# %%
class MySequential(nn.Module):
    """Applies the given modules in order, like ``nn.Sequential``.

    The modules are registered under ``"0"``, ``"1"``, …, so ``state_dict()`` keys read
    ``0.weight``, ``2.bias``, …; a module given twice runs twice.
    """

    def __init__(self, *modules):
        raise NotImplementedError("register each module with self.add_module(str(i), module)")

    def forward(self, X):
        raise NotImplementedError("apply the modules in self._modules.values() in order")


# %% [markdown]
# ## 3. Code in the forward pass: `FixedHiddenMLP`
#
# A forward method is ordinary Python: it may use constants, reuse a layer, and loop. The
# section's `FixedHiddenMLP` does all three. Its `rand_weight` is a constant: a tensor that
# is *not* a parameter, so that training never changes it and it gets no gradient (a plain
# attribute holding `torch.rand(20, 20)` will do, and so will a buffer made with
# `self.register_buffer`).
#
# Your `FixedHiddenMLP()` must
# - hold `rand_weight`, a constant `(20, 20)` tensor drawn once in `__init__`, not a
#   parameter, and `linear = nn.Linear(20, 20)`;
# - in `forward`, for `X` of shape `(batch, 20)`:
#   1. `X = linear(X)`;
#   2. `X = relu(X @ rand_weight + 1)`;
#   3. `X = linear(X)` again: the same layer, so both uses share its parameters;
#   4. halve `X` while `X.abs().sum() > 1`;
#   5. return the scalar `X.sum()`.
#
# ```python
# net = FixedHiddenMLP()
# y = net(torch.rand(2, 20))
# y.shape, abs(float(y)) <= 1     # (torch.Size([]), True)
# [name for name, _ in net.named_parameters()]   # ['linear.weight', 'linear.bias']
# ```


# %%
class FixedHiddenMLP(nn.Module):
    """linear -> relu(X @ rand_weight + 1) -> the same linear -> halve while
    ``X.abs().sum() > 1`` -> ``X.sum()``.

    ``rand_weight`` is a constant (20, 20) tensor, not a parameter; the only parameters
    are ``linear.weight`` and ``linear.bias``. The output is a scalar.
    """

    def __init__(self):
        raise NotImplementedError("create the constant rand_weight and linear = nn.Linear(20, 20)")

    def forward(self, X):
        raise NotImplementedError("linear, relu(X @ rand_weight + 1), linear again, halve, then X.sum()")


# %% [markdown]
# ## 4. Modules inside modules: `NestMLP` and `chimera`
#
# Modules nest: a module may hold an `nn.Sequential`, which holds layers, and any of them
# can go into another `nn.Sequential`.
#
# Your `NestMLP()` must
# - hold `net = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU())`
#   and `linear = nn.Linear(32, 16)`;
# - return `linear(net(X))` for `X` of shape `(batch, 20)`.
#
# Your `chimera()` must return a new
# `nn.Sequential(NestMLP(), nn.Linear(16, 20), FixedHiddenMLP())`.
#
# ```python
# NestMLP()(torch.rand(2, 20)).shape   # torch.Size([2, 16])
# chimera()(torch.rand(2, 20)).shape   # torch.Size([]): FixedHiddenMLP returns a scalar
# ```


# %%
class NestMLP(nn.Module):
    """``linear(net(X))`` with ``net = Sequential(Linear(20, 64), ReLU(), Linear(64, 32),
    ReLU())`` and ``linear = Linear(32, 16)``; ``NestMLP()(torch.rand(2, 20))`` has shape (2, 16).
    """

    def __init__(self):
        raise NotImplementedError("create net (an nn.Sequential) and linear after super().__init__()")

    def forward(self, X):
        raise NotImplementedError("return linear(net(X))")


# %%
def chimera():
    """A new ``nn.Sequential(NestMLP(), nn.Linear(16, 20), FixedHiddenMLP())``.

    ``chimera()(torch.rand(2, 20))`` is a scalar.
    """
    raise NotImplementedError("return nn.Sequential(NestMLP(), nn.Linear(16, 20), FixedHiddenMLP())")


# %% [markdown]
# ## 5. A parallel module: `ParallelBlock`
#
# The section's second exercise: a module that takes two networks `net1` and `net2`, runs
# both on the same input and concatenates their outputs.
#
# Your `ParallelBlock(net1, net2)` must
# - register both networks, so that its `parameters()` include theirs;
# - return `torch.cat((net1(X), net2(X)), dim=1)`: the features side by side, one row per
#   example.
#
# ```python
# block = ParallelBlock(nn.Linear(4, 3), nn.Linear(4, 5))
# block(torch.rand(2, 4)).shape   # torch.Size([2, 8])
# len(list(block.parameters()))   # 4
# ```


# %%
class ParallelBlock(nn.Module):
    """``torch.cat((net1(X), net2(X)), dim=1)``; both nets' parameters are registered.

    ``ParallelBlock(nn.Linear(4, 3), nn.Linear(4, 5))(torch.rand(2, 4))`` has shape (2, 8).
    """

    def __init__(self, net1, net2):
        raise NotImplementedError("register net1 and net2 as attributes after super().__init__()")

    def forward(self, X):
        raise NotImplementedError("concatenate net1(X) and net2(X) along dim 1")


# %% [markdown]
# ## 6. Many instances of one network: `stack`
#
# The section's third exercise: a factory function that builds a larger network out of
# several instances of the same network. `factory` is a function that returns a new module
# each time it is called, for example `lambda: nn.Linear(8, 8)`.
#
# Your `stack(factory, n)` must return a module that
# - holds `n` fresh instances, one from each of `n` calls of `factory()`, registered so
#   that its `parameters()` include theirs; they share no parameters (calling `factory()`
#   once and using that module `n` times shares everything);
# - applies them in order, the first one made first, each to the previous one's output.
#
# ```python
# net = stack(lambda: nn.Linear(8, 8), 3)
# net(torch.rand(2, 8)).shape      # torch.Size([2, 8])
# len(list(net.parameters()))      # 6: three weights, three biases
# ```


# %%
def stack(factory, n):
    """A module of ``n`` fresh instances made by ``factory()``, applied in order.

    The instances share no parameters: ``stack(lambda: nn.Linear(8, 8), 3)`` has six
    parameter tensors.
    """
    raise NotImplementedError("call factory() n times and chain the results in a module")
