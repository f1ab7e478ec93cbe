"""Wrong: load_params_to loads the state into net but never moves net: load_state_dict copies
the values into the net's own tensors, so on a GPU the net stays on the CPU."""

# %% [markdown]
# # Exercise 6: GPUs
#
# This exercise follows the section "GPUs" of *Dive into Deep Learning* (chapter "Deep
# Learning Computation"). You will write the helpers that let the same code run on a
# machine with GPUs and on one without: pick a GPU if there is one, list all of them, move
# tensors, modules and whole batches of data to a device, and find out where a model lives.
#
# Fill in every place that raises `NotImplementedError`. Keep the function names and the
# signatures as they are: the grader looks for exactly these names.
#
# You need no GPU for this exercise. The grader pretends that the machine has 0, 1 or 4
# GPUs by changing what `torch.cuda.device_count()` and `torch.cuda.is_available()` answer,
# and it moves objects to the `meta` device, a device that every PyTorch has (its tensors
# keep a shape and a dtype but no values). So ask `torch.cuda` every time your function
# runs, rather than once when the file is loaded, and use only the `device` you are given.
#
# When you are done, grade your work from a terminal:
#
# ```
# grade exercise6
# ```
#
# There are 20 checks worth 27 points. Each check names the function and the property it
# tested, and a failed check shows the input that broke it, what was expected and what your
# code returned. Three checks need a real GPU: they carry no points, run where there is one,
# and say "not run: no GPU" elsewhere, so your score does not depend on your machine.

# %%
import torch
from torch import nn

# %% [markdown]
# ## 1. Choosing a device: `try_gpu` and `try_all_gpus`
#
# PyTorch names devices with `torch.device` objects: `torch.device("cpu")` for the CPU and
# `torch.device("cuda:0")`, `torch.device("cuda:1")`, … for the GPUs.
# `torch.cuda.device_count()` says how many GPUs there are (0 on a machine without one).
# The section writes two helpers so that code runs even when GPUs are missing:
#
# - `try_gpu(i=0)` returns `torch.device(f"cuda:{i}")` if there are at least `i + 1` GPUs,
#   and `torch.device("cpu")` otherwise;
# - `try_all_gpus()` returns the list of every GPU, `[torch.device("cuda:0"), …]` in order,
#   or `[torch.device("cpu")]` when there is none.
#
# Both return `torch.device` objects, not strings such as `"cuda:0"`.
#
# ```python
# # on a machine with 2 GPUs
# try_gpu(), try_gpu(1), try_gpu(5)  # (device(type='cuda', index=0), device(type='cuda', index=1), device(type='cpu'))
# try_all_gpus()                     # [device(type='cuda', index=0), device(type='cuda', index=1)]
# # on a machine without a GPU
# try_gpu(), try_all_gpus()          # (device(type='cpu'), [device(type='cpu')])
# ```


# %%
def try_gpu(i=0):
    """``torch.device(f"cuda:{i}")`` if at least ``i + 1`` GPUs exist, else ``torch.device("cpu")``.

    With 2 GPUs ``try_gpu(1)`` is ``torch.device("cuda:1")`` and ``try_gpu(2)`` is
    ``torch.device("cpu")``.
    """
    if torch.cuda.device_count() >= i + 1:
        return torch.device(f"cuda:{i}")
    return torch.device("cpu")


def try_all_gpus():
    """``[torch.device("cuda:0"), …]`` for every GPU, in order; ``[torch.device("cpu")]``
    when there is none."""
    devices = [torch.device(f"cuda:{i}") for i in range(torch.cuda.device_count())]
    return devices if devices else [torch.device("cpu")]


