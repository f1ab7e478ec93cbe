"""An exercise's judges collected once and run for submission after submission, in one
pytest session: batch grading and ``grade watch`` grade many submissions in one process.

Configuring pytest, collecting the judges and finishing a session cost about 30 ms, an
eighth of grading a correct exercise3 submission; here they are paid once per exercise and
process.
Between two submissions happens what pytest does between two sessions: the last check of
each tears down every fixture (the session-scoped ``submission`` included), and the
``GradingSession`` plugin starts afresh with the next submission's sandbox, so nothing of
one run reaches the next (tests/test_warm_judges.py compares reports with fresh sessions').
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Collection, Iterator
from typing import TYPE_CHECKING

import pytest

from grader import compat
from grader.grading.pytest_plugin import GradingSession

if TYPE_CHECKING:
    from grader.grading.engine import _Judged
    from grader.grading.exercises import Exercise
    from grader.grading.replay import Tapes
    from grader.grading.seed import GradingSeed
    from grader.sandbox.client import Sandbox


class WarmJudges:
    """Open pytest sessions, one per exercise, for ``engine.grade(..., judges=...)``."""

    def __init__(self) -> None:
        self._open: dict[str, _Session] = {}

    def run(self, exercise: Exercise, sandbox: Sandbox, tapes: Tapes | None, seed: GradingSeed,
            targets: Collection[str] | None) -> _Judged:
        """Every check of ``exercise`` (or of the API names ``targets``) against ``sandbox``'s
        submission."""
        session = self._open.get(exercise.name)
        if session is None:
            session = self._open[exercise.name] = _Session(exercise)
        try:
            return session.run(sandbox, tapes, seed, targets)
        except BaseException:  # interrupted mid-run: the next submission gets a fresh session
            del self._open[exercise.name]
            session.close()
            raise

    def close(self) -> None:
        for session in self._open.values():
            session.close()
        self._open.clear()


class _Session:
    """One exercise's pytest session, configured and collected, between submissions."""

    def __init__(self, exercise: Exercise) -> None:
        from grader.grading.engine import pytest_args

        self.grading = GradingSession(None)
        with _quiet():
            # No terminal reporter: it would keep every check's report of every submission.
            self.config = compat.pytest_config(pytest_args(exercise, terminal=False), [self.grading])
            self.session = pytest.Session.from_config(self.config)
            self.config.hook.pytest_sessionstart(session=self.session)
            self.config.hook.pytest_collection(session=self.session)
        self.items = list(self.session.items)
        self.collect_errors = list(self.grading.collect_errors)

    def run(self, sandbox: Sandbox, tapes: Tapes | None, seed: GradingSeed,
            targets: Collection[str] | None) -> _Judged:
        from grader.grading.engine import _Judged

        grading = self.grading
        grading.start(sandbox, tapes, seed, targets)
        items = list(self.items)
        # What a fresh session's collection would do for this submission: choose the checks
        # (``targets``), note their order, import the submission.
        grading.pytest_collection_modifyitems(items)
        grading.pytest_collection_finish(self.session)
        if self.collect_errors:  # as a fresh session would: no check runs
            return _Judged([], [], self.collect_errors, int(pytest.ExitCode.INTERRUPTED))
        with _quiet():
            try:
                for place, item in enumerate(items):
                    following = items[place + 1] if place + 1 < len(items) else None
                    # The last check's teardown (no next item) ends every fixture, as at
                    # the end of a session.
                    item.config.hook.pytest_runtest_protocol(item=item, nextitem=following)
            except BaseException:
                with contextlib.suppress(Exception):
                    compat.tear_down_all(self.session)
                raise
        # Read only where no check ran; then it says why, as a fresh session's would.
        code = pytest.ExitCode.OK if items else pytest.ExitCode.NO_TESTS_COLLECTED
        return _Judged(list(grading.results), list(grading.positions), [], int(code))

    def close(self) -> None:
        with _quiet(), contextlib.suppress(Exception):
            self.config.hook.pytest_sessionfinish(session=self.session, exitstatus=pytest.ExitCode.OK)
        with _quiet(), contextlib.suppress(Exception):
            compat.unconfigure(self.config)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """What pytest and its plugins print goes nowhere (a fresh session's goes into a report
    only where no check ran, which here is said by the collection errors)."""
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        yield
