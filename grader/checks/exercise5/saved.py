"""Reading the files that come back from the worker, on the trusted side.

A file arrives as its bytes (a uint8 tensor). It is opened only with
``torch.load(weights_only=True)``, which rebuilds tensors and plain containers and refuses
everything else, so a file can lie with data but never run code here. The helpers below
then look for what a file must hold (tensors of given values, an epoch), whatever the
layout the student chose.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Iterator
from typing import Any

import torch

from grader.authoring import Fail, on_input, show

_REFUSED_GLOBAL = re.compile(r"Unsupported global: GLOBAL ([\w.]+)")
_UNPICKLER_ERROR = re.compile(r"WeightsUnpickler error:\s*(.*?)\s*(?:Check the documentation|$)", re.DOTALL)
MAX_DEPTH = 16


def open_file(data: Any, what: str, advice: str, **inputs: Any) -> Any:
    """What the file holds, read with ``torch.load(weights_only=True)``; a ``Fail`` saying
    why when nothing was written or the file cannot be read that way. ``advice`` says what
    to save instead of pickled objects."""
    if data is None:
        raise Fail(f"{what}: no file was written at path" + on_input(inputs))
    if not (isinstance(data, torch.Tensor) and data.dtype == torch.uint8 and data.dim() == 1):
        raise Fail(f"{what}: the file's bytes did not come back from the worker, got {show(data, 80)}"
                   + on_input(inputs))
    opened = load_weights_only(data)
    if isinstance(opened, Unreadable):
        numpy = opened.numpy_object()
        if numpy:  # not the objects the advice is about: a NumPy value among the tensors
            advice = ("that is a NumPy array (such as np.random.get_state() holds), not a module or an "
                      "optimizer: store it as a tensor (torch.from_numpy) or plain numbers, or leave it out")
        raise Fail(f"torch.load(path, weights_only=True) cannot read {what}: {opened.why(advice)}"
                   + on_input(inputs), hint=NUMPY_HINT if numpy else None)
    return opened


NUMPY_HINT = ("keep NumPy objects out of the file: torch.from_numpy(array) for arrays, plain Python values "
              "otherwise; torch.load(weights_only=True) rebuilds only tensors and plain containers")


class Unreadable:
    """Why ``torch.load(weights_only=True)`` refused a file."""

    def __init__(self, exc: Exception) -> None:
        self.text = str(exc)
        self.kind = type(exc).__name__

    def numpy_object(self) -> str:
        """The NumPy global weights_only refused ("numpy.ndarray"), or ""."""
        refused = _REFUSED_GLOBAL.search(self.text)
        name = refused.group(1) if refused else ""
        return name if name.startswith("numpy") else ""

    def why(self, advice: str) -> str:
        refused = _REFUSED_GLOBAL.search(self.text)
        if refused:
            return (f"it holds a pickled {refused.group(1)} object, which weights_only=True refuses to "
                    f"rebuild (a pickle may run any code when loaded); {advice}")
        unpickler = _UNPICKLER_ERROR.search(self.text)
        detail = unpickler.group(1) if unpickler else self.text
        detail = " ".join(detail.split())[:300]
        return f"{self.kind}: {detail} (was it written with torch.save? {advice})"


def load_weights_only(data: torch.Tensor) -> Any:
    """The file's content, or ``Unreadable`` when weights_only loading refuses it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. about the pickle protocol of a foreign file
            return torch.load(io.BytesIO(data.numpy().tobytes()), weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any malformed file is the submission's doing
        return Unreadable(exc)


def tensors_in(obj: Any, _depth: int = 0) -> Iterator[torch.Tensor]:
    """Every tensor in ``obj``, through dicts, lists and tuples."""
    if _depth > MAX_DEPTH:
        return
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, dict):
        for value in obj.values():
            yield from tensors_in(value, _depth + 1)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            yield from tensors_in(value, _depth + 1)


def holds(found: list[torch.Tensor], wanted: torch.Tensor) -> bool:
    """Whether one of ``found`` has ``wanted``'s shape and values (to rounding)."""
    return any(t.shape == wanted.shape and not t.is_complex() and t.dtype != torch.bool
               and torch.allclose(t.double(), wanted.double(), rtol=1e-5, atol=1e-7) for t in found)


def integers_in(obj: Any, _depth: int = 0) -> Iterator[int]:
    """Every int (or one-element integer tensor) in ``obj``, outside optimizer state dicts,
    whose parameter indices and step counts are not an epoch."""
    if _depth > MAX_DEPTH:
        return
    if type(obj) is int:
        yield obj
    elif isinstance(obj, torch.Tensor):
        whole = not obj.is_floating_point() and not obj.is_complex() and obj.dtype != torch.bool
        if obj.numel() == 1 and whole:
            yield int(obj)
    elif isinstance(obj, dict):
        if "param_groups" in obj:
            return
        for value in obj.values():
            yield from integers_in(value, _depth + 1)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            yield from integers_in(value, _depth + 1)