# %% [markdown]
# ## 2. Moving data and models: `to_device`
#
# A tensor lives on one device, and an operation needs all its tensors on the same one.
# `X.to(device)` returns a copy of `X` on `device`; `net.to(device)` moves a module's
# parameters *and* its buffers (such as a `BatchNorm1d`'s running mean) and returns the
# module. A training loop often holds a whole batch: a list, a tuple or a dict of tensors,
# sometimes nested.
#
# Your `to_device(obj, device)` must
# - return a tensor moved to `device` (same shape and dtype);
# - move a module's parameters and buffers to `device` and return the module;
# - for a list, a tuple or a dict, return a container *of the same type* holding the moved
#   items: a list stays a list, a tuple a tuple, a named tuple the same named tuple
#   (`type(obj)(*items)` builds one), an `OrderedDict` an `OrderedDict`, with the same
#   keys; containers nest, to any depth.
#
# The checks move to `torch.device("meta")`. Assigning `p.data = p.data.to(device)` cannot
# move a parameter there: use `module.to(device)`.
#
# ```python
# batch = {"x": torch.rand(2, 3), "y": (torch.tensor([0, 1]), [torch.ones(2)])}
# moved = to_device(batch, torch.device("meta"))
# moved["x"].device, type(moved["y"])  # (device(type='meta'), <class 'tuple'>)
# ```


# %%
def to_device(obj, device):
    """``obj`` moved to ``device``: a tensor, a module (parameters and buffers), or lists,
    tuples (named tuples too) and dicts (``OrderedDict`` too) of them, nested; every
    container comes back as the same type: ``to_device((x, [y]), d)`` is ``(x', [y'])``.
    """
    if isinstance(obj, (torch.Tensor, nn.Module)):
        return obj.to(device)
    if isinstance(obj, dict):
        return type(obj)((key, to_device(value, device)) for key, value in obj.items())
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # a named tuple
        return type(obj)(*(to_device(item, device) for item in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_device(item, device) for item in obj)
    return obj


# %% [markdown]
# ## 3. Where does a model live? `model_device`
#
# A model's parameters normally sit on one device, and the data must go there too. Your
# `model_device(net)` must
# - return the `torch.device` that all of `net`'s parameters are on;
# - look at parameters only: buffers (a `BatchNorm1d`'s running mean, for instance) do
#   not count;
# - raise a `ValueError`, with a message that says why, if the parameters sit on more than
#   one device, or if `net` has no parameters at all.
#
# ```python
# model_device(nn.Linear(2, 3))                           # device(type='cpu')
# model_device(nn.Linear(2, 3).to(torch.device("meta")))  # device(type='meta')
# model_device(nn.ReLU())                                 # ValueError: nn.ReLU() has no parameters
# ```


# %%
def model_device(net):
    """The ``torch.device`` of ``net``'s parameters (buffers do not count); ``ValueError``
    with a message if they sit on several devices or there are none:
    ``model_device(nn.Linear(2, 3))`` is ``torch.device("cpu")``.
    """
    devices = {p.device for p in net.parameters()}
    if not devices:
        raise ValueError(f"{type(net).__name__} has no parameters, so it lives on no device")
    if len(devices) > 1:
        raise ValueError(f"the parameters of {type(net).__name__} sit on several devices: "
                         f"{sorted(str(d) for d in devices)}")
    return devices.pop()


# %% [markdown]
# ## 4. Parameters saved on another device: `load_params_to`
#
# One of the section's exercises: read and write model parameters on a GPU. `torch.save`
# records the device of every tensor it writes, and `torch.load(path)` puts each tensor back
# on that device: a file saved on a GPU cannot be read that way on a machine without one
# ("Attempting to deserialize object on a CUDA device"). `torch.load(path,
# map_location=device)` puts the tensors on `device` instead.
#
# Your `load_params_to(path, net, device)` must load the state dict saved at `path` (with
# `torch.save(net.state_dict(), path)`, on whatever device) into `net`, and return `net` with
# every parameter and buffer on `device`, holding the saved values.
#
# `net.load_state_dict` copies the loaded values into the net's own tensors, where they are:
# move `net` to `device` and then load (the values go straight there), or load and then move
# `net`; a net that is never moved stays where it was built. The grader checks where your
# tensors end up with the `meta` device, whose tensors hold no values (where your code copies
# out of them, it loads the state onto the CPU instead and checks where the net ends). It
# checks the values with `device` the CPU, on a file saved as if on a GPU.
#
# ```python
# torch.save(net.state_dict(), "net.params")   # on a machine with a GPU, net there
# clone = load_params_to("net.params", nn.Linear(20, 10), torch.device("cpu"))
# clone.weight.device  # device(type='cpu'), with the saved values
# ```


# %%
def load_params_to(path, net, device):
    net.load_state_dict(torch.load(path, map_location=device))
    return net
