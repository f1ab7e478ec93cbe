"""Wrong: save_params saves the whole module with torch.save(net); weights_only loading refuses it."""

import torch


def save_tensors(obj, path):
    torch.save(obj, path)


def load_tensors(path):
    return torch.load(path)


def save_params(net, path):
    torch.save(net, path)


def load_params(net, path):
    net.load_state_dict(torch.load(path))
    net.eval()
    return net


def save_checkpoint(path, model, optimizer, epoch):
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch}, path)


def load_checkpoint(path, model, optimizer):
    checkpoint = torch.load(path)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    return checkpoint["epoch"]
