"""What can go wrong while judging, as exceptions the pytest plugin sorts into statuses.

- ``AssertionError`` from a judge: the property broke -> ``failed``.
- ``StudentCodeProblem``: the submission raised, was not implemented, lacks a name, timed
  out, crashed or sent garbage -> ``error``, the student's doing.
- anything else: a fault of the grader -> ``error`` marked as the grader's, and the report
  claims no score.
"""

from __future__ import annotations

from grader.statuses import ProblemKind


class StudentCodeProblem(Exception):
    """The submission's code could not give the check an answer.

    ``kind`` says which (``ProblemKind``). ``sticky`` problems end the check at once, since other inputs
    would only repeat them (the worker is gone, or the code is missing or unimplemented);
    the others depend on the input, and hypothesis shrinks it.
    """

    def __init__(self, kind: ProblemKind, message: str, sticky: bool = False) -> None:
        super().__init__(message)
        self.kind = ProblemKind(kind)
        self.message = message
        self.sticky = sticky


class GraderFault(Exception):
    """The grader or the machine failed; not the student's fault."""


class WorkerLost(BaseException):
    """Carries a sticky ``StudentCodeProblem`` out of a check at once.

    A BaseException, so that hypothesis does not retry and shrink an input whose worker is
    gone (every retry would only repeat the same crash or time limit).
    """

    def __init__(self, problem: StudentCodeProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem
