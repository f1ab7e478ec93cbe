"""torch's costly imports on first use, put off until something needs what they bring.

- ``torch._dynamo``: a step of any ``torch.optim`` optimizer calls
  ``torch._dynamo.graph_break()`` and wraps its update with ``torch._dynamo.disable``.
  Outside ``torch.compile`` both do nothing, yet the first step imports all of dynamo
  (sympy, torch.fx, FSDP, ...): about 1.3 s of CPU, paid in the grader's own process (the
  exercise5 judges train nets to compare with) and in the worker server. A stand-in at
  ``sys.modules["torch._dynamo"]`` answers those two calls as eager mode does and imports
  the real module the moment anything else is asked of it (a student's ``torch.compile``).
- ``torch.distributed.tensor``: the first ``torch.jit.trace`` (a common ``save_model`` in
  exercise5) compares its traced outputs with ``assert_close``, which imports it (0.7 s) to
  unwrap DTensors. No DTensor can exist before that module is imported, so until then the
  comparison skips the import.

Results are the same either way. Written for the torch pinned in constraints.txt;
``tests/test_deferred_imports.py`` checks that neither import happens and that the numbers
are those of plain torch.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable
from typing import Any

NAME = "torch._dynamo"
DTENSOR = "torch.distributed.tensor"


class _StandIn(types.ModuleType):
    """Eager-mode answers for ``graph_break`` and ``disable``; the real module for the rest."""

    def __getattr__(self, name: str) -> Any:
        # Introspection that walks every module (inspect.getmodule asks each for __file__,
        # in the middle of other imports) must not import dynamo; importing a submodule
        # (which asks for __path__) must.
        if name.startswith("__") and name.endswith("__") and name != "__path__":
            raise AttributeError(name)
        return getattr(_real(), name)

    @staticmethod
    def graph_break() -> None:
        if not _loaded():
            return
        _real().graph_break()

    @staticmethod
    def disable(fn: Callable[..., Any] | None = None, recursive: bool = True, **kwargs: Any) -> Any:
        if _loaded():
            return _real().disable(fn, recursive, **kwargs)
        return fn if fn is not None else (lambda function: function)


def install() -> None:
    """Defer both imports (where they have not happened yet). Imports torch."""
    import torch
    from torch.testing import _comparison

    if NAME not in sys.modules:
        stand_in = _StandIn(NAME)
        sys.modules[NAME] = stand_in
        torch._dynamo = stand_in  # type: ignore[attr-defined]  # torch's lazy __getattr__ would find it too
    unwrap = _comparison._unwrap_dtensor_for_comparison
    if not getattr(unwrap, "deferred", False):
        _comparison._unwrap_dtensor_for_comparison = _until_dtensor_exists(unwrap)


def _until_dtensor_exists(unwrap: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def deferred(actual: Any, expected: Any) -> Any:
        if DTENSOR not in sys.modules:  # then neither side can be a DTensor
            return actual, expected
        return unwrap(actual, expected)

    deferred.deferred = True  # type: ignore[attr-defined]
    return deferred


def _loaded() -> bool:
    return not isinstance(sys.modules.get(NAME), _StandIn)


def _real() -> types.ModuleType:
    """The real ``torch._dynamo``, imported now if the stand-in is still in its place."""
    module = sys.modules.get(NAME)
    if isinstance(module, _StandIn):
        del sys.modules[NAME]
        module = importlib.import_module(NAME)  # also sets torch._dynamo to it
    return module  # type: ignore[return-value]
