"""Wrong: load_params copies the parameters only; batch norm's running statistics stay at
their defaults."""

import torch


def save_tensors(obj, path):
    torch.save(obj, path)


def load_tensors(path):
    return torch.load(path)


def save_params(net, path):
    torch.save(net.state_dict(), path)


def load_params(net, path):
    state = torch.load(path)
    with torch.no_grad():
        for name, p in net.named_parameters():
            p.copy_(state[name])
    net.eval()
    return net


def save_checkpoint(path, model, optimizer, epoch):
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch}, path)


def load_checkpoint(path, model, optimizer):
    checkpoint = torch.load(path)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    return checkpoint["epoch"]
