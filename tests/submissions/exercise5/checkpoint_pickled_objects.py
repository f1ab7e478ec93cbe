"""Wrong: the checkpoint pickles the model and optimizer objects. Resuming works (loading
with weights_only=False), but torch.load(path, weights_only=True) refuses the file."""

import torch


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
    torch.save({"model": model, "optimizer": optimizer, "epoch": epoch}, path)


def load_checkpoint(path, model, optimizer):
    checkpoint = torch.load(path, weights_only=False)
    model.load_state_dict(checkpoint["model"].state_dict())
    optimizer.load_state_dict(checkpoint["optimizer"].state_dict())
    return checkpoint["epoch"]
