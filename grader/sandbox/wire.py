"""What crosses between the trusted side and a worker: plain data, encoded by ``codec``.

Decoding only rebuilds tensors and plain containers (JSON and raw storages, never a
pickle), so a worker can lie with data but can never run code on the trusted side.
``plain`` turns whatever a probe returned into such data first.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from grader.sandbox import codec

MAX_DEPTH = 32
MAX_ITEMS = 100_000
REPR_LIMIT = 300


def dumps(obj: Any) -> bytes:
    return codec.dumps(obj)


def loads(data: bytes) -> Any:
    """A message, decoded without running anything it holds (``codec``)."""
    return codec.loads(data)


def opaque(obj: Any) -> dict[str, str]:
    """Stand-in for an object that is not plain data: its type and a bounded repr."""
    try:
        text = repr(obj)
    except Exception as exc:  # noqa: BLE001 - a student's __repr__ may raise anything
        text = f"<repr raised {type(exc).__name__}>"
    if len(text) > REPR_LIMIT:
        text = text[:REPR_LIMIT] + "…"
    return {"__opaque__": type(obj).__name__, "repr": text}


def is_opaque(value: Any) -> bool:
    return isinstance(value, dict) and "__opaque__" in value


def plain(obj: Any, _depth: int = 0, _count: list[int] | None = None) -> Any:
    """A copy of ``obj`` made only of tensors, numbers, strings, lists and dicts.

    Tensors are detached but not copied, so storage shared between them survives the
    trip (tied weights stay tied). Tensor subclasses become plain tensors; anything else
    becomes ``opaque(obj)``.
    """
    count = [0] if _count is None else _count
    count[0] += 1
    if _depth > MAX_DEPTH or count[0] > MAX_ITEMS:
        return opaque(obj)
    if isinstance(obj, torch.Tensor):
        try:  # an uninitialized parameter, or a subclass of the student's, may refuse
            tensor = obj.detach()
            if type(tensor) is not torch.Tensor:
                tensor = tensor.as_subclass(torch.Tensor)
        except Exception:  # noqa: BLE001 - anything at all: it is only described, then
            return opaque(obj)
        return tensor
    if obj is None or type(obj) in (bool, int, str):
        return obj
    if type(obj) is float:
        return obj if math.isfinite(obj) else str(obj)
    if isinstance(obj, (torch.dtype, torch.device, torch.Size)):
        return str(obj) if not isinstance(obj, torch.Size) else list(obj)
    if type(obj) in (list, tuple):
        return [plain(item, _depth + 1, count) for item in obj]
    if type(obj) is dict or type(obj).__name__ == "OrderedDict":
        return {
            str(key): plain(value, _depth + 1, count)
            for key, value in dict.items(obj)
            if type(key) in (str, int)
        }
    return opaque(obj)


MAX_ELEMENTS = 2**24  # per tensor: judges recompute on what they receive, in their own memory


def unacceptable_tensor(value: Any, _depth: int = 0) -> str:
    """Why a tensor in ``value`` must not reach a judge (empty if none): judges compute on
    plain dense CPU tensors of a bounded size; anything else from a worker is refused."""
    if isinstance(value, codec.Unacceptable):
        return value.description
    if isinstance(value, torch.Tensor):
        if value.layout != torch.strided or value.device.type != "cpu" or value.is_quantized:
            return f"a {value.layout} tensor on {value.device} of {value.dtype}"
        if value.numel() > MAX_ELEMENTS:
            return f"a tensor of {value.numel()} elements (at most {MAX_ELEMENTS} are judged)"
        return ""
    if _depth > MAX_DEPTH:
        return ""
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for item in items:
        why = unacceptable_tensor(item, _depth + 1)
        if why:
            return why
    return ""
