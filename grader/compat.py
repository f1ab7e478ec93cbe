"""Every hypothesis and pytest internal the grader relies on, looked up in one place.

Written for the versions in ``WRITTEN_FOR`` (those pinned in constraints.txt). Each internal
is resolved when this module is imported, and one that moved raises ``CompatError`` naming
it and both versions: a patch that silently did nothing would change which examples
students meet, or a replay that silently drew other inputs would change their reports.

- hypothesis: the constants it collects from "local" modules (emptied), the seed of a
  derandomized test and how hypothesis derives it (batch replay; the digest it derives it
  from, computed once per test function), how it formats a failing example's traceback
  (plainly), the note that shows the falsifying example (the report's counterexample).
- pytest: a test item's fixture names (batch replay); making a config from arguments, and
  configuring and unconfiguring it, as ``pytest.main`` does (one session kept open across
  submissions, ``grading.warm_judges``); the end of a session's fixtures.
"""

from __future__ import annotations

import importlib
import traceback
from collections.abc import Callable
from typing import Any

import hypothesis
import pytest

WRITTEN_FOR = {"hypothesis": "6.170.17", "pytest": "9.2.0"}
# The first line of hypothesis's note on the failing example (``__notes__``).
FALSIFYING_NOTE = ("Falsifying example", "Failing test case")
_SEED = "_hypothesis_internal_use_seed"  # set on a @given test by @seed and derandomize


class CompatError(RuntimeError):
    """An internal of hypothesis or pytest is not where this grader expects it."""


def _installed() -> str:
    return f"hypothesis {hypothesis.__version__}, pytest {pytest.__version__}"


def moved(what: str) -> CompatError:
    """The error for an internal that is not where it was."""
    written = ", ".join(f"{package} {version}" for package, version in WRITTEN_FOR.items())
    return CompatError(f"{what} has moved: grader/compat.py was written for {written}, this is "
                       f"{_installed()}; install the versions in constraints.txt, or update compat.py")


def internal(module: str, name: str) -> Any:
    """``module.name``, or a ``CompatError`` that says it moved."""
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        raise moved(f"{module}.{name}") from None


_providers = internal("hypothesis.internal.conjecture", "providers")
_local_constants = internal(_providers.__name__, "_local_constants")
internal(_providers.__name__, "_get_local_constants")  # replaced by no_local_constants
_int_from_bytes: Callable[[bytes], int] = internal("hypothesis.internal.conjecture.utils", "int_from_bytes")
_function_digest: Callable[[Any], bytes] = internal("hypothesis.internal.reflection", "function_digest")
_core = internal("hypothesis", "core")
internal(_core.__name__, "function_digest")  # replaced by digest_once
internal(_core.__name__, "format_exception")  # replaced by plain_tracebacks


def no_local_constants() -> None:
    """Keep hypothesis's pool of "local" constants empty.

    Hypothesis mixes into its draws constants it reads from the source of the local modules
    loaded at the time (here: whichever of the grader's own modules a command imported, and
    only when the grader is installed from a checkout). The same submission would then meet
    other examples in `grade`, in `grade batch`, in a student release and on Gradescope.
    """
    empty = _local_constants
    _providers._get_local_constants = lambda: empty


def digest_once() -> None:
    """Have hypothesis digest each test function once per process.

    Every run of a derandomized test digests the function's source twice (its seed, and its
    database key, made even without a database): about 4 ms of inspect and tokenize, paid
    again for every check that fails in a batch or a watch. The digest of a function object
    cannot change: its source is the one it was compiled from.
    """
    if getattr(_core.function_digest, "_grader_cached", False):
        return
    digests: dict[Any, bytes] = {}

    def function_digest(function: Any) -> bytes:
        try:
            return digests[function]
        except KeyError:
            digest = digests[function] = _function_digest(function)
            return digest
        except TypeError:  # an unhashable callable: digested every time, as before
            return _function_digest(function)

    function_digest._grader_cached = True  # type: ignore[attr-defined]
    _core.function_digest = function_digest


def plain_tracebacks() -> None:
    """Have hypothesis format a failing example's traceback with the standard library.

    Hypothesis formats the traceback of a check's last failing example twice: for the
    message it gives when the failure does not recur, and for observability. No report
    shows either (a report takes the failure's own message and the falsifying example).
    Inside pytest it formats through the item's ``repr_failure``, which parses the judge
    module's source for every frame: about 60 ms a time, 120 ms for every check that fails.
    """
    _core.format_exception = _formatted


def _formatted(error: BaseException, tb: Any) -> str:
    return "".join(traceback.format_exception(type(error), error, tb))


def derandomized_seed(test: Callable[..., Any]) -> int:
    """The seed a derandomized hypothesis run of ``test`` uses (from its digest)."""
    return _int_from_bytes(_core.function_digest(test))


def seed_of(wrapped: Any) -> Any:
    """The seed set on a @given test (None where none was set)."""
    return getattr(wrapped, _SEED)


def set_seed(wrapped: Any, seed: Any) -> None:
    setattr(wrapped, _SEED, seed)


def fixture_names(item: pytest.Function) -> tuple[str, ...]:
    """The names of the fixtures a test function takes."""
    return tuple(item._fixtureinfo.argnames)


def pytest_config(args: list[str], plugins: list[Any]) -> pytest.Config:
    """A configured pytest config for ``args``, as ``pytest.main`` makes one."""
    config = _prepareconfig(args, plugins)
    config._do_configure()
    return config


def unconfigure(config: pytest.Config) -> None:
    config._ensure_unconfigure()


def tear_down_all(session: pytest.Session) -> None:
    """Finish every fixture still set up, session-scoped ones included."""
    session._setupstate.teardown_exact(None)


_prepareconfig = internal("_pytest.config", "_prepareconfig")


def _check_given() -> None:
    """A @given test carries the seed attribute and ``hypothesis.inner_test``."""

    @hypothesis.given(hypothesis.strategies.just(0))
    def probe_test(x: int) -> None:
        del x

    if not hasattr(probe_test, _SEED):
        raise moved(f"a @given test's {_SEED}")
    if not callable(getattr(probe_test.hypothesis, "inner_test", None)):
        raise moved("a @given test's hypothesis.inner_test")


def _check_pytest() -> None:
    fixture_info = internal("_pytest.fixtures", "FuncFixtureInfo")
    if "argnames" not in getattr(fixture_info, "__dataclass_fields__", {}):
        raise moved("_pytest.fixtures.FuncFixtureInfo.argnames")
    for name in ("_do_configure", "_ensure_unconfigure"):
        if not callable(getattr(pytest.Config, name, None)):
            raise moved(f"pytest.Config.{name}")
    if not callable(getattr(internal("_pytest.runner", "SetupState"), "teardown_exact", None)):
        raise moved("_pytest.runner.SetupState.teardown_exact")


_check_given()
_check_pytest()
