"""Wrong: model_device takes the first parameter's device, as the book does: a net without
parameters raises StopIteration, and a split net is not noticed."""

import torch
from torch import nn


def try_gpu(i=0):
    if torch.cuda.device_count() >= i + 1:
        return torch.device(f"cuda:{i}")
    return torch.device("cpu")


def try_all_gpus():
    devices = [torch.device(f"cuda:{i}") for i in range(torch.cuda.device_count())]
    return devices if devices else [torch.device("cpu")]


def to_device(obj, device):
    if isinstance(obj, (torch.Tensor, nn.Module)):
        return obj.to(device)
    if isinstance(obj, dict):
        return type(obj)((key, to_device(value, device)) for key, value in obj.items())
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(to_device(item, device) for item in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_device(item, device) for item in obj)
    return obj


def model_device(net):
    return next(net.parameters()).device


# The exercise's later functions, solved as in the reference solution: this file's point
# is elsewhere.
import torch  # noqa: E402
from torch import nn  # noqa: E402


def load_params_to(path, net, device):
    """Load the state dict saved at ``path`` (on any device) into ``net`` on ``device``:
    every parameter and buffer ends on ``device`` with the saved values; return ``net``.
    ``load_params_to("net.params", nn.Linear(20, 10), torch.device("cpu"))``.
    """
    net.to(device)
    net.load_state_dict(torch.load(path, map_location=device))
    return net
