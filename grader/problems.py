"""What can go wrong while judging, as exceptions the pytest plugin sorts into statuses.

- ``AssertionError`` from a judge: the property broke -> ``failed``.
- ``StudentCodeProblem``: the submission raised, was not implemented, lacks a name, timed
  out, crashed or sent garbage -> ``error``, the student's doing.
- anything else: a fault of the grader -> ``error`` marked as the grader's, and the report
  claims no score.
"""

from __future__ import annotations


class StudentCodeProblem(Exception):
    """The submission's code could not give the check an answer.

    ``kind`` is one of: not_implemented, missing, raised, syntax, exit, timeout, crashed,
    garbage, unreadable. ``sticky`` problems end the check at once (the worker is gone, so
    later inputs would only repeat it); the others depend on the input.
    """

    def __init__(self, kind: str, message: str, sticky: bool = False) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.sticky = sticky


class GraderFault(Exception):
    """The grader or the machine failed; not the student's fault."""
