"""A reviewer's attacks on stop 23's speed work (lazy Fail messages, the wire's direct
storage copy, strategies built once, the torch-free batch coordinator), kept as tests.

What worked, and is fixed:
- a FakeTensor answer crossed the wire as uninitialized memory (``ctypes.string_at`` of
  address 0): reports differed from run to run; it is refused now, as before, saying why;
- (older) a conj or neg view crossed without its bit: a correct FourierHalf returned as
  ``(ifft(X) * n).conj()[..., :k]`` scored 17/20; resolving it made new tensors whose
  addresses a later one could reuse, which the wire took for a shared storage (found
  through the FourierHalf test, with other exercises' probes loaded in the server);
- ``strategies.choice`` cached on tuple equality, so ``choice((False, True))`` after
  ``choice((0, 1))`` drew ints;
- ``Fail`` did not copy, pickle or repr as an exception does.
The rest are attacks that did not work.
"""

from __future__ import annotations

import copy
import ctypes
import pickle
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import find

from grader.authoring import strategies
from grader.authoring.judging import Fail
from grader.report import Status
from grader.sandbox import wire
from grader.sandbox.client import Limits

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = (ROOT / "solutions" / "exercise3.py").read_text(encoding="utf-8")
CENTERED = "    def forward(self, X):\n        return X - X.mean()"
ROOMY = Limits(call_s=15.0, load_s=30.0)  # importing torch's fake tensors takes seconds


def _exercise3_with_centered(tmp_path: Path, name: str, forward: str, header: str = "") -> Path:
    assert CENTERED in SOLUTION
    source = SOLUTION.replace(CENTERED, textwrap.indent(textwrap.dedent(forward).strip(), "    "), 1)
    path = tmp_path / name
    path.write_text(header + source, encoding="utf-8")
    return path


def _checks(report, target: str) -> dict[str, object]:
    return {c.name: c for c in report.checks if c.target == target}


# -- 1. wire: a tensor whose storage is not CPU memory -----------------------------------------


def _fake_zeros(n: int) -> torch.Tensor:
    from torch._subclasses.fake_tensor import FakeTensorMode

    return FakeTensorMode(allow_non_fake_inputs=True).from_tensor(torch.zeros(n))


@pytest.mark.filterwarnings("ignore:Accessing the data pointer of FakeTensor")  # the test reads it
def test_a_fake_tensor_is_refused_not_sent_as_uninitialized_memory():
    """Was a finding. plain() keeps a FakeTensor (its device reads "cpu", is_cpu is True), whose
    storage is on meta with data_ptr() 0. 22ee3c4 raised (set_ refuses a meta storage: "the
    result could not be sent back"); now ctypes.string_at(0, n) returns n uninitialized bytes
    of the process's heap, decoded as a valid tensor. On the trusted side the same call
    would put the grader's heap into a request."""
    fake = _fake_zeros(64)
    storage = fake.untyped_storage()
    assert storage.data_ptr() == 0 and storage.nbytes() == 256 and storage.device.type == "meta"
    try:
        data = wire.dumps({"value": wire.plain(fake)})
    except (RuntimeError, TypeError, ValueError):
        return  # refused where it is made, as before
    value = wire.loads(data, max_header=wire.MAX_REPLY_HEADER)["value"]
    assert wire.unacceptable(value), f"a fake tensor crossed as the bytes {data[-32:]!r}"


def test_a_fake_tensor_answer_is_not_judged_on_garbage(grade_file, tmp_path):
    """Was a finding, end to end. CenteredLayer returning FakeTensorMode().from_tensor(X - X.mean()):
    at 22ee3c4 "output has zero mean" was an error ("the result could not be sent back ...
    devices must match"); now it FAILS with a message quoting the worker's uninitialized
    heap ("the output's mean should be 0, got 2.07675e+27"), different on every run and
    between `grade exercise3` and `grade batch` (seen: 1.87632e+23, -6.85627e+27, ...)."""
    path = _exercise3_with_centered(tmp_path, "fake_centered.py", """
        def forward(self, X):
            from torch._subclasses.fake_tensor import FakeTensorMode
            return FakeTensorMode(allow_non_fake_inputs=True).from_tensor(X - X.mean())
    """)
    checks = _checks(grade_file(path, limits=ROOMY), "CenteredLayer")
    mean = checks["CenteredLayer: output has zero mean"]
    assert mean.status != Status.FAILED, mean.message


# -- 1b. wire: odd tensors still cross as before (attacks that did not work) -------------------


def _old_bytes(storage: torch.UntypedStorage) -> bytes:
    """22ee3c4's _bytes."""
    size = storage.nbytes()
    if not size:
        return b""
    return torch.empty(0, dtype=torch.uint8).set_(storage, 0, (size,), (1,)).numpy().tobytes()


