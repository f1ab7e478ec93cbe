"""Correct, in other styles: torch.device("cuda", i), is_available() first, try_all_gpus
built from try_gpu, a match statement in to_device, a loop in model_device."""

from collections import OrderedDict

import torch
from torch import nn


def try_gpu(i: int = 0) -> torch.device:
    if torch.cuda.is_available() and i < torch.cuda.device_count():
        return torch.device("cuda", i)
    return torch.device("cpu")


def try_all_gpus() -> list[torch.device]:
    return [try_gpu(i) for i in range(len(range(torch.cuda.device_count())))] or [torch.device("cpu")]


def to_device(obj, device):
    match obj:
        case torch.Tensor() | nn.Module():
            return obj.to(device=device)
        case OrderedDict():
            return OrderedDict((k, to_device(v, device)) for k, v in obj.items())
        case dict():
            return {k: to_device(v, device) for k, v in obj.items()}
        case tuple() if hasattr(obj, "_fields"):
            return obj._make(to_device(x, device) for x in obj)
        case tuple():
            return tuple(to_device(x, device) for x in obj)
        case list():
            return [to_device(x, device) for x in obj]
        case _:
            return obj


def model_device(net: nn.Module) -> torch.device:
    device = None
    for name, param in net.named_parameters():
        if device is None:
            device = param.device
        elif param.device != device:
            raise ValueError(f"{name} is on {param.device}, but earlier parameters are on {device}")
    if device is None:
        raise ValueError("this net has no parameters")
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
