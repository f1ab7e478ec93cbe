"""Student-facing text for every rendering (terminal, JUnit, Markdown, Gradescope, CSV).

A check's message and printed output come from the submission and may hold anything: NUL
bytes, ANSI escapes, lone surrogates. A grader fault's message may hold our own traceback,
which is of no use to a student and tells them about the grader's files. Every renderer
passes such text through here first, and takes what to show of a check that did not pass
from ``failure``, so that the rules (hidden details, the problem shown once, a hint only
for a broken property) are written once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from grader.report import HIDDEN_DETAILS, CheckResult, Report, Status

# Terminal escape sequences as whole units (CSI such as colours, OSC such as window titles,
# and two-byte escapes), so that no "[31m" is left behind when the ESC byte goes.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]?")
# What XML 1.0 cannot hold (C0 controls but tab and newline, lone surrogates, U+FFFE/U+FFFF),
# and C1 controls and DEL too, which XML allows but which act on terminals that show a log.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_NEWLINES = re.compile(r"\r\n?")
# An object's address in its repr ("<generator object f at 0x7f3a...>") differs on every run:
# masked, so that the same submission gets the same report.
_ADDRESS = re.compile(r"( at )0x[0-9a-fA-F]{6,}>")
# A traceback's header or one of its frames (Python's, or pytest's "path.py:12: in name"),
# wherever it starts in a line.
_FRAME = re.compile(r'Traceback \(most recent call last\).*|File "[^"]*", line \d+.*|\S+\.py:\d+: in .*')

GRADER_FAULT_NOTE = "(details for your instructor are in the JSON report)"


def clean(text: str) -> str:
    """``text`` without terminal escapes or control characters, and without the addresses in
    objects' reprs; newlines become ``\\n``."""
    return _ADDRESS.sub(r"\g<1>0x…>", _UNSAFE.sub("", _ANSI.sub("", _NEWLINES.sub("\n", text))))


def without_frames(text: str) -> str:
    """A grader fault's message for a student: its first line, never a stack frame.

    The first line says what failed ("grader error ...: KeyError: 'x'"); the rest is a
    traceback or pytest's report, which the JSON report keeps for the instructor.
    """
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return ""
    first = _FRAME.sub("", lines[0]).strip() or "grader error"
    return f"{first} {GRADER_FAULT_NOTE}" if len(lines) > 1 or first != lines[0].strip() else first


def message(check: CheckResult) -> str:
    """The check's message as a student may read it."""
    text = without_frames(check.message) if check.fault == "grader" else check.message
    return clean(text)


def problem(report: Report) -> str:
    """The whole submission's problem as a student may read it."""
    text = report.problem
    return clean(without_frames(text) if text.startswith("grader error") else text)


def repeats_problem(report: Report, check: CheckResult) -> bool:
    """True when the check failed only because the whole submission did (shown once)."""
    return bool(report.problem) and check.message == report.problem


HIDDEN = HIDDEN_DETAILS
SEE_ABOVE = "see the problem with the submission above"


@dataclass(frozen=True)
class Failure:
    """What to show of a check that did not pass, each part clean ("" for none).

    ``withheld`` replaces every other part when it is set: ``HIDDEN`` or ``SEE_ABOVE``.
    """

    message: str = ""
    counterexample: str = ""
    output: str = ""  # what the code printed, without surrounding blank space
    # a broken property's hint, or the hint chosen for what raised (grader.grading.error_hints)
    hint: str = ""
    withheld: str = ""


def failure(check: CheckResult, report: Report | None = None, *, show_hidden: bool = False) -> Failure:
    """The sections of ``check``'s failure. Pass ``report`` where the rendering shows the
    submission's problem once above the checks (a check that only repeats it then says so);
    ``show_hidden`` where the platform itself withholds hidden checks (Gradescope)."""
    if check.hidden and not show_hidden:
        return Failure(withheld=HIDDEN)
    if report is not None and repeats_problem(report, check):
        return Failure(withheld=SEE_ABOVE)
    return Failure(
        message=message(check),
        counterexample=clean(check.counterexample),
        output=clean(check.output.strip()),
        hint=clean(check.hint) if check.status == Status.FAILED or (check.status == Status.ERROR
                                                                    and check.fault == "student") else "",
    )


def number(value: float) -> str:
    """A score as people write it: 2, 0.5, 18.25 (no float noise such as 0.30000000000000004)."""
    return f"{value:.10g}"


def points(check: CheckResult) -> str:
    return f"{number(check.score)}/{number(check.max_score)}"


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")
