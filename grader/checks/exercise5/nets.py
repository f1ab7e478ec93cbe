"""The nets of reuse_layers' and save_model's checks, built the same way in the worker (by the
probes) and in the grader's process (by the judges, which recompute what must come back).
No student code here.

A net for ``reuse_layers`` crosses as a spec, plain data:

    ["linear", in, out]   nn.Linear(in, out)
    ["bn", features]      nn.BatchNorm1d(features)
    ["relu"]              nn.ReLU()
    ["seq", [spec, ...]]  a nested nn.Sequential
    ["fixed", features]   FixedHidden(features): no parameters, a 2-D buffer ``rand_weight``
                          (a layer of the saved net that is not an nn.Linear)

``CourseModel`` stands for a student's own model class in ``save_model``'s checks: a forward
that is code (an activation chosen by an attribute outside the ``state_dict``, a skip
connection), so that only a file that carries the computation can rebuild it.
"""

from __future__ import annotations

import linecache
from typing import Any

import torch
from torch import nn


class FixedHidden(nn.Module):
    """``relu(X @ rand_weight + 1)`` with a constant (features, features) buffer, as in the
    chapter's FixedHiddenMLP: its 2-D ``rand_weight`` is no layer's weight."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.register_buffer("rand_weight", torch.rand(features, features))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return torch.relu(X @ self.rand_weight + 1)


def build(specs: list[list[Any]]) -> nn.Sequential:
    return nn.Sequential(*(_build(spec) for spec in specs))


def _build(spec: list[Any]) -> nn.Module:
    kind = spec[0]
    if kind == "seq":
        return build(spec[1])
    if kind == "relu":
        return nn.ReLU()
    if kind == "bn":
        return nn.BatchNorm1d(spec[1])
    if kind == "fixed":
        return FixedHidden(spec[1])
    return nn.Linear(spec[1], spec[2])


def random_state(net: nn.Module, seed: int) -> dict[str, torch.Tensor]:
    """Values for every entry of ``net.state_dict()`` (buffers too), from ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    values = {}
    for name, value in net.state_dict().items():
        if not value.is_floating_point():
            values[name] = torch.randint(1, 100, value.shape, generator=generator, dtype=value.dtype)
        elif name.endswith("running_var"):
            values[name] = torch.rand(value.shape, generator=generator) + 0.5
        else:
            values[name] = torch.randn(value.shape, generator=generator) * 0.5
    return values


def with_state(net: nn.Module, values: dict[str, torch.Tensor]) -> nn.Module:
    net.load_state_dict(values)
    return net


def linear_names(net: nn.Module) -> list[str]:
    """The qualified names of ``net``'s ``nn.Linear`` modules, in ``modules()`` order."""
    return [name for name, module in net.named_modules() if isinstance(module, nn.Linear)]


# The class is made from this source rather than defined here: workers cannot read the
# grader's checks folder, and TorchScript (``torch.jit.script``) compiles a forward from its
# source, which ``linecache`` then holds (as the worker does for the submission's own).
COURSE_MODEL_FILE = "<course model>"
COURSE_MODEL_SOURCE = """\
class CourseModel(nn.Module):
    \"\"\"out(act(norm(hidden(X)))) + skip(X), with act ReLU or tanh (an attribute).\"\"\"

    def __init__(self, d: int, h: int, o: int, act: str) -> None:
        super().__init__()
        self.hidden = nn.Linear(d, h)
        self.norm = nn.BatchNorm1d(h)
        self.out = nn.Linear(h, o)
        self.skip = nn.Linear(d, o, bias=False)
        self.act = act

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        H = self.norm(self.hidden(X))
        H = torch.tanh(H) if self.act == "tanh" else torch.relu(H)
        return self.out(H) + self.skip(X)
"""


def course_model_class(module: str = "__main__") -> type[nn.Module]:
    """A new ``CourseModel`` class that says it lives in ``module`` (a pickle of an instance
    refers to it there), with its source readable by ``inspect``."""
    lines = COURSE_MODEL_SOURCE.splitlines(True)
    linecache.cache[COURSE_MODEL_FILE] = (len(COURSE_MODEL_SOURCE), None, lines, COURSE_MODEL_FILE)
    namespace: dict[str, Any] = {"__name__": module, "torch": torch, "nn": nn}
    exec(compile(COURSE_MODEL_SOURCE, COURSE_MODEL_FILE, "exec"), namespace)
    return namespace["CourseModel"]


def course_model(config: dict[str, Any], module: str = "__main__") -> nn.Module:
    return course_model_class(module)(config["d"], config["h"], config["o"], config["act"])


def course_model_output(config: dict[str, Any], state: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:  # noqa: E501
    """What ``CourseModel`` in eval mode gives on ``x``, recomputed in float64 from its state."""
    s = {name: value.double() for name, value in state.items()}
    x = x.double()
    h = x @ s["hidden.weight"].T + s["hidden.bias"]
    h = (h - s["norm.running_mean"]) / torch.sqrt(s["norm.running_var"] + 1e-5) * s["norm.weight"] + s["norm.bias"]  # noqa: E501
    h = torch.tanh(h) if config["act"] == "tanh" else torch.relu(h)
    return h @ s["out.weight"].T + s["out.bias"] + x @ s["skip.weight"].T
