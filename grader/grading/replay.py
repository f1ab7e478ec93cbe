"""Replaying a property check's inputs, for batch grading and ``grade watch``: hypothesis
generates once.

With derandomized hypothesis and no example database, the inputs of a check that *passes*
depend only on the check, never on the submission: each example's draws come from a fixed
seed, and only a failure changes what hypothesis does next. So once one submission has
passed a check, the next can be judged on the same inputs by calling the test's body
directly, without hypothesis generating them again (a third of the grading time of
exercise3). If every input passes, the verdict is the one hypothesis would have reached;
if one fails, the check runs under hypothesis from the start, which finds that failure too
and shrinks it as usual. A submission whose answers change from call to call (state kept
in its worker) may pass that second run: the failure the replay found stands, since
hypothesis alone would have met it first. The tapes live in one grading process's (or one
``grade watch``'s) memory.

Interactive draws (``st.data()``) are recorded in order with their labels; a judge must not
choose what to draw from the worker's answers (none does), and a replay that draws off the
tape falls back to hypothesis. An example that hypothesis stopped at a draw (it ran out of
data) is replayed up to that draw and then discarded, as hypothesis discarded it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import torch
from hypothesis.errors import UnsatisfiedAssumption
from hypothesis.strategies import DataObject

from grader import compat


class _OffTape(Exception):
    """A replay drew something the recording does not hold."""


@dataclass
class _Example:
    kwargs: dict[str, Any]
    draws: list[tuple[str | None, Any]] = field(default_factory=list)
    stopped: bool = False  # hypothesis stopped the example at the draw after the last one recorded


class _RecordingData:
    """Stands in for hypothesis's ``data`` argument and notes every draw."""

    def __init__(self, data: DataObject, example: _Example) -> None:
        self._data, self._example = data, example

    def draw(self, strategy: Any, label: str | None = None) -> Any:
        try:
            value = self._data.draw(strategy, label=label)
        except BaseException:  # hypothesis's own stop (out of data, a filter): no verdict
            self._example.stopped = True
            raise
        self._example.draws.append((label, copied(value)))
        return value


class _ReplayData:
    def __init__(self, example: _Example) -> None:
        self._draws, self._stopped = iter(example.draws), example.stopped

    def draw(self, strategy: Any, label: str | None = None) -> Any:
        recorded_label, value = next(self._draws, (None, _OffTape))
        if value is _OffTape and self._stopped:
            raise UnsatisfiedAssumption  # where hypothesis stopped it: discarded, as there
        if value is _OffTape or recorded_label != label:
            raise _OffTape
        return copied(value)


class Tapes:
    """Recorded inputs of passing property checks, by pytest node id.

    ``fail_fast`` (``grade audit``): a replay that fails ends the check with that failure
    at once, the verdict hypothesis would reach, but unshrunk and without generating again.
    """

    def __init__(self, fail_fast: bool = False) -> None:
        self._tapes: dict[str, list[_Example]] = {}
        self.fail_fast = fail_fast

    def run(self, item: pytest.Function) -> bool | None:
        """The ``pytest_pyfunc_call`` of a hypothesis test: replay it, or run and record it.
        None for any other test (pytest then calls it as usual)."""
        hypothesis = getattr(item.obj, "hypothesis", None)
        if hypothesis is None:
            return None
        fixtures = {name: item.funcargs[name] for name in compat.fixture_names(item)}
        tape = self._tapes.get(item.nodeid)
        failure: Exception | None = None
        if tape is not None:
            failure = _replay(hypothesis.inner_test, fixtures, tape)
            if failure is None:
                return True
            if self.fail_fast and not isinstance(failure, _OffTape):
                raise failure
        recorded = _record(item.obj, fixtures)  # raises as hypothesis does
        if failure is not None and not isinstance(failure, _OffTape):
            # The submission failed one of the very inputs hypothesis's run holds, and passed
            # it when asked again: an answer that changes from call to call (state kept in
            # its worker). Hypothesis alone would have met the failure first: keep it.
            raise failure
        self._tapes[item.nodeid] = recorded
        return True


