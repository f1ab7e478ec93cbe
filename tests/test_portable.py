"""``--isolation portable``: what students on macOS and Windows get, tested here on Linux.

Each worker is a fresh interpreter that makes none of the POSIX-only calls (no fork,
session, signal, ``resource``, namespaces): the scores and verdicts must be those of full
isolation, hangs and crashes must still be contained, and the report must say ``partial``
and name what is missing. (No macOS or Windows machine runs these here; the workflow
``.github/workflows/portable.yml`` runs them there once the project is hosted on GitHub.)
"""

from __future__ import annotations

import ast
import json
import os
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.grading.engine import grade
from grader.grading.exercises import all_exercises
from grader.grading.sandbox_setup import start_launcher
from grader.report import Report
from grader.sandbox import launchers
from grader.sandbox.client import Limits
from tests.conftest import ROOT, SUBMISSIONS

# A spawned worker imports torch before it says hello, which load_s bounds: seconds on a
# busy machine. call_s stays short so that the infinite loop costs little.
PORTABLE_LIMITS = Limits(call_s=5.0, load_s=60.0)
EXERCISES = sorted(all_exercises())
# exercise3 fixtures whose verdicts must not depend on the isolation: passes, failures,
# a missing name, syntax, sys.exit, os._exit, an infinite loop, a stub.
SAME_VERDICTS = ["centered_sum.py", "tensorreduction_diagonal.py", "mylinear_no_relu.py", "missing_name.py",
                 "syntax_error.py", "sys_exit.py", "os_exit.py", "infinite_loop_forward.py", "stub.py",
                 "alt_loops.py"]
# What a portable worker must never call: POSIX-only, or Linux-only.
POSIX_ONLY = {"fork", "setsid", "killpg", "SIGKILL", "resource", "fcntl", "fchmod", "sched_setaffinity",
              "sched_getaffinity", "prctl", "libc", "unshare", "geteuid", "setuid", "pwd", "seccomp",
              "start_new_session"}


@pytest.fixture(scope="module")
def portable():
    launcher = start_launcher(isolation="portable")
    yield launcher
    launcher.close()


def grade_portable(launcher, path: Path, exercise: str = "exercise3") -> Report:
    return grade(Path(path), all_exercises()[exercise], limits=PORTABLE_LIMITS, launcher=launcher)


def verdicts(report: Report) -> dict:
    """The report without what may differ between isolations: timings and the isolation."""
    data = report.to_dict()
    data.pop("timings")
    data.pop("isolation")
    for check in data["checks"]:
        check.pop("duration_s")
    return data


# -- the choice ----------------------------------------------------------------------


@pytest.mark.parametrize("platform", ["darwin", "win32", "cygwin"])
def test_portable_is_chosen_by_itself_off_linux(monkeypatch, platform):
    monkeypatch.setattr(sys, "platform", platform)
    level, why = launchers.choose_isolation(None)
    assert level == "portable" and platform in why
    launcher = launchers.default_launcher(["grader.checks.exercise3.probes"], [])  # starts nothing yet
    assert isinstance(launcher, launchers.SpawnLauncher) and launcher.portable
    assert launchers.choose_isolation("portable") == ("portable", "")


