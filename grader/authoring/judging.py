"""The toolkit for writing judges: a judge is a pytest test with a ``@check`` marker.

    @check("CenteredLayer", "output has zero mean", points=2)
    @budget(25)
    @given(xs=st.lists(float_tensors(), min_size=1, max_size=8))
    def test_zero_mean(submission, xs):
        ys = submission.run(probes.centered_outputs, xs)
        for x, y in zip(xs, ys):
            expect_tensor(y, "the output", x=x)
            ...

``submission.run(probe, *args)`` runs a probe in the worker and returns plain data. Judges
decide from that data, recomputing what they can; they fail with ``expect*`` helpers,
whose messages say what broke, on which input, expected versus observed.

Hypothesis seeds a derandomized judge from its source, decorators and comments aside: any
edit to the body of a ``@given`` judge, rewrapping a line included, changes the examples it
draws and so the counterexamples in reports. Long lines in such bodies therefore carry
``# noqa: E501`` until the judge is changed for a reason of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, Phase, settings

from grader import compat
from grader.authoring import figure_data
from grader.sandbox.wire import is_opaque

compat.no_local_constants()  # examples depend on the checks alone (see there)
compat.digest_once()
compat.plain_tracebacks()  # 120 ms less for every failing check

MARKER = "grading"
_GRADING = settings(
    derandomize=True,  # the same submission gets the same examples on every machine
    database=None,
    deadline=None,  # time limits are the sandbox's business
    suppress_health_check=list(HealthCheck),
    report_multiple_bugs=False,
    print_blob=False,
    max_examples=20,
    # No "explain" phase: it reruns a failing example many times to annotate it, and every
    # run is a worker round trip; the shrunk example is what the student needs.
    phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink),
)


def check(
    target: str, prop: str, points: float, *, hint: str = "", hidden: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Attach the check's target API name, property, points, hint and visibility."""
    return pytest.mark.grading(target=target, prop=prop, points=points, hint=hint, hidden=hidden)


def budget(examples: int) -> settings:
    """Hypothesis settings for grading with ``examples`` examples (each a worker round trip)."""
    return settings(_GRADING, max_examples=examples)


Figure = dict[str, Any] | None
_ARGS = BaseException.__dict__["args"]  # the C slot that a property below stands in front of


class Fail(AssertionError):
    """A property broke. The message is what the student reads; ``figure`` (optional) is
    data for a small picture of the failure (``grader.authoring.figure_data``), kept in the
    report as the check's ``figure``; ``hint`` (optional) replaces the check's hint where the
    evidence points at another mistake than the one it was written for ("" for none).

    ``message`` and ``figure`` may be functions that make them, called at most once and
    only when read: while hypothesis shrinks, a failing check fails on a hundred inputs but
    only the last failure is reported, and formatting the tensors of each one was a third
    of the time spent shrinking."""

    def __init__(self, message: str | Callable[[], str], figure: Figure | Callable[[], Figure] = None,
                 hint: str | None = None) -> None:
        super().__init__(*(() if callable(message) else (message,)))
        self._message: str | Callable[[], str] | None = message if callable(message) else None
        self._figure = figure
        self.hint = hint

    @property  # type: ignore[override]
    def args(self) -> tuple[Any, ...]:
        if self._message is not None:
            message, self._message = self._message, None
            _ARGS.__set__(self, (_made(message),))
        return _ARGS.__get__(self)

    @args.setter
    def args(self, value: tuple[Any, ...]) -> None:
        self._message = None
        _ARGS.__set__(self, value)

    def __str__(self) -> str:
        args = self.args
        return str(args[0]) if len(args) == 1 else super().__str__()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def __reduce__(self) -> tuple[Any, ...]:  # copy and pickle: made, as an exception's args are
        state = {**self.__dict__, "_message": None, "_figure": self.figure}
        return type(self), (str(self),), state

    @property
    def figure(self) -> Figure:
        if callable(self._figure):
            self._figure = _figure(self._figure)
        return self._figure


def _made(message: str | Callable[[], str]) -> str:
    """The message, made now if it is made by a function (which must not take the student's
    failure away: a message that cannot be formatted still says the property broke)."""
    if not callable(message):
        return message
    try:
        return message()
    except Exception as exc:  # noqa: BLE001 - a judge's formatting of the worker's data
        return f"the property does not hold (and its message failed: {type(exc).__name__}: {exc})"


