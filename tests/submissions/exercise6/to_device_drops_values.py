"""Wrong: to_device moves tensors and modules through every container, but gives None for
anything else in them (numbers, strings, None), which should come back unchanged."""

import torch
from torch import nn


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
    return None


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