def _odd_tensors() -> dict[str, object]:
    base = torch.arange(24.0).reshape(4, 6)
    grown = torch.arange(4.0)
    grown.untyped_storage().resize_(64)
    grown_view = grown[1:3]
    shared = torch.arange(10, dtype=torch.int16)
    return {
        "empty": torch.zeros(0),
        "empty of shape (0, 3)": torch.zeros(0, 3),
        "offset view": base[1:3, 2:5],
        "stepped": base[::2, ::3],
        "transposed": base.t(),
        "expanded": torch.ones(1, 3).expand(4, 3),
        "shared storage": [shared[:4], shared[2:], shared],
        "storage grown under a tensor": grown_view,
        "numpy negative strides (copied)": torch.from_numpy(np.arange(6.0)[::-1].copy()),
        "numpy view": torch.from_numpy(np.arange(12, dtype=np.int32).reshape(3, 4)[:, 1::2]),
        "frombuffer": torch.frombuffer(bytearray(b"\x01\x02\x03\x04"), dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "bfloat16": torch.tensor([0.5, -1.25], dtype=torch.bfloat16),
        "half scalar": torch.tensor(3.5, dtype=torch.float16),
        "parameter": torch.nn.Parameter(torch.ones(2, 2)),
    }


@pytest.mark.parametrize("name", list(_odd_tensors()))
def test_odd_tensors_cross_with_the_bytes_and_values_of_22ee3c4(name):
    value = wire.plain(_odd_tensors()[name])
    encoder = wire._Encoder()
    encoder.encode(value, 0)
    tensors = value if isinstance(value, list) else [value]
    assert encoder.buffers == list(dict.fromkeys(_old_bytes(t.untyped_storage()) for t in tensors))
    back = wire.loads(wire.dumps({"v": value}), max_header=wire.MAX_REPLY_HEADER)["v"]
    back = back if isinstance(back, list) else [back]
    for sent, got in zip(tensors, back, strict=True):
        assert not wire.unacceptable(got)
        assert got.dtype == sent.dtype and got.shape == sent.shape and got.stride() == sent.stride()
        assert torch.equal(got, sent.detach())
    if name == "shared storage":  # still one storage on the trusted side
        assert len({t.untyped_storage().data_ptr() for t in back}) == 1


@pytest.mark.parametrize("make", [
    lambda: torch.tensor([1 + 2j, 3 - 4j], dtype=torch.complex64).conj(),
    lambda: torch.tensor([1 + 2j, 3 - 4j], dtype=torch.complex64).conj().imag,
], ids=["conj view", "neg view (conj().imag)"])
def test_a_lazily_conjugated_or_negated_view_crosses_with_its_values(make):
    """Was a finding (older than stop 23): the wire sends a tensor's storage, shape,
    strides and offset, but not its conjugate or negative bit, so x.conj() arrives as x and
    x.conj().imag as -x.imag."""
    sent = make()
    got = wire.loads(wire.dumps({"v": wire.plain(sent)}), max_header=wire.MAX_REPLY_HEADER)["v"]
    assert torch.equal(got, sent.resolve_conj().resolve_neg()), (got, sent)


def test_a_correct_fourier_half_returned_as_a_conj_view_gets_full_marks(grade_file, tmp_path):
    """Was a finding (older), a wrong score: for real X, fft(X) == n * conj(ifft(X)), and
    slicing keeps the conj bit. The answer is right (torch.allclose with fft), yet
    "FourierHalf: coefficients equal fft(X)" fails (17/20): the grader receives the
    unconjugated values ("got tensor(-0.0625-0.1083j), expected tensor(-0.0625+0.1083j)")."""
    old = "        return torch.fft.fft(X, dim=-1)[..., : (n + 1) // 2]"
    assert old in SOLUTION
    path = tmp_path / "fourier_conj.py"
    conj_view = "        return (torch.fft.ifft(X, dim=-1) * n).conj()[..., : (n + 1) // 2]"
    path.write_text(SOLUTION.replace(old, conj_view), encoding="utf-8")
    report = grade_file(path)
    assert report.score == 20, [c.message for c in report.checks if c.status != Status.PASSED]


def test_resolved_views_are_not_taken_for_one_storage():
    sent = [torch.tensor([i + 1j, -i - 2j], dtype=torch.complex64).conj() for i in range(50)]
    got = wire.loads(wire.dumps({"v": sent}), max_header=wire.MAX_REPLY_HEADER)["v"]
    assert all(torch.equal(g, s.resolve_conj()) for g, s in zip(got, sent, strict=True))


@pytest.mark.filterwarnings("ignore:ComplexHalf support is experimental")
@pytest.mark.parametrize("make", [
    lambda: torch.empty(3, device="meta"),
    lambda: torch.eye(3).to_sparse(),
    lambda: torch.zeros(3, dtype=torch.uint16),
    lambda: torch.zeros(3, dtype=torch.float8_e4m3fn),
    lambda: torch.zeros(3, dtype=torch.complex32),
], ids=["meta", "sparse", "uint16", "float8", "complex32"])
def test_tensors_without_plain_bytes_are_refused_by_name(make):
    value = wire.loads(wire.dumps({"v": wire.plain(make())}), max_header=wire.MAX_REPLY_HEADER)["v"]
    assert wire.is_opaque(value) and wire.unacceptable(value)


def test_a_storage_resized_to_nothing_is_a_decode_error_not_a_read():
    t = torch.arange(4.0)
    t.untyped_storage().resize_(0)
    with pytest.raises(wire.DecodeError, match="beyond its storage"):
        wire.loads(wire.dumps({"v": wire.plain(t)}), max_header=wire.MAX_REPLY_HEADER)


def test_string_at_of_null_is_uninitialized_memory_not_a_crash():
    """Why the FakeTensor case reads garbage instead of crashing: CPython's string_at(NULL, n)
    is PyBytes_FromStringAndSize(NULL, n). (Documents the mechanism; passes.)"""
    assert len(ctypes.string_at(0, 16)) == 16


def test_a_thread_resizing_the_answers_storage_costs_only_its_own_checks(grade_file, tmp_path):
    """Did not work (acceptable): a background thread that frees and reallocates the
    returned tensor's storage while the worker encodes it. Usually the reply fails to decode
    ("the worker sent data that is not a result (DecodeError)"); where the thread freed the
    storage between nbytes() and data_ptr(), string_at(NULL, n) again sends uninitialized
    bytes, and the check fails on them. Either way only the submission's own CenteredLayer
    checks suffer, no grader fault, every other check passes."""
    path = _exercise3_with_centered(tmp_path, "churn.py", """
        def forward(self, X):
            import threading
            out = X - X.mean()
            storage, size = out.untyped_storage(), out.untyped_storage().nbytes()
            def churn():
                for _ in range(200000):
                    storage.resize_(0)
                    storage.resize_(size)
            threading.Thread(target=churn, daemon=True).start()
            return out
    """)
    report = grade_file(path)
    for check in report.checks:
        assert check.fault != "grader", check
        if check.target != "CenteredLayer":
            assert check.status == Status.PASSED, check
    assert report.score >= 14


# -- 2. cached strategies -------------------------------------------------------------------


def test_choice_draws_the_options_it_was_given_not_equal_ones_cached_before():
    """Was a finding (latent: no judge passes such options). ``choice`` is public authoring API
    (README tells check authors to use it); functools.cache keys on tuple equality, and
    (0, 1) == (False, True) == (0.0, 1.0). Hypothesis's own strategy cache keys on types."""
    assert find(strategies.choice((0, 1)), lambda v: True) == 0
    drawn = find(strategies.choice((False, True)), lambda v: True)
    assert type(drawn) is bool, f"choice((False, True)) drew {drawn!r}"


def test_cached_batches_draw_what_the_inline_strategies_drew():
    """Did not work: rows/batches draw exactly what the strategies they replace drew (the
    fixture snapshots of 22ee3c4 and HEAD are identical too, --warm included)."""
    from hypothesis import strategies as st

    old = st.lists(strategies.tensors(st.tuples(st.integers(1, 3), st.just(4))), min_size=1, max_size=3)
    new = strategies.batches(4, 1, 3, 3)

    def key(xs):
        return [x.tolist() for x in xs]

    for condition in (lambda xs: len(xs) >= 2, lambda xs: sum(x.numel() for x in xs) > 20,
                      lambda xs: any(bool((x > 3).any()) for x in xs)):
        assert key(find(old, condition)) == key(find(new, condition))


# -- 3. lazy Fail ---------------------------------------------------------------------------


def test_a_fail_copies_and_pickles_with_its_message_as_before():
    """Was a finding (latent): Fail's C-level args stay () until the message is read, so
    BaseException.__reduce__ rebuilds Fail() (TypeError: missing 'message') and repr shows
    Fail(). At 22ee3c4 copy, pickle and repr of Fail("...") kept the message."""
    failure = Fail("the property broke", hint="a hint")
    assert str(copy.copy(failure)) == "the property broke"
    again = pickle.loads(pickle.dumps(failure))
    assert str(again) == "the property broke" and again.hint == "a hint"
    assert "the property broke" in repr(Fail("the property broke"))


def test_a_lazy_fails_repr_shows_its_message():
    """Was a finding (minor): repr reads the C args slot, () until the message is made."""
    assert "the property broke" in repr(Fail(lambda: "the property broke"))


def test_a_lazy_message_is_made_from_what_the_check_saw():
    """Did not work: the message is made once, at the first read; reading again (report,
    then summary) never calls it again, and a message that raises still fails the property."""
    calls = []
    failure = Fail(lambda: calls.append(1) or "made")
    assert (str(failure), failure.args, str(failure)) == ("made", ("made",), "made") and calls == [1]
    boom = Fail(lambda: [][0])
    assert str(boom).startswith("the property does not hold (and its message failed: IndexError")
