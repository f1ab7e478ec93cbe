"""Wrong: reuse_layers copies every saved linear layer that fits new_net's, not only the first n."""

# %% [markdown]
# # Exercise 5: file I/O and checkpoints
#
# This exercise follows the section "File I/O" of *Dive into Deep Learning* (chapter "Deep
# Learning Computation"). You will save tensors and model parameters to files and read them
# back, and then go one step further than the section: save a whole training run in a
# checkpoint, so that training can stop and later resume exactly where it left off.
#
# Fill in every place that raises `NotImplementedError`. Keep the names and the signatures
# as they are: the grader looks for exactly these names.
#
# Every file your functions write must be readable with `torch.load(path, weights_only=True)`,
# the default of current PyTorch: such a load rebuilds tensors and plain containers (dicts,
# lists, numbers, strings) and refuses anything else, because unpickling an arbitrary object
# can run arbitrary code. So save tensors and `state_dict()`s, never whole modules or
# optimizers. (`save_model`, in the last section, is the one exception.)
#
# When you are done, grade your work from a terminal:
#
# ```
# grade exercise5
# ```
#
# There are 15 checks worth 30 points. Each check names the function and the property it
# tested, and a failed check shows the input that broke it, what was expected and what your
# code returned.

# %%
import torch
from torch import nn  # noqa: F401 (for your own experiments)

# %% [markdown]
# ## 1. Tensors: `save_tensors` and `load_tensors`
#
# `torch.save(obj, path)` writes a tensor to a file and `torch.load(path)` reads it back. It
# works just as well for a list of tensors or a dict that maps strings to tensors.
#
# Your `save_tensors(obj, path)` and `load_tensors(path)` must
# - round-trip a tensor, a list of tensors or a dict of str → tensor: what `load_tensors`
#   returns equals what was saved, with the same values, dtypes (`bfloat16` and `int64`
#   too) and shapes (empty tensors and non-contiguous views too), and a list or dict comes
#   back as a list or dict with the same order or keys;
# - write a file that `torch.load(path, weights_only=True)` reads.
#
# ```python
# save_tensors({"x": torch.arange(4), "y": torch.zeros(4)}, "mydict")
# load_tensors("mydict")  # {'x': tensor([0, 1, 2, 3]), 'y': tensor([0., 0., 0., 0.])}
# ```


# %%
def save_tensors(obj, path):
    """Write a tensor, a list of tensors or a dict of str -> tensor to the file ``path``.

    ``load_tensors(path)`` gives it back unchanged: ``save_tensors([x, y], "x-files")``.
    """
    torch.save(obj, path)


def load_tensors(path):
    """Read back what ``save_tensors`` wrote to ``path``: same values, dtypes and shapes."""
    return torch.load(path)


# %% [markdown]
# ## 2. Model parameters: `save_params` and `load_params`
#
# Saving a model means saving its parameters, not its code: `net.state_dict()` maps each
# parameter's name to its tensor, and buffers such as batch norm's running statistics are in
# it too. To restore a model, build the architecture again in code and load the state into
# it with `net.load_state_dict(...)`.
#
# Your `save_params(net, path)` must save only `net.state_dict()` (a file that
# `torch.load(path, weights_only=True)` reads; `torch.save(net, path)` pickles the module
# itself, which such a load refuses).
#
# Your `load_params(net, path)` must load the saved state into the freshly built `net`
# it is given, put it in evaluation mode (`net.eval()`: dropout off, batch norm using its
# running statistics) and return it. The clone's outputs then equal the original's exactly.
#
# ```python
# net = nn.Sequential(nn.Linear(20, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Linear(256, 10))
# save_params(net, "mlp.params")
# clone = load_params(nn.Sequential(nn.Linear(20, 256), nn.BatchNorm1d(256), nn.ReLU(),
#                                   nn.Linear(256, 10)), "mlp.params")
# X = torch.randn(2, 20)
# net.eval()
# torch.equal(clone(X), net(X))  # True
# ```


# %%
def save_params(net, path):
    """Save ``net.state_dict()`` (parameters and buffers) to ``path``, not the module."""
    torch.save(net.state_dict(), path)


def load_params(net, path):
    """Load the state saved at ``path`` into ``net``, switch it to eval mode, return it."""
    net.load_state_dict(torch.load(path))
    net.eval()
    return net


