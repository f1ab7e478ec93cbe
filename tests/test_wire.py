"""What crosses between the trusted side and a worker (grader/sandbox/wire.py): values come
back as they went, a message built to hurt the trusted side is refused, and judges see
one stand-in for whatever is not plain data."""

from __future__ import annotations

import json
import struct

import pytest
import torch

from grader.sandbox import wire


def message(header: dict, payload: bytes = b"") -> bytes:
    head = json.dumps(header).encode()
    return struct.pack("<I", len(head)) + head + payload


def test_values_come_back_equal_with_their_types():
    value = {"list": [1, 2.5, "x", None, True], "tuple": (1, (2, 3)), 7: {"size": torch.Size([2, 3])},
             "dtype": torch.bfloat16, "device": torch.device("cpu"), "nan": float("nan")}
    back = wire.loads(wire.dumps(value))
    assert back["list"] == [1, 2.5, "x", None, True] and back["tuple"] == (1, (2, 3))
    assert back[7] == {"size": torch.Size([2, 3])} and isinstance(back[7]["size"], torch.Size)
    assert back["dtype"] is torch.bfloat16 and back["device"] == torch.device("cpu")
    assert back["nan"] != back["nan"]


@pytest.mark.parametrize("dtype", sorted(wire.DTYPES.values(), key=str))
def test_tensors_of_every_dtype_keep_values_shape_and_strides(dtype):
    base = (torch.arange(24) % 5).to(dtype).reshape(4, 6)
    views = [base, base.T, base[1:, ::2], base[:0], base[2, 3]]
    for sent, got in zip(views, wire.loads(wire.dumps(views)), strict=True):
        assert got.dtype == dtype and got.shape == sent.shape and got.stride() == sent.stride()
        assert torch.equal(got, sent)


def test_tensors_that_shared_a_storage_share_one_again():
    weight = torch.randn(3, 4)
    tied, other = wire.loads(wire.dumps([weight, weight.T])), torch.randn(3, 4)
    assert tied[0].untyped_storage().data_ptr() == tied[1].untyped_storage().data_ptr()
    apart = wire.loads(wire.dumps([weight, other]))
    assert apart[0].untyped_storage().data_ptr() != apart[1].untyped_storage().data_ptr()


def test_a_tensor_without_plain_bytes_crosses_as_a_description_the_judges_refuse():
    back = wire.loads(wire.dumps({"x": torch.empty(2, device="meta")}))
    assert isinstance(back["x"], wire.Opaque) and back["x"].tensor
    assert wire.unacceptable(back) == "a torch.strided tensor on meta of torch.float32"


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
    with pytest.raises(wire.DecodeError):
        wire.loads(message(header, payload))


def test_deep_nesting_and_garbage_are_refused():
    deep: dict = {"l": []}
    for _ in range(200):
        deep = {"l": [deep]}
    for data in (message({"v": deep, "t": [], "s": []}), b"", b"\xff\xff\xff\xff{", b"\x02\x00\x00\x00{}"):
        with pytest.raises(wire.DecodeError):
            wire.loads(data)


class Gadget:
    def __repr__(self) -> str:
        return "Gadget(" + "x" * 1000 + ")"


def test_what_is_not_plain_data_crosses_as_one_opaque_stand_in():
    back = wire.loads(wire.dumps(wire.plain({"obj": Gadget(), "nested": [[Gadget()]]})))
    assert wire.is_opaque(back["obj"]) and back["obj"].type_name == "Gadget" and not back["obj"].tensor
    assert len(back["obj"].text) == wire.REPR_LIMIT + 1 and back["nested"][0][0] == back["obj"]
    assert wire.unacceptable(back) == ""  # only a tensor stand-in is refused outright


def test_the_authoring_kit_names_the_stand_in():
    from grader import authoring

    assert authoring.Opaque is wire.Opaque and authoring.is_opaque(wire.opaque(Gadget()))


def test_plain_data_nests_as_deep_as_a_message_carries_it():
    deep: list = [torch.ones(1)]
    for _ in range(wire.MAX_DEPTH + 5):
        deep = [deep]
    back = wire.loads(wire.dumps({"status": "ok", "value": wire.plain(deep)}))["value"]
    for _ in range(wire.MAX_DEPTH):
        back = back[0]
    assert wire.is_opaque(back[0])  # cut where plain data ends, and the message still decodes


@pytest.mark.parametrize("hidden", [
    lambda t: (t,), lambda t: {"a": [t]}, lambda t: [[[[t]]]],
])
def test_a_refused_tensor_is_found_wherever_a_worker_puts_it(hidden):
    sparse = "a torch.sparse_coo tensor on cpu of torch.float32"
    lie = hidden(wire.Opaque("Tensor", sparse, True))
    assert wire.unacceptable(wire.loads(wire.dumps(lie))) == sparse


@pytest.mark.parametrize("body", [["Tensor", "x"], ["Tensor", 1, True], "Tensor", [None, "x", False]])
def test_a_malformed_stand_in_is_refused(body):
    with pytest.raises(wire.DecodeError):
        wire.loads(message({"v": {"o": body}, "t": [], "s": []}))
