"""Correct, in other styles: save_tensors wraps the object in a dict, the checkpoint's
model entries are top-level keys beside the optimizer and the epoch, train(False)."""

import torch


def save_tensors(obj, path):
    torch.save({"format": 1, "payload": obj}, path)


def load_tensors(path):
    return torch.load(path)["payload"]


def save_params(net, path):
    torch.save({key: value for key, value in net.state_dict().items()}, path)


def load_params(net, path):
    missing, unexpected = net.load_state_dict(torch.load(path))
    assert not missing and not unexpected
    net.train(False)
    return net


def save_checkpoint(path, model, optimizer, epoch):
    checkpoint = {f"model.{key}": value for key, value in model.state_dict().items()}
    checkpoint["optimizer"] = optimizer.state_dict()
    checkpoint["epoch"] = torch.tensor(epoch)
    torch.save(checkpoint, path)


def load_checkpoint(path, model, optimizer):
    checkpoint = torch.load(path)
    model.load_state_dict({key[len("model."):]: value for key, value in checkpoint.items()
                           if key.startswith("model.")})
    optimizer.load_state_dict(checkpoint["optimizer"])
    return int(checkpoint["epoch"])
