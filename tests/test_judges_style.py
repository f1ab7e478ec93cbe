"""Judges fail with messages of their own (``expect``, ``Fail``), never with a bare
``assert``: the grader runs them with ``--assert=plain`` (no rewriting, which costs a cold
grade its time), where a bare assert would tell a student nothing but "AssertionError".

And their composite strategies draw from strategies built once: hypothesis validates a
strategy on its first draw, and one built inside a composite is new on every draw (a
quarter of the drawing time where they were; shrinking draws hundreds of times)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from grader.paths import GRADER_DIR

JUDGE_CODE = sorted([*GRADER_DIR.glob("checks/*/judges.py"), *GRADER_DIR.glob("checks/*/hidden_judges.py"),
                     *GRADER_DIR.glob("authoring/*.py")])


def test_there_is_judge_code_to_look_at():
    assert len([p for p in JUDGE_CODE if p.name == "judges.py"]) >= 6


@pytest.mark.parametrize("path", JUDGE_CODE, ids=lambda p: str(p.relative_to(GRADER_DIR)))
def test_no_bare_assert(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lines = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Assert)]
    assert not lines, f"{path.name}: bare assert on lines {lines}; use expect(...) or raise Fail(...)"


# hypothesis caches these constructors' strategies for equal arguments only where they are
# hashable; these build a new one on every call, whatever their arguments.
UNCACHED = {"sampled_from", "tuples", "one_of", "just", "builds", "fixed_dictionaries", "from_regex"}


@pytest.mark.parametrize("path", JUDGE_CODE, ids=lambda p: str(p.relative_to(GRADER_DIR)))
def test_composites_draw_from_strategies_built_once(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    built = [f"line {call.lineno}: {ast.unparse(call)[:60]}"
             for function in ast.walk(tree) if isinstance(function, ast.FunctionDef)
             and any("composite" in ast.unparse(d) for d in function.decorator_list)
             for call in ast.walk(function) if isinstance(call, ast.Call) and _builds_anew(call)]
    assert not built, (f"{path.name} builds strategies on every draw (use strategies.choice, rows, "
                       f"batches or a cached helper): {built}")


def _builds_anew(call: ast.Call) -> bool:
    func = call.func
    if not isinstance(func, ast.Attribute):
        return False
    if func.attr == "map" or func.attr == "filter":
        return True
    return isinstance(func.value, ast.Name) and func.value.id == "st" and func.attr in UNCACHED
