"""grader/compat.py: the hypothesis and pytest internals the grader relies on are where it
expects them in the pinned versions, and one that moves stops the grader loudly."""

from __future__ import annotations

import random
import subprocess
import sys

import hypothesis
import pytest

from grader import compat
from tests.conftest import ROOT


def _pins() -> dict[str, str]:
    lines = (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
    return dict(line.split("==", 1) for line in lines if "==" in line and not line.startswith("#"))


def test_written_for_the_pinned_versions_and_running_on_them():
    pins = _pins()
    assert {name: pins[name] for name in compat.WRITTEN_FOR} == compat.WRITTEN_FOR
    assert {"hypothesis": hypothesis.__version__, "pytest": pytest.__version__} == compat.WRITTEN_FOR


def test_the_local_constants_pool_is_empty_once_judges_are_imported():
    from hypothesis.internal.conjecture import providers

    import grader.authoring.judging  # noqa: F401 - applies the patch

    assert len(providers._get_local_constants()) == 0


def _derandomized(seen: list[int]):
    """A derandomized property test that notes each integer it draws in ``seen``."""

    @hypothesis.given(hypothesis.strategies.integers())
    @hypothesis.settings(derandomize=True, database=None, max_examples=3)
    def property_test(x: int) -> None:
        seen.append(x)

    return property_test


def test_the_derandomized_seed_is_hypothesis_own():
    seen: list[int] = []
    property_test = _derandomized(seen)
    property_test()
    first, seen[:] = list(seen), []
    compat.set_seed(property_test, compat.derandomized_seed(property_test.hypothesis.inner_test))
    property_test()
    assert seen == first  # the seed replay sets is the one derandomize uses


def test_each_test_is_digested_once_and_draws_what_it_drew():
    import hypothesis.internal.reflection as reflection

    import grader.authoring.judging  # noqa: F401 - applies the patch

    seen: list[int] = []
    property_test = _derandomized(seen)
    inner = property_test.hypothesis.inner_test
    digested = []
    original = reflection.function_digest
    compat._function_digest = lambda f: digested.append(f) or original(f)
    try:
        property_test()
        property_test()
    finally:
        compat._function_digest = original
    assert digested == [inner]  # once, for the seed and the database key of both runs
    assert len(seen) == 6 and seen[:3] == seen[3:]
    seed = int.from_bytes(original(inner), "big")  # hypothesis's own derandomized seed
    drawn = hypothesis.core.get_random_for_wrapped_test(inner, property_test)
    assert drawn.random() == random.Random(seed).random()


class _Item:
    """A pytest item as hypothesis sees one: it formats failures through ``repr_failure``."""

    def __init__(self) -> None:
        self.formatted = 0

    def repr_failure(self, excinfo: object) -> str:
        self.formatted += 1
        return "formatted by pytest"


def test_a_failing_example_is_formatted_plainly_not_by_pytest():
    from hypothesis.internal.escalation import current_pytest_item

    import grader.authoring.judging  # noqa: F401 - applies the patch

    @hypothesis.given(hypothesis.strategies.integers(0, 10))
    @hypothesis.settings(derandomize=True, database=None, max_examples=20)
    def property_test(x: int) -> None:
        assert x < 3, "three or more"

    item = _Item()
    with current_pytest_item.with_value(item), pytest.raises(AssertionError, match="three or more") as caught:
        property_test()
    assert item.formatted == 0  # pytest parses the judge module's source for each frame
    assert any("x=3" in note for note in caught.value.__notes__)  # the example, shrunk as before
    text = hypothesis.core.format_exception(caught.value, caught.value.__traceback__)
    assert "AssertionError: three or more" in text and "property_test" in text


MOVED = {
    "local constants": "from hypothesis.internal.conjecture import providers\n"
                       "del providers._get_local_constants",
    "function digest": "import hypothesis.internal.reflection as r\ndel r.function_digest",
    "hypothesis core's digest": "import hypothesis.core as c\ndel c.function_digest",
    "traceback formatting": "import hypothesis.core as c\ndel c.format_exception",
    "test seed": "import hypothesis\ngiven = hypothesis.given\n"
                 "def moved(*a, **k):\n    def wrap(f):\n        w = given(*a, **k)(f)\n"
                 "        del w._hypothesis_internal_use_seed\n        return w\n    return wrap\n"
                 "hypothesis.given = moved",
    "fixture names": "import _pytest.fixtures as f\nf.FuncFixtureInfo = type('FuncFixtureInfo', (), {})",
}


@pytest.mark.parametrize("name", sorted(MOVED))
def test_an_internal_that_moved_stops_the_grader_loudly(name):
    code = MOVED[name] + "\nimport grader.compat\n"
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode != 0
    assert "CompatError" in run.stderr and "has moved" in run.stderr
    assert f"hypothesis {compat.WRITTEN_FOR['hypothesis']}" in run.stderr
