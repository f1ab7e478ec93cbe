"""What crosses between the trusted side and a worker: plain data, as JSON and raw storages.

    trusted side                                   worker
    dumps(request)      -- bytes -->               loads(request)
    loads(reply)        <-- bytes --               dumps({"status": ..., "value": plain(result)})
    unacceptable(value): the judges' rule for the tensors they receive

One message:

    [4 bytes: header length] [header: JSON] [storage 0 bytes] [storage 1 bytes] ...

The header holds the value, with containers and tensors tagged, plus a table of tensors
(dtype, shape, strides, offset, which storage) and of storages (byte lengths). Decoding
runs no code from the message: JSON, a dtype from a fixed list, and tensors built over
fresh storages with ``Tensor.set_``, which checks every view against its storage's size.
Tensors that shared a storage share one again, so tied weights stay tied. This does what
``torch.save`` / ``torch.load(weights_only=True)`` did, in a fifth of the time, which is
most of a probe call's overhead. Both directions carry the same types: None, bools,
numbers, strings, lists, tuples, dicts, tensors, ``torch.Size``, dtypes, devices and
``Opaque``.

A probe's result is made of the student's objects, so the worker first passes it through
``plain``: tensors are detached, tuples become lists and dtypes strings (the forms judges
compare with), and anything that is not plain data becomes an ``Opaque`` stand-in. A tensor
with no plain bytes (meta, fake, sparse, quantized, on a GPU) crosses as an ``Opaque`` too,
which judges refuse, saying what it was. A conjugate or negative view crosses as its values
(a copy): its bytes alone would say otherwise.
"""

from __future__ import annotations

import ctypes
import json
import math
import struct
from dataclasses import dataclass
from typing import Any

import torch

DTYPES = {str(dtype).removeprefix("torch."): dtype for dtype in (
    torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.complex64, torch.complex128,
    torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64, torch.bool)}
_NAMES = {dtype: name for name, dtype in DTYPES.items()}
MAX_DEPTH = 32  # how deeply plain data nests; deeper objects cross as Opaque
_ENVELOPE = 2  # a message holds its plain data two levels down: {"args": [arg, ...]}
MAX_ITEMS = 100_000  # objects in one result; a container that would exceed it crosses as Opaque
# What a reader decodes at most: tensors (and storages) in one message, and values in it (a
# dict's keys count too). A worker following ``plain`` stays well within; a compromised one
# could otherwise make the trusted side build millions of tensors from one 64 MiB reply.
MAX_NODES = 3 * MAX_ITEMS
# The JSON header of a reply: ``plain`` data is small there (tensors travel as raw bytes),
# and ``json.loads`` turns a few bytes ("{},") into objects of a hundred before any count.
MAX_REPLY_HEADER = 8 * 2**20
MAX_ELEMENTS = 2**24  # per tensor: judges recompute on what they receive, in their own memory
REPR_LIMIT = 300
_HEAD = struct.Struct("<I")


class DecodeError(ValueError):
    """The bytes are not a message."""


@dataclass(frozen=True)
class Opaque:
    """Stand-in for an object that is not plain data: its type's name and a bounded text.

    ``text`` is the object's repr, or for a tensor without plain bytes (``tensor``), what
    it was; judges refuse such a tensor outright (``unacceptable``).
    """

    type_name: str
    text: str
    tensor: bool = False

    def __repr__(self) -> str:  # in a message, as the object printed itself in the worker
        return self.text


def is_opaque(value: Any) -> bool:
    """Whether a probe's result (or part of it) is a stand-in for something not plain data."""
    return isinstance(value, Opaque)


def opaque(obj: Any) -> Opaque:
    """The stand-in for ``obj``: its type and a bounded repr."""
    try:
        text = repr(obj)
    except Exception as exc:  # noqa: BLE001 - a student's __repr__ may raise anything
        text = f"<repr raised {type(exc).__name__}>"
    if len(text) > REPR_LIMIT:
        text = text[:REPR_LIMIT] + "…"
    return Opaque(type(obj).__name__, text)


# -- the acceptability rule -------------------------------------------------------------


def _without_bytes(tensor: torch.Tensor) -> str:
    """What ``tensor`` is, if it has no plain bytes to send (empty if it has)."""
    if (tensor.layout != torch.strided or not tensor.is_cpu or tensor.is_quantized
            or tensor.dtype not in _NAMES):
        return f"a {tensor.layout} tensor on {tensor.device} of {tensor.dtype}"
    # A fake tensor says "cpu" over a storage on meta, which holds no values: its bytes
    # would be whatever lies at address 0 (reviewer's finding).
    storage = tensor.untyped_storage()
    if storage.device.type != "cpu" or (storage.nbytes() and not storage.data_ptr()):
        return f"a tensor without values (its storage is on {storage.device}: a fake or meta tensor)"
    return ""


