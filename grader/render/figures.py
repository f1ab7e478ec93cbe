"""Small figures as inline SVG, drawn with matplotlib, for the HTML pages.

Every function returns an ``<svg>`` element ready to put into a page: no XML prolog, no
comments, text drawn as paths (so no font is needed), and the ids matplotlib derives (clip
paths, markers) salted with the figure's data: the same data gives the same SVG, and two
figures on one page share an id only where they share its definition. No text of a submission goes into a
figure: titles and labels are the caller's, in HTML around it, where they are escaped.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

WIDTH, HEIGHT = 5.0, 2.6  # inches; pages scale them down to fit
OBSERVED, EXPECTED = "#c0392b", "#1f77b4"
_SVG_START = re.compile(r"<svg\b")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


def draw(figure: dict[str, Any]) -> str:
    """A check's figure (``grader.authoring.figure_data``, already ``checked``)."""
    with _axes(figure) as (fig, ax):
        if figure["kind"] == "histogram":
            _histogram(ax, figure)
        else:
            _comparison(ax, figure)
        ax.legend(fontsize=8, frameon=False)
        return _svg(fig)


def score_distribution(percents: Sequence[float]) -> str:
    """How many submissions scored in each tenth of the points."""
    with _axes(("scores", list(percents))) as (fig, ax):
        ax.hist([min(max(p, 0.0), 100.0) for p in percents], bins=range(0, 101, 10),
                color=EXPECTED, edgecolor="white")
        ax.set_xlim(0, 100)
        ax.set_xlabel("score (% of the points)")
        ax.set_ylabel("submissions")
        ax.yaxis.get_major_locator().set_params(integer=True)
        return _svg(fig)


def pass_rates(rates: Sequence[float]) -> str:
    """One bar per check (numbered from 1, as the table beside it), lowest pass rate first."""
    height = max(HEIGHT, 0.5 + 0.22 * len(rates))
    with _axes(("rates", list(rates)), height) as (fig, ax):
        rows = range(1, len(rates) + 1)
        bars = ax.barh(rows, [100 * r for r in rates], color=[_rate_colour(r) for r in rates])
        ax.bar_label(bars, fmt="%.0f%%", padding=2, fontsize=7)  # a 0% bar has no length to show
        ax.set_yticks(list(rows), [f"#{i}" for i in rows], fontsize=7)
        ax.invert_yaxis()
        ax.set_xlim(0, 108)  # room for the label of a 100% bar
        ax.set_xticks(range(0, 101, 20))
        ax.set_xlabel("passed (% of graded submissions)")
        return _svg(fig)


def _histogram(ax: Any, figure: dict[str, Any]) -> None:
    edges = [e if e is not None else 0.0 for e in figure["edges"]]
    observed = [c or 0.0 for c in figure["observed"]]
    expected = [c or 0.0 for c in figure["expected"]]
    ax.stairs(observed, edges, fill=True, color=OBSERVED, alpha=0.55, label="yours")
    ax.stairs(expected, edges, color=EXPECTED, linewidth=1.6, label="expected")
    ax.set_ylabel("values per bin")
    ax.set_xlabel("value")


def _comparison(ax: Any, figure: dict[str, Any]) -> None:
    index = range(len(figure["observed"]))
    nan = float("nan")
    expected = [nan if v is None else v for v in figure["expected"]]
    observed = [nan if v is None else v for v in figure["observed"]]
    ax.plot(index, expected, "o", markerfacecolor="none", color=EXPECTED, label="expected")
    ax.plot(index, observed, "x", color=OBSERVED, label="yours")
    ax.set_xlabel("element (flattened)")
    ax.set_ylabel("value")
    if len(index) <= 16:
        ax.set_xticks(list(index))


def _rate_colour(rate: float) -> str:
    return "#c0392b" if rate < 0.5 else "#e67e22" if rate < 0.8 else "#27ae60"


@contextmanager
def _axes(data: Any, height: float = HEIGHT) -> Iterator[tuple[Any, Any]]:
    import matplotlib
    from matplotlib.figure import Figure  # a Figure without pyplot: no global state, no GUI

    salt = hashlib.sha256(repr(data).encode()).hexdigest()[:16]
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": salt, "font.size": 8}):
        fig = Figure(figsize=(WIDTH, height))
        # Fixed margins, in inches: a constrained layout would draw every figure twice.
        fig.subplots_adjust(
            left=0.7 / WIDTH, right=1 - 0.15 / WIDTH, bottom=0.5 / height, top=1 - 0.15 / height
        )
        ax = fig.add_subplot()
        ax.spines[["top", "right"]].set_visible(False)
        yield fig, ax


def _svg(fig: Any) -> str:
    out = io.StringIO()
    fig.savefig(out, format="svg", metadata={"Date": None, "Creator": None})
    text = out.getvalue()
    start = _SVG_START.search(text)
    return _COMMENT.sub("", text[start.start() :] if start else "").strip()
