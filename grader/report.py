"""The one report model: every output format in ``grader/render/`` renders it.

Frozen dataclasses with plain fields, so a report is data: ``to_dict`` gives the JSON
form, and renderers are pure functions of a ``Report``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field
from typing import Any

from grader.statuses import Status

__all__ = ["HIDDEN_DETAILS", "CheckResult", "HiddenChecks", "Isolation", "Report", "Status"]

# What a student's copy of a report says of a hidden check that did not pass.
HIDDEN_DETAILS = "a hidden check: details are not shown"


@dataclass(frozen=True)
class CheckResult:
    """One check of one submission."""

    name: str  # "<target>: <property>", what the student reads
    target: str  # the API name the check is about, e.g. "CenteredLayer"
    status: Status
    score: float
    max_score: float
    message: str = ""  # why it did not pass: property, input, expected versus observed
    counterexample: str = ""  # hypothesis's shrunk input, where the check is a property
    hint: str = ""  # advice shown with a failure
    output: str = ""  # what the submission printed during the failing call (capped)
    hidden: bool = False  # a hidden check: students see only its status and score
    fault: str = ""  # for an error: "student" (their code) or "grader" (ours)
    duration_s: float = 0.0
    # Data for a small picture of a failure, which its judge supplied: a histogram of the
    # student's values against the expected distribution, or a wrong output against the
    # right one. Plain numbers, capped; shape in grader/authoring/figure_data.py. None when
    # there is none (every check that passed).
    figure: dict[str, Any] | None = None


@dataclass(frozen=True)
class Isolation:
    """Which confinements were in force for the worker that ran the submission."""

    level: str  # "full", "partial" or "none"
    in_force: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Note:
    """Something a notebook did while it ran cell by cell that costs no points by itself: a
    cell that raised or ran out of time, a missing package, a magic or shell escape not run."""

    cell: int  # the cell's number among all the notebook's cells (markdown included), from 1
    line: int  # the line within that cell, from 1 (0: the cell as a whole)
    kind: str  # "raised", "syntax", "timeout", "import", "network" or "skipped"
    message: str  # one line: the exception ("NameError: name 'x' is not defined") or what was skipped

    @property
    def text(self) -> str:
        where = f"cell {self.cell}, line {self.line}" if self.line else f"cell {self.cell}"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class HiddenChecks:
    """Hidden checks a student's copy of the grader does not hold: they run on submission."""

    count: int
    points: float


@dataclass(frozen=True)
class Report:
    """The grading of one submission for one exercise."""

    exercise: str
    submission: str  # the file graded, as given
    submission_sha256: str
    checks: tuple[CheckResult, ...]
    isolation: Isolation
    grader_version: str
    checks_version: str  # a hash of the judges, probes and engine that graded it
    timings: dict[str, float]
    problem: str = ""  # a problem with the whole submission (unreadable, failed to import)
    # Hidden checks this copy of the grader lacks (a student release), which run when the
    # work is submitted; None where every check ran.
    hidden_checks: HiddenChecks | None = None
    # Which seed drew the checks' inputs: "public" (the checks' own, which anyone holding
    # them can replay) or the fingerprint of a course secret (grader.grading.seed).
    seed: str = "public"
    # What a notebook's cells did besides defining the answers (cells that raised, timed
    # out or were skipped), in cell order; empty for a .py file.
    notes: tuple[Note, ...] = ()

    @property
    def max_score(self) -> float:
        return sum(check.max_score for check in self.checks)

    @property
    def gradable(self) -> bool:
        """False when the grader itself failed somewhere: then no score is claimed."""
        return bool(self.checks) and not any(check.fault == "grader" for check in self.checks)

    @property
    def score(self) -> float | None:
        if not self.gradable:
            return None
        return sum(check.score for check in self.checks)

    @property
    def percent(self) -> float | None:
        score = self.score
        if score is None or not self.max_score:
            return None
        return 100.0 * score / self.max_score

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        """The report that ``to_dict`` gave ``data`` (as read back from a JSON report)."""
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {key: value for key, value in data.items() if key in fields}
        values["checks"] = tuple(CheckResult(**{**check, "status": Status(check["status"])})
                                 for check in data.get("checks", ()))
        values["isolation"] = Isolation(**data.get("isolation", {"level": "none"}))
        if data.get("hidden_checks"):
            values["hidden_checks"] = HiddenChecks(**data["hidden_checks"])
        values["notes"] = tuple(Note(**note) for note in data.get("notes", ()))
        return cls(**values)

    def student_view(self) -> Report:
        """The report as a student may hold it (``grade``'s JSON): a hidden check keeps its
        name, status and points, and nothing of why (message, counterexample, hint, output,
        figure). Instructors keep the whole report (batch grading, Gradescope's tests that
        show after publication)."""
        return dataclasses.replace(self, checks=tuple(
            dataclasses.replace(check, message=HIDDEN_DETAILS if check.status != Status.PASSED else "",
                                counterexample="", hint="", output="", figure=None)
            if check.hidden else check for check in self.checks))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for check in data["checks"]:
            check["status"] = Status(check["status"]).value
        data.update(score=self.score, max_score=self.max_score, gradable=self.gradable)
        order = ["exercise", "score", "max_score", "gradable", "submission", "submission_sha256",
                 "problem", "notes", "checks", "isolation", "grader_version", "checks_version", "timings",
                 "hidden_checks", "seed"]
        return {key: data[key] for key in order}
