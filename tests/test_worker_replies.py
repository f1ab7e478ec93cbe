"""Every status a worker can send (grader/statuses.py ``Reply``) is handled by the client:
each becomes the value or a problem with its own message, never the catch-all for a status
no worker sends."""

from __future__ import annotations

import pytest

from grader.grading.errors import StudentCodeProblem
from grader.grading.submission import read_submission
from grader.sandbox.client import Sandbox
from grader.statuses import ProblemKind, Reply
from tests.conftest import ROOT

PHASE = "while running the check"
CATCH_ALL = "the worker answered"

# A reply of each status, as the worker sends it, and what the client must make of it.
REPLIES = {
    Reply.OK: ({"value": [1, 2]}, None, ""),
    Reply.NO_PROBE: ({"message": "no probe x:y"}, ProblemKind.GARBAGE, "tampered with the grader's probes"),
    Reply.SYNTAX: ({"type": "SyntaxError", "message": "invalid syntax", "lineno": 3, "text": "def f(:"},
                   ProblemKind.SYNTAX, "SyntaxError in exercise3.py, line 3: invalid syntax\n    def f(:"),
    Reply.MISSING: ({"name": "MyLinear"}, ProblemKind.MISSING, "defines no `MyLinear`"),
    Reply.EXIT: ({"code": "2"}, ProblemKind.EXIT, "called sys.exit(2) while running the check"),
    Reply.NOT_IMPLEMENTED: ({"message": "todo", "frames": []}, ProblemKind.NOT_IMPLEMENTED,
                            "not implemented yet (NotImplementedError: todo)"),
    Reply.RAISED: ({"type": "ValueError", "message": "bad", "frames": [[1, "f", "x = 1"]]},
                   ProblemKind.RAISED, "ValueError: bad\n  exercise3.py, line 1, in f: x = 1"),
    Reply.BAD_RESULT: ({"message": "TypeError: cannot send a generator"}, ProblemKind.GARBAGE,
                       "could not be sent back while running the check (TypeError: cannot send a generator)"),
    # Replies that only come at their own turn (a fresh worker, an import) are nonsense in a call.
    Reply.HELLO: ({"isolation": {}}, ProblemKind.GARBAGE, f"{CATCH_ALL} 'hello' {PHASE}"),
    Reply.LOADED: ({"names": []}, ProblemKind.GARBAGE, f"{CATCH_ALL} 'loaded' {PHASE}"),
}


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return Sandbox(launcher=None, submission=read_submission(ROOT / "solutions" / "exercise3.py"))  # type: ignore[arg-type]


def test_every_reply_status_has_a_case_here():
    assert set(REPLIES) == set(Reply)


@pytest.mark.parametrize("status", list(Reply))
def test_the_client_handles_each_reply(sandbox, status):
    body, kind, text = REPLIES[status]
    reply = {"status": status.value, **body}  # as decoded: plain strings
    if kind is None:
        assert sandbox._answer(reply, PHASE) == body["value"]
        return
    with pytest.raises(StudentCodeProblem) as caught:
        sandbox._answer(reply, PHASE)
    assert caught.value.kind == kind and text in caught.value.message
    if status not in (Reply.HELLO, Reply.LOADED):
        assert CATCH_ALL not in caught.value.message


def test_a_status_no_worker_sends_is_garbage(sandbox):
    with pytest.raises(StudentCodeProblem) as caught:
        sandbox._answer({"status": "gibberish"}, PHASE)
    assert caught.value.kind == ProblemKind.GARBAGE and caught.value.sticky
    assert caught.value.message == f"{CATCH_ALL} 'gibberish' {PHASE}"


def test_problem_kinds_and_statuses_are_their_report_words():
    assert [str(kind) for kind in ProblemKind][:3] == ["not_implemented", "missing", "raised"]
    assert StudentCodeProblem("timeout", "x").kind is ProblemKind.TIMEOUT
    with pytest.raises(ValueError):
        StudentCodeProblem("late", "x")  # type: ignore[arg-type]


def test_the_worker_sends_only_reply_members():
    source = (ROOT / "grader" / "sandbox" / "worker.py").read_text(encoding="utf-8")
    assert '"status": "' not in source and "Reply." in source


def test_statuses_import_in_a_worker_without_torch():
    import subprocess
    import sys

    code = "import sys, grader.statuses; assert not {'torch', 'pytest'} & set(sys.modules)"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
