"""Hypothesis strategies for the inputs judges send to probes (trusted side)."""

from __future__ import annotations

import torch
from hypothesis import strategies as st

FLOAT_DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16)


def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 5) -> st.SearchStrategy[tuple[int, ...]]:
    return st.lists(st.integers(min_side, max_side), min_size=min_dims, max_size=max_dims).map(tuple)


@st.composite
def tensors(
    draw: st.DrawFn,
    shape: tuple[int, ...] | st.SearchStrategy[tuple[int, ...]] | None = None,
    dtype: torch.dtype = torch.float32,
    magnitude: float = 10.0,
) -> torch.Tensor:
    """A tensor of finite values in [-magnitude, magnitude] that shrinks towards zeros.

    Values are drawn on a grid of 1/8 so that shrunk examples read well and every dtype,
    half precision included, holds them exactly.
    """
    if shape is None:
        shape = shapes()
    if isinstance(shape, st.SearchStrategy):
        shape = draw(shape)
    count = 1
    for side in shape:
        count *= side
    steps = int(magnitude * 8)
    values = draw(st.lists(st.integers(-steps, steps), min_size=count, max_size=count))
    return (torch.tensor(values, dtype=torch.float64) / 8).reshape(shape).to(dtype)
