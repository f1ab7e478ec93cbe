"""Wrong: the checkpoint holds epoch + 1 (the epoch to resume at), so load_checkpoint returns
one more than the epoch given to save_checkpoint."""

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
    # the next run starts at the following epoch
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch + 1}, path)


def load_checkpoint(path, model, optimizer):
    checkpoint = torch.load(path)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    return checkpoint["epoch"]


# The exercise's later functions, solved as in the reference solution: this file's point
# is elsewhere.
import torch  # noqa: E402
from torch import nn  # noqa: E402


def reuse_layers(path, new_net, n=2):
    """Copy the first ``n`` ``nn.Linear`` layers saved at ``path`` (entries with a 2-D
    ``weight``, in order) into the first ``n`` ``nn.Linear`` layers of ``new_net``; leave
    the rest of ``new_net`` as it is and return it: ``reuse_layers("old.params", new)``.
    """
    state = torch.load(path)
    # The saved net's linear layers: their weights are the entries with two dimensions.
    prefixes = [name[: -len("weight")] for name, value in state.items()
                if (name == "weight" or name.endswith(".weight")) and value.dim() == 2]
    layers = [module for module in new_net.modules() if isinstance(module, nn.Linear)]
    with torch.no_grad():
        for prefix, layer in zip(prefixes[:n], layers[:n], strict=False):
            layer.weight.copy_(state[prefix + "weight"])
            if layer.bias is not None:
                layer.bias.copy_(state[prefix + "bias"])
    return new_net


def save_model(net, path, example):
    """Write ``net``'s architecture and parameters to ``path`` (``example``: an input of the
    shape it will be called on), so that ``load_model(path)`` needs none of your classes."""
    torch.jit.trace(net, example).save(path)


def load_model(path):
    """Rebuild the module ``save_model`` wrote to ``path``, without the net's class: same
    outputs as the saved net. ``load_model("mlp.pt")(X)``."""
    return torch.jit.load(path)