def expect(condition: bool, message: str | Callable[[], str],
           figure: Figure | Callable[[], Figure] = None, *, hint: str | None = None) -> None:
    """Fail with ``message`` unless ``condition``. Pass a lambda when the message formats
    tensors: most calls pass, and formatting them every time was a fifth of grading time.
    ``figure`` (or a lambda giving it) is drawn beside the message where a format can;
    ``hint`` replaces the check's hint for this failure (see ``Fail``)."""
    if not condition:
        raise Fail(message, figure, hint)


def _figure(figure: Figure | Callable[[], Figure]) -> Figure:
    """The figure, or None if drawing its data failed: a picture is an extra, and must never
    turn a student's failure into a grader error (its builders have tests of their own)."""
    if not callable(figure):
        return figure
    try:
        return figure()
    except Exception:
        return None


def paired(inputs: list[Any], outputs: Any, what: str = "outputs") -> Iterator[tuple[Any, Any]]:
    """(input, output) pairs. A worker that answers with more or fewer outputs than it was
    given inputs fails the check, so an empty answer can never pass by checking nothing."""
    expect(isinstance(outputs, list) and len(outputs) == len(inputs),
           lambda: f"expected {len(inputs)} {what}, the probe answered {show(outputs, 80)}")
    return zip(inputs, outputs, strict=True)


def show(value: Any, limit: int = 400) -> str:
    """A short, deterministic rendering of a value for a message."""
    if isinstance(value, torch.Tensor):
        with _print_options():
            text = repr(value)
    else:
        text = repr(value)
    text = " ".join(text.split()) if len(text) > 80 else text
    return text if len(text) <= limit else text[:limit] + " …"


class _print_options:
    def __enter__(self) -> None:
        torch.set_printoptions(precision=4, threshold=40, edgeitems=3, sci_mode=None)

    def __exit__(self, *exc: object) -> None:
        torch.set_printoptions(profile="default")


def on_input(inputs: dict[str, Any]) -> str:
    """The message tail naming the inputs a property broke on."""
    if not inputs:
        return ""
    return "\n  on input " + ", ".join(f"{name} = {show(value)}" for name, value in inputs.items())


def expect_tensor(value: Any, what: str, **inputs: Any) -> torch.Tensor:
    """``value`` must be a tensor; returns it."""
    if is_opaque(value):
        raise Fail(lambda: f"{what} should be a tensor, got {value.type_name} {value.text}"
                   + on_input(inputs))
    if not isinstance(value, torch.Tensor):
        raise Fail(lambda: f"{what} should be a tensor, got {type(value).__name__} {show(value)}"
                   + on_input(inputs))
    return value


def expect_shape(value: torch.Tensor, shape: tuple[int, ...], what: str, **inputs: Any) -> None:
    got = tuple(value.shape)
    if got != tuple(shape):
        raise Fail(lambda: f"{what} has the wrong shape: got {got}, expected {tuple(shape)}"
                   + on_input(inputs))


def expect_close(
    actual: torch.Tensor,
    expected: torch.Tensor,
    what: str,
    *,
    rtol: float = 1e-4,
    atol: float = 1e-5,
    **inputs: Any,
) -> None:
    """``actual`` must match ``expected`` in shape and, within tolerance, in every value."""
    expect_shape(actual, tuple(expected.shape), what, **inputs)
    if actual.is_complex() or expected.is_complex():
        a, e = actual.to(torch.complex128), expected.to(torch.complex128)
    else:
        a, e = actual.to(torch.float64), expected.to(torch.float64)
    if a.numel() == 0:
        return
    bad = ~((a - e).abs() <= atol + rtol * e.abs())
    bad |= a.isnan() != e.isnan() if not a.is_complex() else torch.zeros_like(bad)
    if bool(bad.any()):
        diff = (a - e).abs().nan_to_num(float("inf"))
        index = tuple(int(i) for i in torch.nonzero(bad)[0])
        where = f" at index {index}" if index else ""
        # Shown in the student's dtype (no float64 noise), unless that would drop an
        # imaginary part the student's answer lacks.
        same_kind = actual.is_complex() or not expected.is_complex()
        shown = expected.to(actual.dtype) if actual.is_floating_point() and same_kind else expected
        raise Fail(
            lambda: f"{what} is wrong{where}: got {show(actual[index] if index else actual)}, "
            f"expected {show(shown[index] if index else shown)} "
            f"(largest difference {float(diff.max()):.4g})\n"
            f"  got      {show(actual)}\n  expected {show(shown)}" + on_input(inputs),
            figure=lambda: figure_data.comparison(actual, shown, title=f"{what}: got against expected"),
        )