def unacceptable(value: Any) -> str:
    """Why a tensor in ``value`` must not reach a judge (empty if none): judges compute on
    plain dense CPU tensors of a bounded size; anything else from a worker is refused.
    Walks the whole value, whose depth ``loads`` has already bounded."""
    if isinstance(value, Opaque):
        return value.text if value.tensor else ""
    if isinstance(value, torch.Tensor):
        if why := _without_bytes(value):
            return why
        if value.numel() > MAX_ELEMENTS:
            return f"a tensor of {value.numel()} elements (at most {MAX_ELEMENTS} are judged)"
        return ""
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list | tuple) else ()
    for item in items:
        if why := unacceptable(item):
            return why
    return ""


# -- a probe's result, made plain in the worker -------------------------------------------


def plain(obj: Any, _depth: int = 0, _count: list[int] | None = None) -> Any:
    """A copy of ``obj`` made only of tensors, numbers, strings, lists, dicts and ``Opaque``.

    Tensors are detached but not copied, so storage shared between them survives the
    trip (tied weights stay tied). Tensor subclasses become plain tensors.
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
    container = type(obj) in (list, tuple, dict) or type(obj).__name__ == "OrderedDict"
    if container and count[0] + len(obj) > MAX_ITEMS:  # whole, so that no reply holds more
        return opaque(obj)
    if type(obj) in (list, tuple):
        return [plain(item, _depth + 1, count) for item in obj]
    if type(obj) is dict or type(obj).__name__ == "OrderedDict":
        return {
            str(key): plain(value, _depth + 1, count)
            for key, value in dict.items(obj)
            if type(key) in (str, int)
        }
    return opaque(obj)


# -- bytes ------------------------------------------------------------------------------


def dumps(value: Any) -> bytes:
    """One message holding ``value`` (raises ``TypeError`` for a type that does not cross)."""
    encoder = _Encoder()
    header = json.dumps({"v": encoder.encode(value, 0), "t": encoder.tensors,
                         "s": [len(b) for b in encoder.buffers]}, separators=(",", ":")).encode()
    return b"".join([_HEAD.pack(len(header)), header, *encoder.buffers])


def loads(data: bytes, max_header: int | None = None) -> Any:
    """The value of a message, decoded without running anything it holds.

    The trusted side reads a worker's reply with ``max_header=MAX_REPLY_HEADER``.
    """
    try:
        (size,) = _HEAD.unpack_from(data)
        if max_header is not None and size > max_header:
            raise DecodeError(f"a header of {size} bytes (at most {max_header})")
        header = json.loads(data[_HEAD.size:_HEAD.size + size])
        if not (isinstance(header["t"], list) and isinstance(header["s"], list)):
            raise DecodeError("the tables of tensors and storages are not lists")
        if len(header["t"]) > MAX_ITEMS or len(header["s"]) > MAX_ITEMS:
            raise DecodeError(f"more than {MAX_ITEMS} tensors in one message")
        storages = _storages(data, _HEAD.size + size, header["s"])
        tensors = [_tensor(spec, storages) for spec in header["t"]]
        return _decode(header["v"], tensors, 0, [MAX_NODES])
    except DecodeError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, RuntimeError, RecursionError,
            struct.error) as exc:
        raise DecodeError(f"{type(exc).__name__}: {exc}") from None


class _Encoder:
    def __init__(self) -> None:
        self.tensors: list[dict[str, Any]] = []
        self.buffers: list[bytes] = []
        self._storages: dict[tuple[int, int], int] = {}  # (data pointer, bytes) -> index
        self._made: list[torch.Tensor] = []

    def encode(self, value: Any, depth: int) -> Any:
        if depth > MAX_DEPTH + _ENVELOPE:
            raise ValueError("the value is nested too deeply to send")
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, torch.Tensor):
            tensor = value.detach()
            if tensor.is_conj() or tensor.is_neg():  # views whose values are not their bytes
                tensor = tensor.resolve_conj().resolve_neg()
                # A new tensor: kept alive until the message is made, or a later one could
                # get its address and be taken for the same storage.
                self._made.append(tensor)
            why = _without_bytes(tensor)
            return self.encode(Opaque(type(value).__name__, why, True), depth) if why else {
                "t": self._tensor(tensor)}
        if isinstance(value, torch.Size):
            return {"z": list(value)}
        if isinstance(value, (list, tuple)):
            items = [self.encode(v, depth + 1) for v in value]
            return {"l" if isinstance(value, list) else "u": items}
        if isinstance(value, dict):
            return {"d": [[self.encode(k, depth + 1), self.encode(v, depth + 1)] for k, v in value.items()]}
        if isinstance(value, torch.dtype):
            return {"y": str(value).removeprefix("torch.")}
        if isinstance(value, torch.device):
            return {"e": str(value)}
        if isinstance(value, Opaque):
            return {"o": [value.type_name, value.text, value.tensor]}
        raise TypeError(f"cannot send a {type(value).__name__}")

    def _tensor(self, tensor: torch.Tensor) -> int:
        storage = tensor.untyped_storage()
        key = (storage.data_ptr(), storage.nbytes())
        if key not in self._storages:
            self._storages[key] = len(self.buffers)
            self.buffers.append(_bytes(storage))
        self.tensors.append({"d": _NAMES[tensor.dtype], "z": list(tensor.shape),
                             "r": list(tensor.stride()), "o": tensor.storage_offset(),
                             "s": self._storages[key]})
        return len(self.tensors) - 1


def _bytes(storage: torch.UntypedStorage) -> bytes:
    """A copy of a CPU storage's bytes (read straight from its memory: a fifth of the time
    of going through a uint8 view and numpy, for the same bytes)."""
    size, address = storage.nbytes(), storage.data_ptr()
    if not size:
        return b""
    if not address:  # checked by _without_bytes, unless a thread freed it since
        raise ValueError("a tensor's storage was freed while it was being sent")
    return ctypes.string_at(address, size)


def _storages(data: bytes, start: int, sizes: list[int]) -> list[torch.UntypedStorage]:
    if not all(isinstance(n, int) and n >= 0 for n in sizes) or start + sum(sizes) != len(data):
        raise DecodeError("the storages do not match the message's length")
    storages, view = [], memoryview(data)
    for size in sizes:
        # A fresh copy for each storage (frombuffer refuses an empty one).
        chunk = bytearray(view[start:start + size])
        storages.append(torch.frombuffer(chunk, dtype=torch.uint8).untyped_storage() if size
                        else torch.UntypedStorage(0))
        start += size
    return storages


def _tensor(spec: dict[str, Any], storages: list[torch.UntypedStorage]) -> torch.Tensor:
    dtype = DTYPES[spec["d"]]
    shape, stride, offset = spec["z"], spec["r"], spec["o"]
    numbers = [*shape, *stride, offset]
    if len(shape) != len(stride) or not all(type(n) is int and n >= 0 for n in numbers):
        raise DecodeError("a tensor's shape, strides or offset are not counts")
    storage = storages[spec["s"]]
    # Checked here, not left to set_, which would grow a resizable (empty) storage instead.
    reach = sum((n - 1) * step for n, step in zip(shape, stride, strict=True))
    last = offset + reach if all(shape) else -1
    if (last + 1) * dtype.itemsize > storage.nbytes():
        raise DecodeError("a tensor reaches beyond its storage")
    return torch.empty(0, dtype=dtype).set_(storage, offset, shape, stride)


def _decode(value: Any, tensors: list[torch.Tensor], depth: int, left: list[int]) -> Any:
    if depth > MAX_DEPTH + _ENVELOPE:
        raise DecodeError("the value is nested too deeply")
    left[0] -= 1
    if left[0] < 0:
        raise DecodeError(f"more than {MAX_NODES} values in one message")
    if not isinstance(value, dict):
        if isinstance(value, list):
            raise DecodeError("an untagged list")
        return value
    if len(value) != 1:
        raise DecodeError("a tag must be alone")
    ((tag, body),) = value.items()
    if tag == "t":
        if type(body) is not int:
            raise DecodeError("a tensor's index is not a number")
        return tensors[body]
    if tag in ("l", "u"):
        items = [_decode(v, tensors, depth + 1, left) for v in _list(body)]
        return items if tag == "l" else tuple(items)
    if tag == "d":
        pairs = _list(body)
        return {_key(_decode(k, tensors, depth + 1, left)): _decode(v, tensors, depth + 1, left)
                for k, v in pairs}
    if tag == "z":
        return torch.Size(int(n) for n in _list(body))
    if tag == "y":
        return DTYPES[body]
    if tag == "e":
        return torch.device(str(body))
    if tag == "o":
        return _opaque(_list(body))
    raise DecodeError(f"an unknown tag {tag!r}")


def _opaque(body: list[Any]) -> Opaque:
    if len(body) != 3 or not (type(body[0]) is str and type(body[1]) is str and type(body[2]) is bool):
        raise DecodeError("an opaque value is not (type, text, tensor)")
    return Opaque(body[0][:REPR_LIMIT], body[1][:REPR_LIMIT + 1], body[2])


def _list(body: Any) -> list[Any]:
    if not isinstance(body, list):
        raise DecodeError("a container's body is not a list")
    return body


def _key(key: Any) -> Any:
    if not isinstance(key, (str, int, float, bool, tuple)) and key is not None:
        raise DecodeError("a dict key must be a number, string or tuple")
    return key
