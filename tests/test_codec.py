"""The bytes between the trusted side and a worker (grader/sandbox/codec.py): values come
back as they went, and a message built to hurt the trusted side is refused."""

from __future__ import annotations

import json
import struct

import pytest
import torch

from grader.sandbox import codec, wire


def message(header: dict, payload: bytes = b"") -> bytes:
    head = json.dumps(header).encode()
    return struct.pack("<I", len(head)) + head + payload


def test_values_come_back_equal_with_their_types():
    value = {"list": [1, 2.5, "x", None, True], "tuple": (1, (2, 3)), 7: {"size": torch.Size([2, 3])},
             "dtype": torch.bfloat16, "device": torch.device("cpu"), "nan": float("nan")}
    back = codec.loads(codec.dumps(value))
    assert back["list"] == [1, 2.5, "x", None, True] and back["tuple"] == (1, (2, 3))
    assert back[7] == {"size": torch.Size([2, 3])} and isinstance(back[7]["size"], torch.Size)
    assert back["dtype"] is torch.bfloat16 and back["device"] == torch.device("cpu")
    assert back["nan"] != back["nan"]


@pytest.mark.parametrize("dtype", sorted(codec.DTYPES.values(), key=str))
def test_tensors_of_every_dtype_keep_values_shape_and_strides(dtype):
    base = (torch.arange(24) % 5).to(dtype).reshape(4, 6)
    views = [base, base.T, base[1:, ::2], base[:0], base[2, 3]]
    for sent, got in zip(views, codec.loads(codec.dumps(views)), strict=True):
        assert got.dtype == dtype and got.shape == sent.shape and got.stride() == sent.stride()
        assert torch.equal(got, sent)


def test_tensors_that_shared_a_storage_share_one_again():
    weight = torch.randn(3, 4)
    tied, other = codec.loads(codec.dumps([weight, weight.T])), torch.randn(3, 4)
    assert tied[0].untyped_storage().data_ptr() == tied[1].untyped_storage().data_ptr()
    apart = codec.loads(codec.dumps([weight, other]))
    assert apart[0].untyped_storage().data_ptr() != apart[1].untyped_storage().data_ptr()


def test_a_tensor_without_plain_bytes_crosses_as_a_description_the_judges_refuse():
    back = codec.loads(codec.dumps({"x": torch.empty(2, device="meta")}))
    assert isinstance(back["x"], codec.Unacceptable)
    assert wire.unacceptable_tensor(back) == "a torch.strided tensor on meta of torch.float32"


TENSOR = {"d": "float32", "z": [2], "r": [1], "o": 0, "s": 0}


@pytest.mark.parametrize(("header", "payload"), [
    ({"v": {"t": 0}, "t": [dict(TENSOR, z=[1 << 40])], "s": [0]}, b""),  # would grow an empty storage
    ({"v": {"t": 0}, "t": [dict(TENSOR, o=1)], "s": [8]}, b"x" * 8),  # one element past the end
    ({"v": {"t": 0}, "t": [dict(TENSOR, r=[-1])], "s": [8]}, b"x" * 8),
    ({"v": {"t": 0}, "t": [dict(TENSOR, d="object")], "s": [8]}, b"x" * 8),
    ({"v": {"t": 0}, "t": [TENSOR], "s": [8]}, b"x" * 9),  # storages do not add up
    ({"v": {"t": 1}, "t": [TENSOR], "s": [8]}, b"x" * 8),
    ({"v": {"p": "os.system"}, "t": [], "s": []}, b""),
    ({"v": {"l": [], "d": []}, "t": [], "s": []}, b""),
    ({"v": [1, 2], "t": [], "s": []}, b""),
    ({"v": {"d": [[[1], 2]]}, "t": [], "s": []}, b""),
])
def test_a_hostile_message_is_refused(header, payload):
    with pytest.raises(codec.DecodeError):
        codec.loads(message(header, payload))


def test_deep_nesting_and_garbage_are_refused():
    deep: dict = {"l": []}
    for _ in range(200):
        deep = {"l": [deep]}
    for data in (message({"v": deep, "t": [], "s": []}), b"", b"\xff\xff\xff\xff{", b"\x02\x00\x00\x00{}"):
        with pytest.raises(codec.DecodeError):
            codec.loads(data)
