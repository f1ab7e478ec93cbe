"""Naming the call that raised, for probes (worker side: imports nothing but the stdlib).

    with calling(f"MyLazyLinear({out})(X) with X of shape {tuple(x.shape)}"):
        y = layer(x)

An exception that leaves the block carries the note "in MyLazyLinear(3)(X) with X of shape
(2, 5)"; the worker sends a raised exception's notes with it, and the report shows them
between the error and the lines of the student's file, so the student reads which call of
theirs raised. ``first_of`` says so when the call that raised was only the set-up for what the
check is about ("the first call already raised this, before ...").
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

NOTE_PREFIX = "\u2192 "  # marks the grader's notes among an exception's notes


@contextmanager
def calling(call: str, *, first_of: str = "") -> Iterator[None]:
    """Note ``call`` on an exception that leaves the block (``first_of``: what the check
    tests, which this call only prepares)."""
    try:
        yield
    except Exception as exc:
        if first_of:
            note = f"the first call, {call}, already raised this, before {first_of}"
        else:
            note = f"raised by {call}"
        exc.add_note(NOTE_PREFIX + note)
        raise
