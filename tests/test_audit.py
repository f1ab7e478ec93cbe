"""``grade audit``: the mutants it makes, the marks it reads, and its verdict end to end."""

from __future__ import annotations

import ast
import json
import os

from click.testing import CliRunner

from grader.cli import cli
from grader.course.audit import EQUIVALENTS, marks
from grader.course.mutants import api_names, mutants
from grader.course.release import LEFT_OUT
from grader.grading.engine import grade
from grader.grading.exercises import all_exercises
from grader.grading.replay import Tapes
from grader.report import Status
from tests.conftest import ROOT, SUBMISSIONS, TEST_LIMITS

TINY = '''
import torch


def helper(x):
    return x + 1


def scale(x, factor=2.0, clamp=True):
    """Doubles."""
    y = torch.mul(x, factor)
    if clamp and y.sum() > 0:
        y = y - 1
    return helper(y)
'''


def test_every_kind_of_edit_and_only_in_the_api_code():
    found = {m.name: m for m in mutants(TINY, ["scale"])}
    kinds = {m.kind for m in found.values()}
    assert {"operator", "comparison", "constant nudged", "statement dropped", "arguments swapped",
            "True/False flipped", "degenerate"} <= kinds
    assert "scale: y = y - 1 -> y = y + 1" in found
    assert "scale: if clamp and y.sum() > 0: -> if clamp and y.sum() >= 0:" in found
    assert "scale: y = torch.mul(x, factor) -> y = torch.mul(factor, x)" in found
    assert "scale: def scale(x, factor=2.0, clamp=True): -> def scale(x, factor=2.0, clamp=False):" in found
    assert "scale: y = torch.mul(x, factor) -> (dropped)" in found
    assert {"scale: returns None", "scale: returns the input unchanged"} <= set(found)
    for mutant in found.values():  # the helper, not an API name, is never changed
        assert "def helper(x):\n    return x + 1" in mutant.source
        assert mutant.affected == ("scale",)
        compile(mutant.source, "mutant", "exec")
    assert len({m.source for m in found.values()}) == len(found)


def test_a_keyword_argument_is_dropped():
    found = {m.name for m in mutants("def f(t):\n    return t.sum(dim=0)\n", ["f"])}
    assert "f: return t.sum(dim=0) -> return t.sum()" in found


def test_a_change_reaches_the_api_names_that_use_it():
    source = "class A:\n    def forward(self, x):\n        return x * 2\n\n\ndef b():\n    return A()\n\n\ndef c():\n    return 1\n"  # noqa: E501
    affected = {m.target: m.affected for m in mutants(source, ["A", "b", "c"])}
    assert affected["c"] == ("c",)
    assert set(affected["A"]) == {"A", "b"}


def test_marks_name_real_mutants_and_checks():
    """Every mutant marked equivalent is one the audit makes of the solution today, and every
    structural check exists, so that no mark goes stale unseen."""
    for name, exercise in all_exercises().items():
        marked, structural = marks(exercise)
        sources = [p.read_text(encoding="utf-8") for p in exercise.judge_files]
        made = {
            m.name
            for m in mutants(
                (ROOT / "solutions" / f"{name}.py").read_text(encoding="utf-8"), api_names(sources)
            )
        }
        assert set(marked) <= made, f"{name}: stale marks {set(marked) - made}"
        assert all(reason.strip() for reason in marked.values())
        assert structural <= _check_names(sources), (
            f"{name}: unknown checks {structural - _check_names(sources)}"
        )


def _check_names(sources: list[str]) -> set[str]:
    names = set()
    for text in sources:
        for node in ast.walk(ast.parse(text)):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "check"
                and len(node.args) >= 2
            ):
                names.add(f"{node.args[0].value}: {node.args[1].value}")
    return names


def test_the_release_leaves_the_marks_out():
    folder = all_exercises()["exercise3"].folder
    assert EQUIVALENTS in LEFT_OUT(str(folder), os.listdir(folder))


def test_a_survivor_fails_the_audit_until_it_is_marked(tmp_path):
    """A solution whose FourierHalf passes a keyword with its default value: dropping it
    survives every check, so the audit exits 1 and shows it; marked equivalent, exit 0."""
    source = (ROOT / "solutions" / "exercise3.py").read_text(encoding="utf-8")
    solution = tmp_path / "exercise3.py"
    solution.write_text(
        source.replace("torch.fft.fft(X, dim=-1)", "torch.fft.fft(X, dim=-1, norm=None)"), encoding="utf-8"
    )
    args = [
        "audit",
        "exercise3",
        "--solution",
        str(solution),
        "--target",
        "FourierHalf",
        "--out",
        str(tmp_path / "out"),
        "-j",
        "1",
    ]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 1, first.output
    survivor = (
        "FourierHalf.forward: return torch.fft.fft(X, dim=-1, norm=None)[..., :(n + 1) // 2] -> "
        "return torch.fft.fft(X, dim=-1)[..., :(n + 1) // 2]"
    )
    assert f"SURVIVOR {survivor}" in first.output
    assert "-        return torch.fft.fft(X, dim=-1, norm=None)" in first.output  # the diff
    assert "passed: FourierHalf: coefficients equal fft(X)" in first.output
    assert "Σ_ij" not in first.output  # only the checks the change can move were run

    marked, structural = marks(all_exercises()["exercise3"])
    entries = [{"name": n, "reason": r} for n, r in marked.items()]
    survivors = [line.removeprefix("  SURVIVOR ") for line in first.output.splitlines() if "SURVIVOR" in line]
    entries += [{"name": name, "reason": "norm=None and dim=-1 are fft's defaults"} for name in survivors]
    equivalents = tmp_path / EQUIVALENTS
    equivalents.write_text(
        json.dumps({"structural": sorted(structural), "mutants": entries}), encoding="utf-8"
    )
    second = CliRunner().invoke(cli, [*args, "--equivalents", str(equivalents)])  # cached: no grading
    assert second.exit_code == 0, second.output
    assert "SURVIVOR" not in second.output and "marked equivalent" in second.output


WRONG = [
    "centered_sum.py",
    "centered_per_column.py",
    "mylinear_no_relu.py",
    "fourier_off_by_one.py",
    "cheater.py",
    "mylinear_zeros_with_grad.py",
    "centered_detach_zeros.py",
]


def test_failing_fast_on_a_replay_reaches_hypothesis_verdicts(launcher):
    """The audit's tapes end a check at its first failing recorded input: the statuses and
    the score are those of plain grading (only the counterexample is not shrunk)."""
    exercise = all_exercises()["exercise3"]
    tapes = Tapes(fail_fast=True)
    grade(ROOT / "solutions" / "exercise3.py", exercise, limits=TEST_LIMITS, launcher=launcher, tapes=tapes)
    expected = json.loads((SUBMISSIONS / "exercise3" / "expected.json").read_text(encoding="utf-8"))
    for name in WRONG:
        report = grade(
            SUBMISSIONS / "exercise3" / name, exercise, limits=TEST_LIMITS, launcher=launcher, tapes=tapes
        )
        not_passed = {c.name: c.status.value for c in report.checks if c.status != Status.PASSED}
        assert (not_passed, report.score) == (expected[name]["not_passed"], expected[name]["score"]), name


def test_only_the_checks_of_the_given_targets_run(launcher):
    report = grade(
        ROOT / "solutions" / "exercise3.py",
        all_exercises()["exercise3"],
        limits=TEST_LIMITS,
        launcher=launcher,
        targets=["FourierHalf"],
    )
    assert {c.target for c in report.checks} == {"FourierHalf"} and len(report.checks) == 2
