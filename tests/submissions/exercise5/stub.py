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
# optimizers.
#
# When you are done, grade your work from a terminal:
#
# ```
# grade exercise5
# ```
#
# There are 10 checks worth 20 points. Each check names the function and the property it
# tested, and a failed check shows the input that broke it, what was expected and what your
# code returned.

# %%
import torch  # noqa: F401 (unused until you fill in the functions)
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
    raise NotImplementedError("write obj to path with torch.save")


def load_tensors(path):
    """Read back what ``save_tensors`` wrote to ``path``: same values, dtypes and shapes."""
    raise NotImplementedError("read the file back with torch.load")


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
    raise NotImplementedError("torch.save the net's state_dict(), not the net")


def load_params(net, path):
    """Load the state saved at ``path`` into ``net``, switch it to eval mode, return it."""
    raise NotImplementedError("net.load_state_dict(...) from the file, then net.eval(), and return net")


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
    raise NotImplementedError("torch.save a dict of both state_dict()s and the epoch")


def load_checkpoint(path, model, optimizer):
    """Restore ``model`` and ``optimizer`` from the checkpoint at ``path``; return its epoch."""
    raise NotImplementedError("load both state_dict()s from the file and return the saved epoch")
