"""Inputs that print as Python a student can paste.

Hypothesis prints a failing example with each argument's ``repr``; a judge whose strategy
draws internal specs (``["seq", [["linear", 4, 8, True]]]``, ``{"kind": "namedtuple", …}``)
would show those. ``shown_as(render)`` maps such a spec to an equal copy (a list or dict
subclass, so judges and the wire treat it as before) whose ``repr`` is ``render(spec)``:

    nets = st.lists(...).map(shown_as(python_of_net))

Mapping draws nothing, so the examples a judge draws stay the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class ShownList(list):  # type: ignore[type-arg]
    """A list that prints as the Python that builds what it specifies."""

    __slots__ = ("_text",)

    def __repr__(self) -> str:
        return self._text


class ShownDict(dict):  # type: ignore[type-arg]
    """A dict that prints as the Python that builds what it specifies."""

    __slots__ = ("_text",)

    def __repr__(self) -> str:
        return self._text


def shown_as(render: Callable[[Any], str]) -> Callable[[Any], Any]:
    """A function giving ``spec`` back, equal and of the same kind, printing as ``render(spec)``."""

    def shown(spec: Any) -> Any:
        if isinstance(spec, list):
            copy: Any = ShownList(spec)
        elif isinstance(spec, dict):
            copy = ShownDict(spec)
        else:
            return spec
        copy._text = render(spec)
        return copy

    return shown