def _replay(test: Callable[..., Any], fixtures: dict[str, Any], tape: list[_Example]) -> Exception | None:
    """None if the test passes on every recorded example, else the first failure."""
    for example in tape:
        kwargs = {name: _ReplayData(example) if isinstance(value, _Example) else copied(value)
                  for name, value in example.kwargs.items()}
        try:
            test(**fixtures, **kwargs)
        except UnsatisfiedAssumption:
            continue  # hypothesis discarded this example too
        except Exception as failure:  # noqa: BLE001 - any failure: let hypothesis judge, and shrink
            return failure
    return None


def _record(wrapped: Any, fixtures: dict[str, Any]) -> list[_Example]:
    """Run the test under hypothesis as usual, noting each example; raises as it would."""
    hypothesis = wrapped.hypothesis
    original = hypothesis.inner_test
    tape: list[_Example] = []

    def recording(*args: Any, **kwargs: Any) -> Any:
        example = _Example({})
        for name, value in kwargs.items():
            if name in fixtures:
                continue
            if isinstance(value, DataObject):
                kwargs[name] = _RecordingData(value, example)
                example.kwargs[name] = example  # a marker: replay gives a _ReplayData
            else:
                example.kwargs[name] = copied(value)
        tape.append(example)
        return original(*args, **kwargs)

    # Derandomized hypothesis seeds itself from the test function's digest: keep the
    # original's seed, so that the recording run draws exactly what a plain run draws
    # (a course secret's seed, grader.grading.seed, is already set and stays).
    saved_seed = compat.seed_of(wrapped)
    if saved_seed is None:
        compat.set_seed(wrapped, compat.derandomized_seed(original))
    hypothesis.inner_test = recording
    try:
        wrapped(**fixtures)
    finally:
        hypothesis.inner_test = original
        compat.set_seed(wrapped, saved_seed)
    return tape


class _Slow(Exception):
    """The value holds something only ``copy.deepcopy`` copies faithfully."""


_ATOMS = frozenset({type(None), bool, int, float, complex, str, bytes})


def copied(value: Any) -> Any:
    """A deep copy of a drawn value, so that a judge that changes its inputs cannot change
    the tape. Tensors are cloned directly (``deepcopy`` costs 50 µs a tensor, a tenth of a
    replayed check); a value where that could differ from ``deepcopy`` (views, storages
    shared within the value, tensor subclasses, other types) is deep-copied."""
    try:
        return _cloned(value, set())
    except _Slow:
        return copy.deepcopy(value)


def _cloned(value: Any, storages: set[int]) -> Any:
    kind = type(value)
    if kind in _ATOMS:
        return value
    if kind in (list, tuple):
        return kind(_cloned(item, storages) for item in value)
    if kind is dict:
        if any(type(key) not in _ATOMS for key in value):
            raise _Slow
        return {key: _cloned(item, storages) for key, item in value.items()}
    if kind is not torch.Tensor or not _plain_leaf(value):
        raise _Slow
    storage = value.untyped_storage()
    if storage.data_ptr() in storages:  # shared within the value (or several empty ones): deepcopy keeps that
        raise _Slow
    storages.add(storage.data_ptr())
    clone = value.detach().clone()
    # deepcopy keeps the strides and the whole storage, which the wire sends as they are
    if clone.stride() != value.stride() or clone.untyped_storage().nbytes() != storage.nbytes():
        raise _Slow
    return clone.requires_grad_() if value.requires_grad else clone


def _plain_leaf(tensor: torch.Tensor) -> bool:
    """A dense CPU tensor that owns its storage from the start, with no gradient or
    attributes of its own: what a clone copies whole."""
    return (tensor._base is None and tensor.is_leaf and tensor.grad is None and not tensor.__dict__
            and tensor.layout == torch.strided and tensor.device.type == "cpu"
            and tensor.storage_offset() == 0)
