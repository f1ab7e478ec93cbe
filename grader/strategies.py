"""Hypothesis strategies for the inputs judges send to probes (trusted side)."""

from __future__ import annotations

import torch
from hypothesis import strategies as st

FLOAT_DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16)


def shapes(
    min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 4
) -> st.SearchStrategy[tuple[int, ...]]:
    return st.lists(st.integers(min_side, max_side), min_size=min_dims, max_size=max_dims).map(tuple)


@st.composite
def tensors(
    draw: st.DrawFn,
    shape: tuple[int, ...] | st.SearchStrategy[tuple[int, ...]] | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """A tensor of multiples of 1/8 in [-16, 16) that shrinks towards zeros.

    The values come from one byte string (one draw, not one per entry, which keeps an
    example cheap) read as signed bytes. Multiples of 1/8 read well in a shrunk example,
    and every floating dtype, half precision included, holds them exactly.
    """
    if shape is None:
        shape = shapes()
    if isinstance(shape, st.SearchStrategy):
        shape = draw(shape)
    count = 1
    for side in shape:
        count *= side
    raw = draw(st.binary(min_size=count, max_size=count))
    values = torch.frombuffer(bytearray(raw), dtype=torch.int8) if count else torch.zeros(0)
    return (values.to(torch.float64) / 8).reshape(shape).to(dtype)
