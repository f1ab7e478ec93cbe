"""Wrong: save_tensors converts every tensor to float32 (dtypes change; big int64 values too)."""

import torch


def _float(obj):
    if isinstance(obj, torch.Tensor):
        return obj.float()
    if isinstance(obj, dict):
        return {key: value.float() for key, value in obj.items()}
    return [value.float() for value in obj]


def save_tensors(obj, path):
    torch.save(_float(obj), path)


def load_tensors(path):
    return torch.load(path)


def save_params(net, path):
    torch.save(net.state_dict(), path)


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
