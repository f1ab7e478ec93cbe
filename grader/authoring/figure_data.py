"""Data for a small picture of a failure, which a judge attaches to ``Fail`` (``figure=``).

A figure is a plain dict of numbers, so it travels in the JSON report and any renderer can
draw it (``grader/render/figures.py`` does, for ``--format html``). Two kinds:

    {"kind": "histogram", "title": str, "edges": [k + 1 numbers],
     "observed": [k counts], "expected": [k counts], "note": str}
        the student's values binned, against the counts the right distribution expects;
    {"kind": "comparison", "title": str, "observed": [n], "expected": [n], "note": str}
        a wrong output against the right one, element by element (flattened).

Numbers are rounded to 6 significant digits and a non-finite one is ``None``; series are at
most ``MAX_VALUES`` long, so a figure adds a few kilobytes to a report at most. Builders take
tensors and import torch when called; ``checked`` does not, so renderers can use it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

KINDS = {"histogram": ("edges", "observed", "expected"), "comparison": ("observed", "expected")}
MAX_VALUES = 256
MAX_TEXT = 200
BINS = 40


def histogram(values: torch.Tensor, cdf: Callable[[torch.Tensor], torch.Tensor], *, title: str,
              support: tuple[float, float], bins: int = BINS) -> dict[str, Any]:
    """``values`` binned against a distribution given by ``cdf(x)`` = P(value < x) (bins hold
    [left, right), so a point mass on an edge counts in the bin to its right).

    The bins span ``support`` (where the right values lie) and every finite value, so a
    spread that is too wide or off-centre shows as bars outside the expected curve."""
    import torch

    flat = values.detach().double().flatten()
    finite = flat[flat.isfinite()]
    lo, hi = float(support[0]), float(support[1])
    if finite.numel():
        lo, hi = min(lo, float(finite.min())), max(hi, float(finite.max()))
    if not hi > lo:
        lo, hi = lo - 1.0, hi + 1.0
    edges = torch.linspace(lo, hi, bins + 1, dtype=torch.float64)
    observed = torch.histogram(finite, bins=edges).hist if finite.numel() else torch.zeros(bins)
    expected = flat.numel() * cdf(edges).diff()
    skipped = flat.numel() - finite.numel()
    note = f"{flat.numel()} values" + (f", {skipped} of them nan or infinite (not drawn)" if skipped else "")
    return {"kind": "histogram", "title": title[:MAX_TEXT], "edges": _numbers(edges),
            "observed": _numbers(observed), "expected": _numbers(expected), "note": note}


def comparison(observed: torch.Tensor, expected: torch.Tensor, *, title: str) -> dict[str, Any] | None:
    """A wrong tensor against the right one, element by element (hypothesis shrinks inputs,
    so often one or two); None for complex numbers, different sizes or no values."""
    if observed.is_complex() or expected.is_complex() or not observed.numel() == expected.numel() > 0:
        return None
    got, want = observed.detach().double().flatten(), expected.detach().double().flatten()
    note = f"shape {tuple(observed.shape)}, flattened"
    if got.numel() > MAX_VALUES:
        note += f"; the first {MAX_VALUES} of {got.numel()} values"
    return {"kind": "comparison", "title": title[:MAX_TEXT], "observed": _numbers(got[:MAX_VALUES]),
            "expected": _numbers(want[:MAX_VALUES]), "note": note}


def checked(figure: Any) -> dict[str, Any] | None:
    """``figure`` when it has one of the shapes above (its numbers re-rounded, its texts
    capped), else None: a malformed figure is left out, never a reason to fail a report."""
    if not isinstance(figure, dict) or figure.get("kind") not in KINDS:
        return None
    series = {}
    for key in KINDS[figure["kind"]]:
        values = figure.get(key)
        if not isinstance(values, list) or not all(_is_number(v) for v in values):
            return None
        series[key] = _numbers(values)
    size = len(series["observed"])
    wanted = {"edges": size + 1, "observed": size, "expected": size}
    if not 0 < size <= MAX_VALUES or any(len(values) != wanted[key] for key, values in series.items()):
        return None
    texts = {key: str(figure.get(key, ""))[:MAX_TEXT] for key in ("title", "note")}
    return {"kind": figure["kind"], **texts, **series}


def _is_number(value: Any) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def _numbers(values: Any) -> list[float | None]:
    items = values.tolist() if hasattr(values, "tolist") else list(values)
    return [_round(v) for v in items]


def _round(value: float | None) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, OverflowError):  # None, or an int beyond any float
        return None
    return float(f"{number:.6g}") if math.isfinite(number) else None
