"""Wrong: partly_lazy_mlp puts a ReLU after every layer, the last one too."""

# %% [markdown]
# # Exercise 4: deferred initialization
#
# This exercise follows the section "Lazy Initialization" of *Dive into Deep Learning*
# (chapter "Deep Learning Computation"). A lazy layer is told only how many outputs it has;
# it learns the width of its input from the first batch it sees, and creates its weight
# then. You will write such a layer yourself, build a network of PyTorch's own lazy layers,
# and initialize a lazy network once its parameters have their shapes.
#
# Fill in every place that raises `NotImplementedError`. Keep the names and the signatures
# as they are: the grader looks for exactly these names.
#
# When you are done, grade your work from a terminal:
#
# ```
# grade exercise4
# ```
#
# There are 14 checks worth 24 points. Each check names the class or function and the
# property it tested, and a failed check shows the input that broke it, what was expected
# and what your code returned.

# %%
import torch  # noqa: F401 (for trying the code out, as in the examples)
from torch import nn

# %% [markdown]
# ## 1. A lazy layer of your own: `MyLazyLinear`
#
# `nn.LazyLinear(out_features)` holds an `nn.UninitializedParameter` as its weight until the
# first forward pass; then it knows the input width `d = X.shape[-1]` and gives the weight
# its shape. Write that behaviour yourself.
#
# Your `MyLazyLinear(out_features)` must
# - have no weight before the first forward: `weight` is an uninitialized parameter
#   (`nn.UninitializedParameter()`, check with `nn.parameter.is_lazy`) or `None`;
# - on the first forward, create the parameters `weight` of shape `(out_features, d)` and
#   `bias` of shape `(out_features,)` (random weight values, for example from `torch.randn`
#   times 0.01; the bias may also be created in `__init__`, its shape is known there);
# - return `X @ weight.T + bias`, for `X` of shape `(..., d)`: any number of leading
#   dimensions, the last one is the width;
# - keep its parameters on later forward passes (an optimizer built after the first pass
#   holds them: never create them again);
# - raise a `ValueError` that says what went wrong when a later input has another width.
#
# ```python
# layer = MyLazyLinear(3)
# layer.weight                  # <UninitializedParameter> (or None)
# layer(torch.rand(2, 5)).shape  # torch.Size([2, 3])
# layer.weight.shape            # torch.Size([3, 5])
# layer(torch.rand(4, 7))       # ValueError: ... width 5 ... got 7
# ```


# %%
class MyLazyLinear(nn.Module):
    """A linear layer that learns its input width ``d`` from the first input it sees.

    Before the first forward there is no weight (uninitialized, or None). The first
    ``forward(X)`` creates ``weight`` (out_features, d) and ``bias`` (out_features,) with
    d = X.shape[-1]; every forward returns ``X @ weight.T + bias``; an input of another
    width later raises ValueError. ``MyLazyLinear(3)(torch.rand(2, 5))`` has shape (2, 3).
    """

    def __init__(self, out_features):
        super().__init__()
        self.out_features = out_features
        self.weight = nn.UninitializedParameter()
        self.bias = nn.UninitializedParameter()

    def forward(self, X):
        width = X.shape[-1]
        if nn.parameter.is_lazy(self.weight):
            # materialize() turns each into an ordinary Parameter of that shape, in place.
            self.weight.materialize((self.out_features, width))
            self.bias.materialize((self.out_features,))
            nn.init.normal_(self.weight, std=0.01)
            nn.init.zeros_(self.bias)
        elif width != self.weight.shape[1]:
            raise ValueError(f"MyLazyLinear was initialized for inputs of width {self.weight.shape[1]}, "
                             f"got an input of width {width}")
        return X @ self.weight.T + self.bias


