"""Caps on the texts of a report, applied on the trusted side.

Messages, printed output and counterexamples carry what a submission made (its exception
messages, its prints, the values it returned), and the worker's own caps are the
submission's to lift. So every such field is cut here to a fixed size, and when a report's
texts still add up to more than ``REPORT_CHARS`` (many failing checks), each field gets an
equal share of that. Every rendering (JSON, JUnit, Markdown, Gradescope) follows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from grader.report import CheckResult

FIELD_CHARS = 4000  # one message, output or counterexample
REPORT_CHARS = 200_000  # all of a report's capped texts together
CAPPED = ("message", "output", "counterexample")


def cap(text: str, limit: int = FIELD_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying how much was cut."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… ({len(text) - limit} more characters cut by the grader)"


def cap_checks(checks: Sequence[CheckResult]) -> tuple[CheckResult, ...]:
    """Every check's texts capped, and all of them together within ``REPORT_CHARS``."""
    capped = [dataclasses.replace(c, **{f: cap(getattr(c, f)) for f in CAPPED}) for c in checks]
    total = sum(len(getattr(c, f)) for c in capped for f in CAPPED)
    if total <= REPORT_CHARS:
        return tuple(capped)
    share = max(200, REPORT_CHARS // (len(capped) * len(CAPPED)))
    return tuple(dataclasses.replace(c, **{f: cap(getattr(c, f), share) for f in CAPPED}) for c in capped)
