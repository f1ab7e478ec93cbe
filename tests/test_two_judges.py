"""Judging in two processes (grader/grading/two_judges.py): the report is the one a single
process writes, check for check, and nothing of the second process is left behind."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from grader.grading import two_judges
from grader.grading.engine import grade
from grader.grading.exercises import all_exercises
from tests.conftest import ROOT, SUBMISSIONS, TEST_LIMITS, without_timings

# Chosen for what one check tells the next, which the split must keep: a time limit ("not
# run again"), the same mistake in several checks ("same cause as"), a crash, a notebook's
# notes, an import that fails, hidden checks, and every exercise's solution and stub.
CASES = [
    ("exercise3", SUBMISSIONS / "exercise3" / "infinite_loop_forward.py"),
    ("exercise3", SUBMISSIONS / "exercise3" / "centered_sum.py"),
    ("exercise3", SUBMISSIONS / "exercise3" / "os_exit.py"),
    ("exercise3", SUBMISSIONS / "exercise3" / "nb_undefined_after_error.ipynb"),
    ("exercise3", SUBMISSIONS / "exercise3" / "missing_package.py"),
    *((name, ROOT / "solutions" / f"{name}.py") for name in all_exercises()),
    *((name, ROOT / "exercises" / f"{name}.py") for name in all_exercises()),
]


@pytest.mark.skipif(not two_judges.can_split(SimpleNamespace(connect=None)), reason="needs two cores")
@pytest.mark.parametrize(("exercise", "path"), CASES, ids=[f"{e}-{p.parent.name}-{p.name}" for e, p in CASES])
def test_a_split_report_is_the_single_process_one(launcher, exercise: str, path: Path):
    kwargs = {"limits": TEST_LIMITS, "launcher": launcher}
    single = without_timings(grade(path, all_exercises()[exercise], **kwargs))
    split = without_timings(grade(path, all_exercises()[exercise], split=True, **kwargs))
    assert split == single
    assert not _children(), "the second judging process outlived its grading"


def test_whole_api_names_go_to_one_part_balanced_by_examples(monkeypatch):
    monkeypatch.setattr(two_judges, "recorded_durations", lambda: {})  # no durations: examples decide
    items = [_item("A", 20), _item("A", 20), _item("B", 30), _item("C", 6), _item("D", 15), _item("C", 6)]
    parts = two_judges.assign(items, lambda item: item.target)
    by_target: dict[str, set[int]] = {}
    for item, part in zip(items, parts, strict=True):
        by_target.setdefault(item.target, set()).add(part)
    assert all(len(found) == 1 for found in by_target.values())  # a name is never split
    placed = list(zip(items, parts, strict=True))
    loads = [sum(two_judges._examples(item) for item, part in placed if part == k) for k in (0, 1)]
    assert sorted(loads) == [57, 70]  # B (30 + 5) + C (12 + 10) against A (40 + 10) + D (15 + 5)
    assert two_judges.assign(items, lambda item: item.target) == parts  # the same every time


def test_recorded_durations_outweigh_examples(monkeypatch):
    """exercise5's traced models: few examples, each costly. By examples, A (8) would join
    B (50); by recorded seconds it weighs the most and goes apart from B. A check with no
    entry (D) is weighed by its examples at the exercise's own seconds per example."""
    durations = {"A: p": 0.4, "B: p": 0.1, "B: q": 0.1, "C: p": 0.1}
    monkeypatch.setattr(two_judges, "recorded_durations", lambda: {"exercise9": durations})
    items = [_item("A", 3, "p"), _item("B", 20, "p"), _item("B", 20, "q"), _item("C", 20, "p"),
             _item("D", 20, "p")]
    parts = two_judges.assign(items, lambda item: item.target, lambda item: f"{item.target}: {item.prop}")
    assert parts == [0, 1, 1, 0, 1]  # A + C = 0.5 s against B + D = 0.41 s
    costs = two_judges._costs(items, lambda item: f"{item.target}: {item.prop}")
    assert costs[:4] == [0.4, 0.1, 0.1, 0.1] and costs[4] == pytest.approx(25 * 0.7 / 83)


def test_every_public_check_has_a_recorded_duration(launcher):
    """A check added or renamed without running benchmarks/check_durations.py would be
    weighed by a guess (the split stays correct, only slower)."""
    recorded = two_judges.recorded_durations()
    for name, exercise in all_exercises().items():
        report = grade(ROOT / "exercises" / f"{name}.py", exercise, limits=TEST_LIMITS, launcher=launcher)
        public = {check.name for check in report.checks if not check.hidden}
        assert public == set(recorded.get(name, {})), f"run benchmarks/check_durations.py ({name})"


def _item(target: str, examples: int, prop: str = "") -> SimpleNamespace:
    settings = SimpleNamespace(max_examples=examples)
    return SimpleNamespace(target=target, prop=prop, path=Path("grader/checks/exercise9/judges.py"),
                           obj=SimpleNamespace(_hypothesis_internal_use_settings=settings))


def _children() -> list[int]:
    """This test process's children that are still running (the worker server aside)."""
    me, found = os.getpid(), []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == me and fields[0] != "Z" and b"worker_server" not in cmdline:
            found.append(int(entry))
    return found