# %% [markdown]
# ## 3. Checkpoints: `save_checkpoint` and `load_checkpoint`
#
# A long training run should survive a crash or a time limit. A checkpoint holds everything
# needed to continue: the model's state, the optimizer's state (SGD's momentum buffers,
# Adam's step counts and moment estimates live in `optimizer.state_dict()`, not in the model)
# and the epoch reached.
#
# Your `save_checkpoint(path, model, optimizer, epoch)` must write all three to `path`, in a
# file that `torch.load(path, weights_only=True)` reads (any layout you like, for example a
# dict). Your `load_checkpoint(path, model, optimizer)` must restore the model's and the
# optimizer's state into the freshly built `model` and `optimizer` it is given, and return
# the saved `epoch`.
#
# Then training for k steps, saving, restoring into fresh objects and training on gives
# exactly (bit for bit) the parameters of training without the interruption, for SGD with
# momentum and for Adam.
#
# ```python
# model = nn.Linear(3, 1)
# optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
# ...  # train a few steps
# save_checkpoint("run.ckpt", model, optimizer, epoch=3)
# model2 = nn.Linear(3, 1)
# optimizer2 = torch.optim.SGD(model2.parameters(), lr=0.1, momentum=0.9)
# load_checkpoint("run.ckpt", model2, optimizer2)  # 3; model2 and optimizer2 carry on
# ```


# %%
def save_checkpoint(path, model, optimizer, epoch):
    """Save the model's state, the optimizer's state and ``epoch`` to ``path``."""
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch}, path)


def load_checkpoint(path, model, optimizer):
    """Restore ``model`` and ``optimizer`` from the checkpoint at ``path``; return its epoch."""
    checkpoint = torch.load(path)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    return checkpoint["epoch"]


# %% [markdown]
# ## 4. Reusing layers: `reuse_layers`
#
# One of the section's exercises: use the first two layers of a previous network in a new
# network. The file `save_params` wrote holds the old network's `state_dict()`; the new
# network is built in code, and only its first layers take the saved values.
#
# Your `reuse_layers(path, new_net, n=2)` must
# - read the state dict saved at `path` (by `save_params`);
# - find the saved network's `nn.Linear` layers in it: the entries whose `weight` has two
#   dimensions (a batch norm's `weight` has one), each with the `bias` beside it, in the
#   file's order;
# - copy the first `n` of them, weight and bias, into the first `n` `nn.Linear` layers of
#   `new_net` (in `new_net.modules()` order, nested ones too), whatever `new_net` holds after
#   them; everything else in `new_net` keeps its values;
# - return `new_net`.
#
# ```python
# old = nn.Sequential(nn.Linear(20, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, 32),
#                     nn.ReLU(), nn.Linear(32, 10))
# save_params(old, "old.params")
# new = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 2))
# reuse_layers("old.params", new)
# torch.equal(new[2].weight, old[3].weight)  # True; new[4] keeps its own values
# ```


# %%
def reuse_layers(path, new_net, n=2):
    state = torch.load(path)
    weights = [name for name, value in state.items() if name.endswith(".weight") and value.dim() == 2]
    layers = [m for m in new_net.modules() if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for name, layer in zip(weights, layers):
            if state[name].shape != layer.weight.shape:
                break
            layer.weight.copy_(state[name])
            layer.bias.copy_(state[name[: -len("weight")] + "bias"])
    return new_net


# %% [markdown]
# ## 5. Saving the architecture too: `save_model` and `load_model`
#
# `save_params` saves the parameters, not the code: to load them you build the network again
# in code. Another of the section's exercises asks how to save the architecture as well, so
# that a program that does not have your classes can still run the model. `torch.save(net,
# path)` does not do that: it pickles a *reference* to the class (`__main__.MLP`), and
# loading fails wherever that class is not defined. TorchScript (`torch.jit.trace(net,
# example)` or `torch.jit.script(net)`, then `.save(path)`, read with `torch.jit.load`) and
# `torch.export` (`torch.export.save(torch.export.export(net, (example,)), path)`, read with
# `torch.export.load(path).module()`) write the computation itself into the file.
#
# Your `save_model(net, path, example)` must write `net` (in eval mode; `example` is an input
# of the shape it will be called on) to the file `path`. Your `load_model(path)` must return
# a module whose outputs equal the saved net's on inputs of the example's shape, also in a
# fresh process where the net's class is not defined and the saved net is gone.
#
# The grader runs `load_model` in a process where only your imports, your functions (`def`)
# and your constants (`X = 3`) exist: none of your classes, nothing else from your file.
# This file is the one exception to `weights_only`: only `load_model` reads it.
#
# ```python
# class MLP(nn.Module):
#     ...
# net = MLP().eval()
# save_model(net, "mlp.pt", torch.rand(2, 20))
# # later, in another program without the class MLP:
# clone = load_model("mlp.pt")
# clone(X)  # equals net(X) for every X of shape (2, 20)
# ```


# %%
def save_model(net, path, example):
    """Write ``net``'s architecture and parameters to ``path`` (``example``: an input of the
    shape it will be called on), so that ``load_model(path)`` needs none of your classes."""
    torch.jit.trace(net, example).save(path)


def load_model(path):
    """Rebuild the module ``save_model`` wrote to ``path``, without the net's class: same
    outputs as the saved net. ``load_model("mlp.pt")(X)``."""
    return torch.jit.load(path)