def test_full_is_the_default_on_linux_and_where_asked(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    assert launchers.choose_isolation(None) == ("full", "")
    monkeypatch.setattr(sys, "platform", "darwin")  # asked for: the worker server, at the user's risk
    assert launchers.choose_isolation("full") == ("full", "")


def test_full_cannot_be_had_without_fork(monkeypatch):
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.delattr(os, "fork", raising=False)
    level, why = launchers.choose_isolation("full")
    assert level == "portable" and "no fork" in why
    with pytest.raises(ValueError, match="isolation 'none'"):
        launchers.choose_isolation("none")


def test_the_portable_worker_makes_no_posix_only_call():
    """Its module names none of them (the full path's calls live in confine, never imported
    for use here but for its constants and the Confinement record)."""
    source = (ROOT / "grader" / "sandbox" / "portable.py").read_text(encoding="utf-8")
    nodes = list(ast.walk(ast.parse(source)))
    names = {node.id for node in nodes if isinstance(node, ast.Name)}
    names |= {node.attr for node in nodes if isinstance(node, ast.Attribute)}
    imports = [node for node in nodes if isinstance(node, ast.Import | ast.ImportFrom)]
    names |= {alias.name for node in imports for alias in node.names}
    assert not names & POSIX_ONLY, names & POSIX_ONLY


# -- grading -------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="reads POSIX limits and sessions")
def test_a_portable_worker_is_a_plain_child_with_no_limits_and_says_so(portable, tmp_path):
    """On Linux this shows the path really is the portable one: the worker is the grader's
    own child in the grader's session (no fork chain, no setsid) with the grader's limits."""
    import resource

    cpu = resource.getrlimit(resource.RLIMIT_CPU)
    body = (ROOT / "solutions" / "exercise3.py").read_text(encoding="utf-8")
    path = tmp_path / "plain_child.py"
    path.write_text(textwrap.dedent(f"""
        import os, resource
        assert os.getppid() == {os.getpid()}, "not the grader's own child"
        assert os.getsid(0) == {os.getsid(0)}, "in a session of its own"
        assert resource.getrlimit(resource.RLIMIT_CPU) == {cpu!r}, "limits were set"
    """) + body, encoding="utf-8")
    report = grade_portable(portable, path)
    assert report.score == 20, report.problem
    isolation = report.isolation
    assert isolation.level == "partial"
    assert {"full isolation", "forkserver", "network", "hidden files", "resource limits", "seccomp",
            "process lifetime", "user"} <= set(isolation.missing)
    assert {"process", "working directory", "environment", "stdio"} <= set(isolation.in_force)
    assert not set(isolation.in_force) & set(isolation.missing)


@pytest.mark.slow
@pytest.mark.parametrize("exercise", EXERCISES)
def test_solutions_score_full_marks_and_stubs_zero(portable, exercise):
    solved = grade_portable(portable, ROOT / "solutions" / f"{exercise}.py", exercise)
    assert solved.score == solved.max_score > 0, (solved.problem, [c.message for c in solved.checks
                                                                   if c.score < c.max_score])
    stub = grade_portable(portable, ROOT / "exercises" / f"{exercise}.py", exercise)
    assert stub.score == 0, stub.problem
    assert solved.isolation.level == stub.isolation.level == "partial"


@pytest.mark.slow
def test_an_infinite_loop_and_crashes_are_contained(portable, tmp_path):
    looping = grade_portable(portable, SUBMISSIONS / "exercise3" / "infinite_loop_forward.py")
    timed_out = [c for c in looping.checks if "time limit" in c.message]
    assert timed_out and looping.score is not None
    exiting = grade_portable(portable, SUBMISSIONS / "exercise3" / "os_exit.py")
    assert exiting.score == 0 and "ended the worker process" in exiting.problem, exiting.problem
    segfault = tmp_path / "segfault.py"
    segfault.write_text("import ctypes\nctypes.string_at(0)\n"
                        + (ROOT / "solutions" / "exercise3.py").read_text(encoding="utf-8"), encoding="utf-8")
    crashed = grade_portable(portable, segfault)
    assert crashed.score == 0 and ("segmentation fault" in crashed.problem  # Windows: access violation
                                   or "access violation" in crashed.problem), crashed.problem
    after = grade_portable(portable, ROOT / "solutions" / "exercise3.py")  # nothing left broken
    assert after.score == 20, after.problem


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="full isolation, to compare with, is Linux's default")
@pytest.mark.parametrize("fixture", SAME_VERDICTS)
def test_verdicts_equal_full_isolations(portable, grade_file, fixture):
    path = SUBMISSIONS / "exercise3" / fixture
    full = grade_file(path, limits=PORTABLE_LIMITS)  # the session's worker server (full isolation)
    assert full.isolation.level in ("full", "partial") and "full isolation" not in full.isolation.missing
    assert verdicts(grade_portable(portable, path)) == verdicts(full)


@pytest.mark.slow
def test_the_command_line_takes_isolation_portable(tmp_path):
    from grader import cli

    report_path = tmp_path / "report.json"
    args = ["exercise3", str(ROOT / "solutions" / "exercise3.py"), "--isolation", "portable",
            "--timeout", "30", "--report", str(report_path)]
    result = CliRunner().invoke(cli.cli, args)
    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert report["score"] == 20
    assert report["isolation"]["level"] == "partial"
    assert "full isolation" in report["isolation"]["missing"]
