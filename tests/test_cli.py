"""The ``grade`` command as students and CI use it: table, report file, exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from grader import cli as cli_module
from grader.report import CheckResult, Isolation, Report, Status
from tests.conftest import ROOT, SUBMISSIONS

GRADE = [sys.executable, "-m", "grader"]
REQUIRED_KEYS = {"exercise", "score", "max_score", "checks", "grader_version", "submission_sha256",
                 "timings", "isolation", "checks_version"}
CHECK_KEYS = {"name", "target", "status", "score", "max_score", "message"}


def run(*args: str, cwd=ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GRADE, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_grade_list_names_the_exercises():
    result = CliRunner().invoke(cli_module.cli, ["list"])
    assert result.exit_code == 0
    assert "exercise3  Custom layers" in result.output


def test_grading_a_file_prints_the_table_and_writes_the_json_report(tmp_path):
    report_path = tmp_path / "out" / "r.json"
    result = run("exercise3", "tests/submissions/exercise3/centered_sum.py", "--report", str(report_path))
    assert result.returncode == 0, result.stderr
    assert "CenteredLayer" in result.stdout and "output has zero mean" in result.stdout
    assert "✗" in result.stdout and "Score: 17/20 (85%)" in result.stdout
    assert f"Report written to {report_path}" in result.stderr
    data = json.loads(report_path.read_text())
    assert set(data) >= REQUIRED_KEYS
    assert data["score"] == 17 and data["max_score"] == 20 and data["exercise"] == "exercise3"
    for check in data["checks"]:
        assert set(check) >= CHECK_KEYS
        assert check["status"] in {"passed", "failed", "error", "not run"}
    failed = [c for c in data["checks"] if c["status"] == "failed"]
    # X - X.sum(): neither zero mean nor the mean's gradient
    assert [c["target"] for c in failed] == ["CenteredLayer", "CenteredLayer"]
    assert not list(report_path.parent.glob(".r.json.*"))  # no temporary file left behind


@pytest.mark.parametrize(("threshold", "code"), [("80", 0), ("95", 1)])
def test_fail_under_turns_a_low_score_into_exit_1(tmp_path, threshold, code):
    result = run("exercise3", "tests/submissions/exercise3/centered_sum.py",
                 "--report", str(tmp_path / "r.json"), "--fail-under", threshold)
    assert result.returncode == code, result.stderr


def test_usage_errors_exit_2():
    assert run("exercise3", "no/such/file.py").returncode == 2
    assert run("exercise99").returncode == 2


def test_default_submission_is_found_and_named(tmp_path):
    course = tmp_path / "course"
    (course / "exercises").mkdir(parents=True)
    shutil.copy(ROOT / "exercises" / "exercise3.py", course / "exercises")
    shutil.copy(SUBMISSIONS / "exercise3" / "solution_notebook.ipynb",
                course / "exercises" / "exercise3.ipynb")
    past = time.time() - 60
    os.utime(course / "exercises" / "exercise3.py", (past, past))
    result = run("exercise3", cwd=course)
    assert result.returncode == 0, result.stderr
    assert "Grading exercises/exercise3.ipynb" in result.stderr
    assert "(the others (exercise3.py) are the unchanged stub)" in result.stderr
    assert "Score: 20/20" in result.stdout
    assert json.loads((course / "reports" / "exercise3.json").read_text())["score"] == 20


def test_a_grader_fault_claims_no_score_and_exits_3(tmp_path, monkeypatch):
    faulty = CheckResult("CenteredLayer: x", "CenteredLayer", Status.ERROR, 0.0, 1.0,
                         message="grader error (not your fault; tell your instructor): boom", fault="grader")
    report = Report("exercise3", "f.py", "0" * 64, (faulty,), Isolation("full"), "0", "0", {})
    assert report.score is None and not report.gradable
    monkeypatch.setattr("grader.grading.engine.grade", lambda *args, **kwargs: report)
    result = CliRunner().invoke(cli_module.cli, ["exercise3", str(ROOT / "solutions" / "exercise3.py"),
                                                 "--report", str(tmp_path / "r.json")])
    assert result.exit_code == 3
    assert json.loads((tmp_path / "r.json").read_text())["score"] is None
    assert "No score" in result.output


def test_a_lone_surrogate_in_a_students_error_is_written_not_a_crash(tmp_path):
    source = (ROOT / "solutions" / "exercise3.py").read_text()
    broken = tmp_path / "exercise3.py"
    broken.write_text(source.replace("return X - X.mean()", 'raise ValueError("bad \\ud800 value")'))
    result = run("exercise3", str(broken), "--report", str(tmp_path / "r.json"), "--format", "junit",
                 "--format", "markdown", "--output-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    messages = [c["message"] for c in json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["checks"]]
    # The lone surrogate is dropped (no UTF-8 file or terminal can hold it), the rest kept.
    assert any("ValueError: bad  value" in m for m in messages)
    assert (tmp_path / "junit.xml").exists() and (tmp_path / "summary.md").exists()
