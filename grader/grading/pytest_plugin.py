"""The pytest side of grading: the ``submission`` fixture and the outcome collector.

The engine runs pytest on an exercise's judges with a ``GradingSession`` plugin that holds
the submission's sandbox; the collector turns every judge's outcome into a
``CheckResult``. Instructors can also run judges with plain pytest
(``pytest grader/checks/exercise3/judges.py --submission FILE``): the conftest of
``grader/checks`` then builds the sandbox from the option.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import time
from collections.abc import Collection, Iterator
from pathlib import Path

import pytest

from grader import compat, deferred_imports
from grader.authoring.figure_data import checked
from grader.authoring.judging import MARKER
from grader.grading import two_judges
from grader.grading.error_hints import hint_for
from grader.grading.errors import GraderFault, StudentCodeProblem, WorkerLost
from grader.grading.replay import Tapes
from grader.grading.seed import PUBLIC_SEED, GradingSeed
from grader.render.text import clean
from grader.report import CheckResult, Status
from grader.sandbox.client import Limits, Sandbox
from grader.statuses import ProblemKind

deferred_imports.install()  # the exercise5 judges step optimizers: see there


class GradingSession:
    """Registered by the engine: supplies the sandbox and collects results."""

    def __init__(self, sandbox: Sandbox | None, tapes: Tapes | None = None, seed: GradingSeed = PUBLIC_SEED,
                 targets: Collection[str] | None = None, part: int | None = None) -> None:
        self.part = part  # judging in two processes: this one's share (grader.grading.two_judges)
        self.start(sandbox, tapes, seed, targets)

    def start(self, sandbox: Sandbox | None, tapes: Tapes | None, seed: GradingSeed,
              targets: Collection[str] | None) -> None:
        """Begin a submission's run: ``warm_judges`` runs one after another in one session
        (a session's collection, with no sandbox yet, then imports no submission)."""
        self.sandbox = sandbox
        self.tapes = tapes  # batch grading: inputs of checks that passed before (grader.grading.replay)
        self.seed = seed  # which inputs each check draws (grader.grading.seed)
        self.targets = targets  # only the checks of these API names (grade audit), or all
        self.results: list[CheckResult] = []
        self.positions: list[int] = []  # each result's place among all the checks collected
        self._position: dict[str, int] = {}
        self.collect_errors: list[str] = []
        self._started: dict[str, float] = {}
        # target -> its time-limit problem: later checks of that target are not run again,
        # so an infinite loop costs one time limit per API name, not one per check.
        self._timed_out: dict[str, StudentCodeProblem] = {}
        # (target, what raised) -> the first check it failed: a later check of that target
        # failing for the same cause says so, so that one mistake reads as one charge.
        self._causes: dict[tuple[str, str], str] = {}

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        if self.targets is not None:
            items[:] = [item for item in items if set(_target(item).split("/")) & set(self.targets)]
        self._position = {item.nodeid: place for place, item in enumerate(items)}
        if self.part is not None:
            parts = two_judges.assign(items, _target, check_name)
            items[:] = [item for item, part in zip(items, parts, strict=True) if part == self.part]

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Import the submission once, before the first check (its failure is reused)."""
        if self.sandbox is None:
            return
        with contextlib.suppress(StudentCodeProblem, GraderFault):  # each check reports it
            self.sandbox.prepare()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self._started[item.nodeid] = time.perf_counter()
        self.sandbox.begin_check()
        if self.sandbox.load_problem is not None:
            raise self.sandbox.load_problem  # no check can run without the module
        earlier = self._timed_out.get(_target(item))
        if earlier is not None:
            raise StudentCodeProblem(ProblemKind.TIMEOUT, f"{earlier.message}\n  (in an earlier check of "
                                     f"{_target(item)}; not run again)", sticky=True)

    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function) -> bool | None:
        self.seed.apply(pyfuncitem.obj, pyfuncitem.nodeid)
        return self.tapes.run(pyfuncitem) if self.tapes is not None else None

    @pytest.hookimpl(tryfirst=True, specname="pytest_runtest_makereport")
    def pytest_runtest_makereport_plainly(self, item: pytest.Item,
                                          call: pytest.CallInfo[None]) -> pytest.TestReport:
        """pytest's own report formats a filtered traceback for every failure (10 ms each,
        a stub's whole grading); verdicts come from ``call.excinfo``, so one line will do. (pytest
        registers only methods named pytest_*, hence the name and ``specname``.)"""
        return quick_report(item, call)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
        outcome = yield
        report = outcome.get_result()
        if report.when == "call" or (report.when == "setup" and not report.passed):
            started = self._started.get(item.nodeid, time.perf_counter())
            result = result_of(item, call, report, time.perf_counter() - started)
            problem = _leaf(call.excinfo.value) if call.excinfo is not None else None
            if isinstance(problem, StudentCodeProblem) and problem.kind == ProblemKind.TIMEOUT:
                self._timed_out.setdefault(result.target, problem)
            if (isinstance(problem, StudentCodeProblem) and problem.kind == ProblemKind.RAISED
                    and not problem.sticky):
                result = self._same_cause(result, raised_where(result.message))
            elif result.status == Status.FAILED and result.message:
                result = self._same_cause(result, "failed: " + result.message.splitlines()[0])
            if result.status in (Status.FAILED, Status.ERROR) and self.sandbox.output:
                result = dataclasses.replace(result, output=clean(self.sandbox.output[:1000]))
            self.results.append(result)
            self.positions.append(self._position.get(item.nodeid, len(self._position)))

    def _same_cause(self, result: CheckResult, cause: str) -> CheckResult:
        """``result``, saying "(same cause as ...)" where an earlier check of its target failed
        for ``cause``: the same line of the submission raised the same exception, or the same
        first line of a failure."""
        key = (result.target, cause)
        first = self._causes.setdefault(key, result.name)
        if first == result.name:
            return result
        return dataclasses.replace(result, message=f"{result.message}\n  (same cause as `{first}`)")

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collect_errors.append(str(report.longrepr)[-2000:])


def raised_where(message: str) -> str:
    """What raised, for comparing causes: the exception's type and the submission's lines in
    the traceback (the message's values, such as shapes, vary with the input)."""
    lines = message.splitlines()
    kind = lines[0].split(":", 1)[0] if lines else ""
    frames = [line for line in lines[1:] if re.match(r"  \S+, (?:line|cell) \d+", line)]
    return "\n".join([kind, *frames]) if frames else (lines[0] if lines else "")


def quick_report(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
    excinfo = call.excinfo
    if excinfo is None:
        outcome, longrepr = "passed", None
    elif isinstance(excinfo.value, pytest.skip.Exception):
        outcome, longrepr = "skipped", (str(item.path), 0, f"Skipped: {excinfo.value.msg}")
    else:
        outcome, longrepr = "failed", f"{excinfo.typename}: {excinfo.value}"
    return pytest.TestReport(item.nodeid, item.location, dict.fromkeys(item.keywords, 1), outcome, longrepr,
                             call.when, duration=call.duration, start=call.start, stop=call.stop,
                             user_properties=item.user_properties)


def check_name(item: pytest.Item) -> str:
    """The check's name in reports: "target: property" ("?: test_name" for a judge without
    its @check marker, which reports a grader error)."""
    marker = item.get_closest_marker(MARKER)
    if marker is None:
        return f"?: {item.name}"
    return f"{marker.kwargs['target']}: {marker.kwargs['prop']}"


def _target(item: pytest.Item) -> str:
    marker = item.get_closest_marker(MARKER)
    return str(marker.kwargs.get("target", "")) if marker is not None else ""


def result_of(item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport,
              duration: float) -> CheckResult:
    """The check's result; its texts without terminal escapes (PyTorch colours some of its
    messages) or control characters, in every report, the JSON included."""
    result = _result_of(item, call, report, duration)
    return dataclasses.replace(result, message=clean(result.message),
                               counterexample=clean(result.counterexample))


def _result_of(item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport,
               duration: float) -> CheckResult:
    marker = item.get_closest_marker(MARKER)
    if marker is None:
        meta = {"target": "?", "prop": item.name, "points": 0, "hint": "", "hidden": False}
        fault = "grader"
    else:
        meta, fault = dict(marker.kwargs), ""
    points = float(meta["points"])
    base = {
        "name": check_name(item),
        "target": meta["target"],
        "max_score": points,
        "hint": meta.get("hint", ""),
        "hidden": bool(meta.get("hidden", False)),
        "duration_s": round(duration, 4),
    }
    if fault:
        return CheckResult(**base, status=Status.ERROR, score=0.0, fault="grader",
                           message=f"grader error: judge {item.name} has no @check marker")
    if report.passed:
        return CheckResult(**base, status=Status.PASSED, score=points)
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        return CheckResult(**base, status=Status.NOT_RUN, score=0.0,
                           message=str(reason).removeprefix("Skipped: "))
    exc = _leaf(call.excinfo.value) if call.excinfo is not None else None
    example = _counterexample(call.excinfo.value) if call.excinfo is not None else ""
    if isinstance(exc, AssertionError):
        if isinstance(getattr(exc, "hint", None), str):  # the judge chose it from the evidence
            base["hint"] = exc.hint
        return CheckResult(**base, status=Status.FAILED, score=0.0, message=_message(exc),
                           counterexample=example, figure=checked(getattr(exc, "figure", None)))
    if isinstance(exc, StudentCodeProblem):  # the check's hint is for a broken property: one for the error
        base["hint"] = hint_for(exc.kind, exc.message)
        return CheckResult(**base, status=Status.ERROR, score=0.0, message=exc.message,
                           counterexample="" if exc.sticky else example, fault="student")
    if isinstance(exc, MALFORMED_DATA_ERRORS):
        # Judges read what the worker sent; data of the wrong form (a list for a dict, a
        # tensor of another shape) can only come from the submission. A judge bug shows up
        # instead in the project's own tests, where correct solutions must pass.
        base["hint"] = ""  # the check's hint is for a broken property, not for this
        return CheckResult(**base, status=Status.ERROR, score=0.0, fault="student",
                           message=f"the answer had an unexpected form ({type(exc).__name__}: {exc}); "
                                   "does the code return what the contract says?"[:2000],
                           counterexample=example)
    kind = type(exc).__name__ if exc is not None else "unknown"
    detail = str(exc) if isinstance(exc, GraderFault) else f"{kind}: {exc}"
    return CheckResult(**base, status=Status.ERROR, score=0.0, fault="grader",
                       message=f"grader error (not your fault; tell your instructor): {detail}"[:2000])


MALFORMED_DATA_ERRORS = (TypeError, KeyError, IndexError, AttributeError, ValueError, RuntimeError)


def _leaf(exc: BaseException) -> BaseException:
    """The first real exception inside hypothesis's exception groups and our wrappers."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc.problem if isinstance(exc, WorkerLost) else exc


def _message(exc: BaseException) -> str:
    text = str(exc.args[0]) if exc.args else ""
    return text or "the property does not hold"


def _counterexample(exc: BaseException) -> str:
    """Hypothesis's failing example as Python a student can paste: ``name=value`` per argument
    (the ``submission`` fixture and ``data=data(...)`` left out), then each value the judge
    drew with ``data.draw``, as ``label=value``."""
    notes = [str(note) for note in getattr(exc, "__notes__", []) or []]
    for note in notes:
        if note.startswith(compat.FALSIFYING_NOTE):
            lines = _arguments(note.splitlines()[1:-1])
            lines += [_drawn(note) for note in notes if _DRAW.match(note)]
            return _python("\n".join(lines))
    if isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        return _counterexample(exc.exceptions[0])
    return ""


_DRAW = re.compile(r"Draw (\d+)(?: \(([^)]*)\))?: (.*)", re.DOTALL)
_COMMENT = re.compile(r"  # (?:or any other generated value|The test .*)$")
_TENSOR = re.compile(r"(?<![\w.])tensor\(")


def _arguments(lines: list[str]) -> list[str]:
    """The arguments of hypothesis's ``test_x(\n    a=...,\n    b=[\n        ...\n    ],\n)``,
    each dedented, with the comma that ends it (and only that one) removed."""
    arguments: list[list[str]] = []
    for line in lines:
        line = _COMMENT.sub("", line.rstrip())
        if not line.strip() or line.strip().startswith("#"):
            continue
        if not line.startswith("     ") or not arguments:  # an argument starts at 4 spaces
            arguments.append([])
        arguments[-1].append(line[4:] if line.startswith("    ") else line.strip())
    kept = []
    for argument in arguments:
        if argument[0].startswith(("submission=", "data=data(")):
            continue
        argument[-1] = argument[-1].removesuffix(",")
        kept.append("\n".join(argument))
    return kept


def _drawn(note: str) -> str:
    match = _DRAW.match(note)
    assert match is not None
    number, label, value = match.groups()
    return f"{label or f'draw_{number}'}={_COMMENT.sub('', value.rstrip())}"


def _python(text: str) -> str:
    """Tensors as ``torch.tensor(...)``: their repr lacks the module."""
    return _TENSOR.sub("torch.tensor(", text)


# -- plain pytest: hooks and fixture re-exported by grader/checks/conftest.py ---------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("d2l-grader")
    group.addoption("--submission", help="the submission file to judge (.py or .ipynb)")
    group.addoption("--call-timeout", type=float, default=Limits.call_s,
                    help="seconds one probe call may take")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}(target, prop, points, hint, hidden): a graded check")


@pytest.fixture(scope="session")
def submission(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    for plugin in request.config.pluginmanager.get_plugins():
        if isinstance(plugin, GradingSession):  # the engine's run
            yield plugin.sandbox
            return
    yield from _standalone_sandbox(request.config, Path(str(request.node.fspath)))


def _standalone_sandbox(config: pytest.Config, start: Path) -> Iterator[Sandbox]:
    from grader.grading.sandbox_setup import start_launcher
    from grader.grading.submission import read_submission

    option = config.getoption("--submission")
    if not option:
        pytest.exit("give the submission to judge: --submission FILE", returncode=4)
    path = Path(option)
    launcher = start_launcher([path])
    sandbox = Sandbox(launcher, read_submission(path), Limits(call_s=config.getoption("--call-timeout")))
    try:
        yield sandbox
    finally:
        sandbox.close()
        launcher.close()