# %% [markdown]
# ## 2. A network of lazy layers: `lazy_mlp`
#
# With lazy layers a network is written down by its output sizes only, as the section does
# with `nn.Sequential(nn.LazyLinear(256), nn.ReLU(), nn.LazyLinear(10))`.
#
# Your `lazy_mlp(sizes)` must return an `nn.Sequential` that holds, for the given
# (non-empty) list of output sizes, one `nn.LazyLinear(size)` per size, in order, with an
# `nn.ReLU()` between each two of them and none after the last one.
#
# ```python
# lazy_mlp([256, 10])
# # Sequential(
# #   (0): LazyLinear(in_features=0, out_features=256, bias=True)
# #   (1): ReLU()
# #   (2): LazyLinear(in_features=0, out_features=10, bias=True)
# # )
# ```


# %%
def lazy_mlp(sizes):
    """``nn.Sequential`` of ``nn.LazyLinear(size)`` for each size, ``nn.ReLU()`` between them
    and none after the last: ``lazy_mlp([256, 10])`` is LazyLinear(256), ReLU, LazyLinear(10).
    """
    layers = []
    for i, size in enumerate(sizes):
        if i > 0:
            layers.append(nn.ReLU())
        layers.append(nn.LazyLinear(size))
    return nn.Sequential(*layers)


# %% [markdown]
# ## 3. Initializing a lazy network: `materialize`
#
# An initializer cannot touch a parameter that has no shape yet: `nn.init.xavier_uniform_`
# on an uninitialized parameter raises an error. So a lazy network is initialized in two
# steps: one forward pass on an example batch gives every lazy parameter its shape (and
# turns each `nn.LazyLinear` into an `nn.Linear`), then the initializer runs.
#
# Your `materialize(net, example)` must
# - run `net` once on `example`, so that every lazy parameter gets its shape;
# - then give every `nn.Linear` in `net` (nested ones too) a Xavier-uniform weight,
#   `U(-a, a)` with `a = sqrt(6 / (fan_in + fan_out))` (`nn.init.xavier_uniform_`), and a
#   zero bias;
# - return `net`.
#
# ```python
# net = materialize(lazy_mlp([256, 10]), torch.rand(2, 20))
# net[0].weight.shape  # torch.Size([256, 20]), values within ±sqrt(6 / 276)
# net[2].bias          # all zeros
# ```


# %%
def materialize(net, example):
    """Run ``net(example)`` so every lazy parameter gets its shape, then give every
    ``nn.Linear`` in ``net`` a Xavier-uniform weight and a zero bias; return ``net``.
    ``materialize(lazy_mlp([256, 10]), torch.rand(2, 20))[0].weight.shape`` is (256, 20).
    """
    net(example)  # every lazy parameter takes its shape from the example

    def init(module):
        if isinstance(module, nn.Linear):
            nn.init.xavier_uniform_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)

    net.apply(init)
    return net


# %% [markdown]
# ## 4. Input size first, the rest lazy: `partly_lazy_mlp`
#
# One of the section's exercises asks what happens when you specify the input dimension of
# the first layer but not of the later ones. Then the first layer is an ordinary
# `nn.Linear`, whose parameters exist (and are initialized) at once; the later ones are
# lazy and get their shapes at the first forward pass.
#
# Your `partly_lazy_mlp(in_features, sizes)` must return an `nn.Sequential` that holds, for
# the given (non-empty) list of output sizes,
# - first `nn.Linear(in_features, sizes[0])`, initialized as it is built;
# - then one `nn.LazyLinear(size)` for each later size, in order;
# - an `nn.ReLU()` between each two layers and none after the last one.
#
# ```python
# net = partly_lazy_mlp(20, [256, 10])
# net[0].weight.shape    # torch.Size([256, 20]): known before any forward
# net[2].weight          # <UninitializedParameter>
# net(torch.rand(2, 20)).shape  # torch.Size([2, 10]); now net[2].weight is (10, 256)
# ```


# %%
def partly_lazy_mlp(in_features, sizes):
    net = nn.Sequential(nn.Linear(in_features, sizes[0]), nn.ReLU())
    for size in sizes[1:]:
        net.append(nn.LazyLinear(size))
        net.append(nn.ReLU())
    return net
