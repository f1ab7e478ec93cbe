"""The grader's three vocabularies of outcomes, as string enums (their values are the words
that reports and worker messages hold, so a member equals its plain string).

    worker --Reply--> client --StudentCodeProblem(ProblemKind)--> pytest plugin --Status--> report

Imported in workers too: nothing here may import torch, pytest or a judge.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """How one check ended (``CheckResult.status``)."""

    PASSED = "passed"  # the property holds
    FAILED = "failed"  # the property broke, on the input in ``counterexample``
    ERROR = "error"  # the submission raised, timed out or crashed (or the grader failed)
    NOT_RUN = "not run"  # skipped; ``message`` says why


class Reply(StrEnum):
    """The ``status`` of a worker's reply; ``sandbox/client.py`` handles every one."""

    HELLO = "hello"  # a fresh worker, before any student code: {isolation}
    LOADED = "loaded"  # the submission imported: {names}
    OK = "ok"  # a probe or the notebook ran: {value}
    NO_PROBE = "no_probe"  # the probe asked for is not loaded (the submission replaced it)
    SYNTAX = "syntax"  # the submission does not compile: {type, message, lineno, text}
    MISSING = "missing"  # a probe asked for a name the submission lacks: {name}
    EXIT = "exit"  # the submission called sys.exit: {code}
    NOT_IMPLEMENTED = "not_implemented"  # NotImplementedError: {message, frames}
    RAISED = "raised"  # any other exception: {type, message, frames}
    BAD_RESULT = "bad_result"  # the probe's result could not be sent: {message}


class ProblemKind(StrEnum):
    """Why the submission's code gave a check no answer (``StudentCodeProblem.kind``)."""

    NOT_IMPLEMENTED = "not_implemented"
    MISSING = "missing"
    RAISED = "raised"
    SYNTAX = "syntax"
    EXIT = "exit"
    TIMEOUT = "timeout"
    CRASHED = "crashed"
    GARBAGE = "garbage"  # a result judges refuse, or a worker that answered nonsense
    UNREADABLE = "unreadable"  # the file could not be read as Python or as a notebook
