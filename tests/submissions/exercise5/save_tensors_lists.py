"""Wrong: save_tensors stores plain Python lists ("portable"); dtypes and empty shapes are lost."""

import torch


def _to_python(obj):
    if isinstance(obj, torch.Tensor):
        return ("tensor", obj.tolist())
    if isinstance(obj, dict):
        return ("dict", {key: _to_python(value) for key, value in obj.items()})
    return ("list", [_to_python(value) for value in obj])


def _from_python(saved):
    kind, data = saved
    if kind == "tensor":
        return torch.tensor(data)
    if kind == "dict":
        return {key: _from_python(value) for key, value in data.items()}
    return [_from_python(value) for value in data]


def save_tensors(obj, path):
    torch.save(_to_python(obj), path)


def load_tensors(path):
    return _from_python(torch.load(path))


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
