"""Hypothesis strategies for the inputs judges send to probes (trusted side)."""

from __future__ import annotations

from functools import cache, lru_cache

import torch
from hypothesis import strategies as st

FLOAT_DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16)


# Strategies are immutable, and hypothesis validates each new one on its first draw, which
# cost more than the drawing itself where judges build them inside flatmap and composites
# (a third of the grading time of a wrong answer, whose shrinking draws hundreds of times).
# So the common ones are built once. Drawing from a cached strategy draws exactly the same.


@cache
def shapes(
    min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 4
) -> st.SearchStrategy[tuple[int, ...]]:
    return st.lists(st.integers(min_side, max_side), min_size=min_dims, max_size=max_dims).map(tuple)


def tensors(
    shape: tuple[int, ...] | st.SearchStrategy[tuple[int, ...]] | None = None,
    dtype: torch.dtype = torch.float32,
) -> st.SearchStrategy[torch.Tensor]:
    """A tensor of multiples of 1/8 in [-16, 16) that shrinks towards zeros.

    The values come from one byte string (one draw, not one per entry, which keeps an
    example cheap) read as signed bytes. Multiples of 1/8 read well in a shrunk example,
    and every floating dtype, half precision included, holds them exactly.
    """
    try:
        return _cached_tensors(shape, dtype)
    except TypeError:  # an unhashable shape
        return _tensors(shape, dtype)


@lru_cache(maxsize=256)  # bounded: a strategy built anew for each draw never hits
def _cached_tensors(shape: tuple[int, ...] | st.SearchStrategy[tuple[int, ...]] | None,
                    dtype: torch.dtype) -> st.SearchStrategy[torch.Tensor]:
    return _tensors(shape, dtype)


def choice(options: tuple) -> st.SearchStrategy:
    """``st.sampled_from(options)``, built once for each tuple of options (as ``rows``)."""
    # Keyed by the options' types too: (0, 1) == (False, True), but they draw other values.
    return _choice(options, tuple(map(type, options)))


@cache
def _choice(options: tuple, types: tuple[type, ...]) -> st.SearchStrategy:
    return st.sampled_from(options)


@cache
def rows(width: int, least: int = 1, most: int = 4) -> st.SearchStrategy[torch.Tensor]:
    """Inputs for a layer of ``width`` features: tensors of shape (n, width), n from ``least``
    to ``most``. Built once for each size: judges that draw a layer's size first and its
    inputs after would otherwise build (and hypothesis validate) them on every draw."""
    return tensors(st.tuples(st.integers(least, most), st.just(width)))


@cache
def batches(width: int, least: int = 1, most: int = 4,
            max_count: int = 4) -> st.SearchStrategy[list[torch.Tensor]]:
    """One to ``max_count`` batches of ``rows(width, least, most)``."""
    return st.lists(rows(width, least, most), min_size=1, max_size=max_count)


@cache
def _raw(count: int) -> st.SearchStrategy[bytes]:
    return st.binary(min_size=count, max_size=count)


@st.composite
def _tensors(
    draw: st.DrawFn,
    shape: tuple[int, ...] | st.SearchStrategy[tuple[int, ...]] | None,
    dtype: torch.dtype,
) -> torch.Tensor:
    if shape is None:
        shape = shapes()
    if isinstance(shape, st.SearchStrategy):
        shape = draw(shape)
    count = 1
    for side in shape:
        count *= side
    raw = draw(_raw(count))
    values = torch.frombuffer(bytearray(raw), dtype=torch.int8) if count else torch.zeros(0)
    return (values.to(torch.float64) / 8).reshape(shape).to(dtype)


# -- chains of layers, as plain data ---------------------------------------------------
#
# A chain is a list of layers; each layer is a dict a probe can rebuild as modules:
#   {"kind": "linear", "name": str, "in": int, "out": int}   nn.Linear(in, out)
#   {"kind": "relu"} | {"kind": "tanh"}                      nn.ReLU() | nn.Tanh()
#   {"kind": "dropout", "p": float}                          nn.Dropout(p), in eval mode
#   {"kind": "chain", "layers": [...]}                       a nested chain
# Linear layers that carry the same name are one module instance, used at each place.

ACTIVATION_KINDS = ("relu", "tanh", "dropout")


def _activation(kind: str) -> dict:
    return {"kind": "dropout", "p": 0.5} if kind == "dropout" else {"kind": kind}


@st.composite
def layer_chains(
    draw: st.DrawFn,
    width: int,
    *,
    min_layers: int = 1,
    max_layers: int = 4,
    depth: int = 1,
    max_width: int = 5,
    prefix: str = "L",
) -> tuple[list[dict], int]:
    """A chain of layers that takes inputs of ``width`` features, and its output width.

    Every Linear is its own instance (names ``prefix0``, ``prefix1``, …); up to ``depth``
    levels of nested chains, which may be empty. Shrinks towards one Linear layer.
    """
    counter = iter(range(10**6))
    kinds = ("linear", *ACTIVATION_KINDS, "chain")

    def chain(w: int, levels: int, least: int) -> tuple[list[dict], int]:
        layers: list[dict] = []
        for _ in range(draw(st.integers(least, max_layers))):
            kind = draw(choice(kinds if levels > 0 else kinds[:-1]))
            if kind == "linear":
                out = draw(st.integers(1, max_width))
                layers.append({"kind": "linear", "name": f"{prefix}{next(counter)}", "in": w, "out": out})
                w = out
            elif kind == "chain":
                inner, w = chain(w, levels - 1, 0)
                layers.append({"kind": "chain", "layers": inner})
            else:
                layers.append(_activation(kind))
        return layers, w

    return chain(width, depth, min_layers)


@st.composite
def repeating_chains(draw: st.DrawFn, width: int, *, max_width: int = 5,
                     prefix: str = "L") -> tuple[list[dict], int]:
    """A chain that uses one square Linear instance (named ``prefix + "shared"``) at least
    twice in a row of the same chain, with activations between, and maybe once more inside a
    nested chain; other layers before and after. Returns the chain and its output width."""
    before, w = draw(layer_chains(width, min_layers=0, max_layers=2, depth=0, max_width=max_width,
                                  prefix=prefix + "a"))
    shared = {"kind": "linear", "name": prefix + "shared", "in": w, "out": w}
    between = [_activation(k) for k in draw(st.lists(choice(ACTIVATION_KINDS), max_size=2))]
    chain = [*before, shared, *between, dict(shared)]
    if draw(st.booleans()):
        chain.append({"kind": "chain", "layers": [dict(shared), {"kind": "relu"}]})
    after, w = draw(layer_chains(w, min_layers=0, max_layers=2, depth=0, max_width=max_width,
                                 prefix=prefix + "b"))
    return chain + after, w
