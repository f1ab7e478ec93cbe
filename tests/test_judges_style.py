"""Judges fail with messages of their own (``expect``, ``Fail``), never with a bare
``assert``: the grader runs them with ``--assert=plain`` (no rewriting, which costs a cold
grade its time), where a bare assert would tell a student nothing but "AssertionError"."""

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
