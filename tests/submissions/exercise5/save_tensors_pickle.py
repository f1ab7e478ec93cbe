"""Wrong: save_tensors pickles with the pickle module; the round trip works, but
torch.load(path, weights_only=True) cannot read the file."""

import pickle

import torch


def save_tensors(obj, path):
    with open(path, "wb") as f:
        pickle.dump(obj, f)


def load_tensors(path):
    with open(path, "rb") as f:
        return pickle.load(f)


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
