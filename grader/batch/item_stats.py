"""Item analysis of one exercise across a class: each check's pass rate and its most common
failure messages (numbers masked, so one mistake on many inputs counts once).

``summary.md`` and ``dashboard.html`` both show it; it is computed here once.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from grader.report import Report, Status

TOP_MESSAGES = 3  # failure messages shown per check
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


@dataclass(frozen=True)
class Item:
    """One check across the graded submissions of an exercise."""

    name: str
    points: float
    passed: int
    graded: int
    failures: tuple[tuple[str, int], ...]  # (message pattern, how many), most common first

    @property
    def rate(self) -> float:
        return self.passed / self.graded if self.graded else 0.0


def items(reports: Sequence[Report]) -> list[Item]:
    """Every check of ``reports`` (graded ones), lowest pass rate first."""
    passed: Counter[str] = Counter()
    seen: dict[str, float] = {}
    messages: dict[str, Counter[str]] = defaultdict(Counter)
    for report in reports:
        for check in report.checks:
            seen.setdefault(check.name, check.max_score)
            if check.status == Status.PASSED:
                passed[check.name] += 1
            elif not report.problem:  # a file that did not load fails every check alike
                messages[check.name][pattern(check.message) or check.status.value] += 1
    found = [Item(name, points, passed[name], len(reports), tuple(messages[name].most_common(TOP_MESSAGES)))
             for name, points in seen.items()]
    return sorted(found, key=lambda item: (item.rate, item.name))


def unloaded(reports: Sequence[Report]) -> Counter[str]:
    """Why submissions did not load (message patterns), with how many each."""
    return Counter(pattern(r.problem) for r in reports if r.problem)


def pattern(message: str) -> str:
    """A message's first line with its numbers masked, so that one mistake on different
    inputs counts as one: "the output's mean should be #, got #"."""
    first = message.strip().splitlines()[0][:160] if message.strip() else ""
    return NUMBER.sub("#", first)
