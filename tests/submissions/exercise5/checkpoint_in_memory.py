"""Wrong: save_checkpoint keeps the states in a global variable and writes only the epoch;
resuming works in the same process, but the file could not resume anything."""

import copy

import torch

_SAVED = {}


def save_tensors(obj, path):
    torch.save(obj, path)


def load_tensors(path):
    return torch.load(path)


def save_params(net, path):
    torch.save(net.state_dict(), path)


def load_params(net, path):
    net.load_state_dict(torch.load(path))
    net.eval()
    return net


def save_checkpoint(path, model, optimizer, epoch):
    _SAVED[path] = copy.deepcopy((model.state_dict(), optimizer.state_dict()))
    torch.save({"epoch": epoch}, path)


def load_checkpoint(path, model, optimizer):
    model_state, optimizer_state = _SAVED[path]
    model.load_state_dict(model_state)
    optimizer.load_state_dict(optimizer_state)
    return torch.load(path)["epoch"]
