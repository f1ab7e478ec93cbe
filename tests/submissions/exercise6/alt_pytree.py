"""Correct, in other styles: device_count and is_available imported by name, to_device
with torch's pytree utilities, model_device from the parameters' device types."""

import torch
from torch import nn
from torch.cuda import device_count, is_available
from torch.utils._pytree import tree_map


def try_gpu(i=0):
    return torch.device(f"cuda:{i}") if is_available() and device_count() > i else torch.device("cpu")


def try_all_gpus():
    if not is_available():
        return [torch.device("cpu")]
    return list(map(torch.device, (f"cuda:{k}" for k in range(device_count()))))


def to_device(obj, device):
    def move(leaf):
        return leaf.to(device) if isinstance(leaf, (torch.Tensor, nn.Module)) else leaf

    return tree_map(move, obj)


def model_device(net):
    devices = set(map(lambda p: p.device, net.parameters()))  # noqa: C417
    if len(devices) == 0:
        raise ValueError("model_device: the net has no parameters")
    if len(devices) > 1:
        raise ValueError(f"model_device: parameters on {len(devices)} devices")
    (device,) = devices
    return device


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
