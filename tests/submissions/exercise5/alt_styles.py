"""Correct, in other styles: file objects and pathlib, an OrderedDict copy of the state,
return net.eval(), a checkpoint saved as a list, RNG state saved too."""

from collections import OrderedDict
from pathlib import Path

import torch


def save_tensors(obj, path):
    with Path(path).open("wb") as f:
        torch.save(obj, f)


def load_tensors(path):
    with open(path, "rb") as f:
        return torch.load(f, weights_only=True)


def save_params(net, path):
    state = OrderedDict((name, tensor.clone()) for name, tensor in net.state_dict().items())
    torch.save(state, str(path))


def load_params(net, path):
    net.load_state_dict(torch.load(Path(path)), strict=True)
    return net.eval()


def save_checkpoint(path, model, optimizer, epoch):
    torch.save([model.state_dict(), optimizer.state_dict(), epoch, torch.get_rng_state()], path)


def load_checkpoint(path, model, optimizer):
    model_state, optimizer_state, epoch, rng_state = torch.load(path)
    model.load_state_dict(model_state)
    optimizer.load_state_dict(optimizer_state)
    torch.set_rng_state(rng_state)
    return epoch
