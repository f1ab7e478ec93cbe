"""Text that states facts about the code, checked against the code: the README's example
judge is real, and each stub's "N checks worth P points" counts its exercise's judges."""

from __future__ import annotations

import json
import re
import textwrap

import pytest

from grader.course.check_inventory import exercise_checks
from grader.grading.exercises import all_exercises
from tests.conftest import ROOT

STATED = re.compile(r"There are (\d+) checks worth (\d+(?:\.\d+)?) points")


def _readme_example() -> str:
    """The indented code block of the README's "Checks, as an instructor", dedented."""
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## Checks, as an instructor")[1]
    section = section.split("\n## ")[0]
    block = re.search(r"\n\n((?:    .*\n|\n)+)", section)
    assert block is not None, "the section has no indented code block"
    return textwrap.dedent(block.group(1)).strip("\n")


def test_the_readmes_example_judge_is_copied_from_exercise3():
    example = _readme_example()
    assert example.startswith("@check(") and "submission.run(probes." in example
    judges = (ROOT / "grader" / "checks" / "exercise3" / "judges.py").read_text(encoding="utf-8")
    assert example in judges


def _stated(text: str) -> tuple[int, float]:
    found = STATED.findall(" ".join(text.replace("#", " ").split()))
    assert len(found) == 1, f"expected one 'There are N checks worth P points', found {found}"
    (count, points), = found
    return int(count), float(points)


def _notebook_text(name: str) -> str:
    cells = json.loads((ROOT / "exercises" / f"{name}.ipynb").read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown")


@pytest.mark.parametrize("name", sorted(all_exercises()))
def test_each_stub_states_the_checks_its_judges_declare(name):
    checks = exercise_checks(all_exercises()[name])
    declared = (len(checks), sum(check.points for check in checks))
    stub = (ROOT / "exercises" / f"{name}.py").read_text(encoding="utf-8")
    assert _stated(stub) == declared, f"exercises/{name}.py"
    assert _stated(_notebook_text(name)) == declared, f"exercises/{name}.ipynb"
