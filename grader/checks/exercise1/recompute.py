"""What the answers to exercise1 must be, recomputed from plain data: the chain
descriptions the judges send (see ``grader.authoring.strategies.layer_chains``) and the parameters the
probes return. Trusted side only; the judges use it, and so do the project's tests.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator

import torch


def same_tensor(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Whether two returned tensors are one tensor in the worker (storage survives the trip)."""
    return (a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()
            and a.storage_offset() == b.storage_offset() and a.shape == b.shape)


def storage(t: torch.Tensor) -> int:
    return t.untyped_storage().data_ptr()


def _names(chain: list[dict]) -> Iterator[str]:
    for layer in chain:
        if layer["kind"] == "linear":
            yield layer["name"]
        elif layer["kind"] == "chain":
            yield from _names(layer["layers"])


def describe(chain: list[dict], wrapper: str = "MySequential", _shared: set[str] | None = None) -> str:
    """``MySequential(Linear(3, 2), ReLU(), …)``; a Linear object used at several places
    reads ``shared Linear(2, 2)`` at each of them."""
    shared = {n for n, c in Counter(_names(chain)).items() if c > 1} if _shared is None else _shared
    parts = []
    for layer in chain:
        kind = layer["kind"]
        if kind == "linear":
            prefix = "shared " if layer["name"] in shared else ""
            parts.append(f"{prefix}Linear({layer['in']}, {layer['out']})")
        elif kind == "chain":
            parts.append(describe(layer["layers"], wrapper, shared))
        else:
            parts.append({"relu": "ReLU()", "tanh": "Tanh()", "dropout": f"Dropout({layer.get('p')})"}[kind])
    return f"{wrapper}({', '.join(parts)})"


def python(chain: list[dict], wrapper: str = "MySequential", _shared: set[str] | None = None,
           _named: set[str] | None = None) -> str:
    """The Python that builds ``chain``, to paste: ``MySequential(nn.Linear(3, 2), nn.ReLU())``;
    a Linear object used at several places is named where it first appears,
    ``(shared := nn.Linear(2, 2))``, and is ``shared`` after that."""
    shared = {n for n, c in Counter(_names(chain)).items() if c > 1} if _shared is None else _shared
    named: set[str] = set() if _named is None else _named
    parts = []
    for layer in chain:
        kind = layer["kind"]
        if kind == "linear":
            text = f"nn.Linear({layer['in']}, {layer['out']})"
            variable = f"shared{sorted(shared).index(layer['name'])}" if len(shared) > 1 else "shared"
            if layer["name"] not in shared:
                parts.append(text)
            elif layer["name"] in named:
                parts.append(variable)
            else:
                named.add(layer["name"])
                parts.append(f"({variable} := {text})")
        elif kind == "chain":
            parts.append(python(layer["layers"], wrapper, shared, named))
        else:
            parts.append({"relu": "nn.ReLU()", "tanh": "nn.Tanh()",
                          "dropout": f"nn.Dropout({layer.get('p')})"}[kind])
    return f"{wrapper}({', '.join(parts)})"


def run_chain(
    chain: list[dict], x: torch.Tensor, layers: dict, size: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The chain's output on x in float64, and a bound on the magnitudes it went through
    (the Linear layers on absolute values; activations and dropout in eval mode never grow
    them), which scales the rounding tolerance."""
    y = x.double()
    size = y.abs() if size is None else size
    for layer in chain:
        kind = layer["kind"]
        if kind == "linear":
            weight, bias = (layers[layer["name"]][k].double() for k in ("weight", "bias"))
            y, size = y @ weight.T + bias, size @ weight.abs().T + bias.abs()
        elif kind == "chain":
            y, size = run_chain(layer["layers"], y, layers, size)
        elif kind == "relu":
            y = torch.relu(y)
        elif kind == "tanh":
            y = torch.tanh(y)
    return y, size


def state_keys(chain: list[dict], prefix: str = "") -> list[tuple[str, str, str]]:
    """(state_dict key, layer name, "weight" or "bias") in nn.Sequential's order: a Linear
    used at two places is listed at both, as nn.Sequential lists it."""
    keys = []
    for i, layer in enumerate(chain):
        if layer["kind"] == "linear":
            keys += [(f"{prefix}{i}.{attr}", layer["name"], attr) for attr in ("weight", "bias")]
        elif layer["kind"] == "chain":
            keys += state_keys(layer["layers"], f"{prefix}{i}.")
    return keys


def fixed_hidden_candidates(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                            rand_weight: torch.Tensor) -> tuple[list[torch.Tensor], float]:
    """The output for the number of halvings the loop makes, in float64, and also for one
    halving more or fewer when the sum sits so close to a power of two that float32 rounding
    may decide it; with the size of the terms, which scales the tolerance."""
    w, b, r = weight.double(), bias.double(), rand_weight.double()
    h = x.double() @ w.T + b
    size = x.double().abs() @ w.abs().T + b.abs()
    h = torch.relu(h @ r + 1)
    size = (size @ r.abs() + 1) @ w.abs().T + b.abs()
    h = h @ w.T + b
    total = float(h.abs().sum())
    halvings = max(0, math.ceil(math.log2(total))) if total > 1 else 0
    choices = {halvings}
    if total > 0 and abs(math.log2(total) - round(math.log2(total))) < 1e-4:
        choices |= {k for k in (halvings - 1, halvings + 1) if k >= 0}
    return [h.sum() / 2**k for k in sorted(choices)], float(size.sum()) / 2**halvings
