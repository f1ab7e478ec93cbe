"""Gradescope's autograder archive and the GitHub Actions workflow.

The archive is built, unpacked into a root laid out like Gradescope's container
(ROOT/autograder/{source,submission,results}, run_autograder copied beside them) and its
run_autograder run there, on this machine's environment instead of the one setup.sh would
install (AUTOGRADER_PYTHON).

A submission the grader could not grade gets no results.json at all and a failed run:
Gradescope would record any score written there, a 0 included, as the student's grade.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader import cli as cli_module
from grader.grading.exercises import all_exercises
from grader.grading.sandbox_setup import hidden_paths
from grader.platforms import gradescope_run
from grader.platforms.github import workflow
from grader.report import CheckResult, HiddenChecks, Isolation, Report, Status
from tests.conftest import ROOT
from tests.course_env import gradescope_root as gradescope_layout
from tests.course_env import run_autograder

EXERCISE = "exercise3"
SOLUTION = ROOT / "solutions" / f"{EXERCISE}.py"
JUDGES = f"source/grader/checks/{EXERCISE}/hidden_judges.py"  # what Gradescope must keep secret


# -- Gradescope: the archive ----------------------------------------------------------


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gradescope") / "autograder.zip"
    result = CliRunner().invoke(cli_module.cli, ["gradescope-autograder", str(out), "--exercise", EXERCISE])
    assert result.exit_code == 0, result.output
    assert f"Wrote {out}" in result.output
    return out


def test_archive_holds_the_scripts_and_the_whole_grader_but_no_solutions_or_tests(archive):
    with zipfile.ZipFile(archive) as zipped:
        names = zipped.namelist()
        modes = {info.filename: info.external_attr >> 16 for info in zipped.infolist()}
        run_autograder = zipped.read("run_autograder").decode()
    assert {"setup.sh", "run_autograder", "pyproject.toml", "constraints.txt", "README.md"} <= set(names)
    for exercise in all_exercises().values():  # every exercise's judges, hidden checks included
        for judges in exercise.judge_files:
            assert judges.relative_to(ROOT).as_posix() in names
    assert f"grader/checks/{EXERCISE}/hidden_judges.py" in names
    assert "grader/platforms/gradescope_run.py" in names and "grader/checks/pytest.ini" in names
    assert not [n for n in names if n.startswith(("solutions/", "tests/", "exercises/", ".git"))]
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert modes["run_autograder"] & stat.S_IXUSR and modes["setup.sh"] & stat.S_IXUSR
    assert f'EXERCISE="{EXERCISE}"' in run_autograder and "@" + "EXERCISE@" not in run_autograder


def test_archive_is_reproducible(archive, tmp_path):
    again = tmp_path / "again.zip"
    assert CliRunner().invoke(cli_module.cli, ["gradescope-autograder", str(again),
                                               "--exercise", EXERCISE]).exit_code == 0
    assert again.read_bytes() == archive.read_bytes()


def test_scripts_are_valid_bash_and_setup_installs_the_pinned_cpu_environment(archive, tmp_path):
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(tmp_path, ["setup.sh", "run_autograder"])
    for script in ("setup.sh", "run_autograder"):
        checked = subprocess.run(["bash", "-n", str(tmp_path / script)], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
    setup = (tmp_path / "setup.sh").read_text()
    assert "python3.11 -m venv" in setup
    assert '-c "$SOURCE/constraints.txt"' in setup
    assert "--extra-index-url \"$TORCH_INDEX\"" in setup and "download.pytorch.org/whl/cpu" in setup
    assert "-e " not in setup  # a plain install: the grader must not run from the hidden source


def test_a_student_release_cannot_become_an_autograder(tmp_path, monkeypatch):
    monkeypatch.setattr("grader.platforms.gradescope.withheld_checks", lambda name: HiddenChecks(2, 2.0))
    result = CliRunner().invoke(cli_module.cli, ["gradescope-autograder", str(tmp_path / "a.zip"),
                                                 "--exercise", EXERCISE])
    assert result.exit_code == 2 and "hidden checks" in result.output
    assert not (tmp_path / "a.zip").exists()


def test_unknown_exercise_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(cli_module.cli, ["gradescope-autograder", str(tmp_path / "a.zip"),
                                                 "--exercise", "exercise99"])
    assert result.exit_code == 2
    assert not (tmp_path / "a.zip").exists()


# -- Gradescope: run_autograder in a container-like root -------------------------------


@pytest.fixture
def gradescope_root(archive):
    with gradescope_layout(archive) as root:
        yield root


def graded(root: Path, python: str = sys.executable) -> dict:
    """The results.json of a run that graded (exit status 0)."""
    done = run_autograder(root, python)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads((root / "results" / "results.json").read_text())


def not_graded(root: Path, python: str = sys.executable) -> str:
    """The output of a run that could not grade: it failed, and left no results.json."""
    done = run_autograder(root, python)
    assert done.returncode != 0, done.stdout + done.stderr
    assert not (root / "results" / "results.json").exists(), done.stdout
    return done.stdout + done.stderr


STALE = '{"score": 1000.0, "output": "left from an earlier run"}\n'


@pytest.mark.slow
def test_reference_solution_scores_full_marks(gradescope_root):
    shutil.copy(SOLUTION, gradescope_root / "submission")
    results = graded(gradescope_root)
    assert results["tests"] and all(test["status"] == "passed" for test in results["tests"])
    assert results["score"] == sum(test["max_score"] for test in results["tests"]) == 20
    assert f"Grading {EXERCISE}.py" in results["output"]


HOSTILE = '''
import os
ROOT = {root!r}
leaked = False
try:  # the hidden checks
    leaked = "def test_" in open(ROOT + "/{judges}").read()
except OSError:
    pass
for name in ("results.json", "forged"):  # the verdict
    try:
        with open(ROOT + "/results/" + name, "w") as forged:
            forged.write('{{"score": 1000.0, "output": "forged"}}')
    except OSError:
        pass
if leaked:  # had the judges been readable, the solution would have counted
    exec({solution!r})
'''


@pytest.mark.slow
def test_submission_cannot_read_the_grader_nor_touch_the_results(gradescope_root):
    judges = gradescope_root / JUDGES
    before = hashlib.sha256(judges.read_bytes()).hexdigest()
    hostile = HOSTILE.format(root=str(gradescope_root), judges=JUDGES, solution=SOLUTION.read_text())
    (gradescope_root / "submission" / f"{EXERCISE}.py").write_text(hostile)
    results = graded(gradescope_root)
    assert results["score"] == 0 and len(results["tests"]) > 1  # the grader's results, not forged ones
    assert "forged" not in json.dumps(results)
    assert sorted(p.name for p in (gradescope_root / "results").iterdir()) == ["results.json"]
    assert hashlib.sha256(judges.read_bytes()).hexdigest() == before


def test_empty_submission_scores_zero_with_a_message(gradescope_root):
    results = graded(gradescope_root)  # the student's doing: a grade, with what to submit
    assert results["score"] == 0
    assert "no .py or .ipynb file" in results["output"] and f"{EXERCISE}.py" in results["output"]


def test_a_broken_environment_fails_the_run_and_leaves_no_results(gradescope_root):
    shutil.copy(SOLUTION, gradescope_root / "submission")
    (gradescope_root / "results" / "results.json").write_text(STALE)
    missing = gradescope_root / "no-such-python"
    output = not_graded(gradescope_root, python=str(missing))
    assert str(missing) in output and "no results.json" in output and "Regrade" in output


def fake_python(folder: Path, body: str) -> str:
    """A stand-in for the grader's interpreter: a script that runs ``body``."""
    script = folder / "fake-python"
    script.write_text(f"#!/usr/bin/env bash\n{body}\n")
    script.chmod(0o755)
    return str(script)


@pytest.mark.parametrize(("body", "status"), [
    # results.json written, then a failure: whatever it holds is no grade
    ('echo \'{"score": 0.0}\' > "$AUTOGRADER_ROOT/results/results.json"; exit 3', 3),
    ("exit 0", 1),  # "graded", but no results.json: still a failed run, not a success
])
def test_run_autograder_succeeds_only_with_results_from_a_run_that_graded(gradescope_root, body, status):
    done = run_autograder(gradescope_root, fake_python(gradescope_root.parent, body))
    assert done.returncode == status, done.stdout + done.stderr
    assert not (gradescope_root / "results" / "results.json").exists()


def test_hidden_paths_take_extra_folders(tmp_path):
    extra = [tmp_path / "source", tmp_path / "results"]
    for path in extra:
        path.mkdir()
    assert {str(path) for path in extra} <= set(hidden_paths([], extra))
    assert not {str(path) for path in extra} & set(hidden_paths([]))


# -- Gradescope: the grading module in this process --------------------------------------


class _NoLauncher:
    def close(self) -> None:
        pass


@pytest.fixture
def local_root(tmp_path, monkeypatch):
    for folder in ("submission", "results"):
        (tmp_path / folder).mkdir()
    monkeypatch.setattr(gradescope_run, "default_launcher", lambda *args, **kwargs: _NoLauncher())
    return tmp_path


def results_of(root: Path) -> dict:
    return json.loads((root / "results" / "results.json").read_text())


def test_a_grader_fault_writes_no_results_and_exits_3(local_root, monkeypatch, capsys):
    shutil.copy(SOLUTION, local_root / "submission" / "mine.py")
    (local_root / "results" / "results.json").write_text(STALE)
    faulty = CheckResult("CenteredLayer: x", "CenteredLayer", Status.ERROR, 0.0, 1.0,
                         message="grader error: boom", fault="grader")
    report = Report(EXERCISE, "mine.py", "0" * 64, (faulty,), Isolation("full"), "0", "0", {})
    monkeypatch.setattr("grader.grading.engine.grade", lambda *args, **kwargs: report)
    assert gradescope_run.run(local_root, EXERCISE) == 3
    assert not (local_root / "results" / "results.json").exists()
    output = capsys.readouterr().out  # the autograder output, which the staff see
    assert "boom" in output and "No results.json" in output


def test_a_crash_writes_no_results_and_exits_3(local_root, monkeypatch, capsys):
    shutil.copy(SOLUTION, local_root / "submission")

    def crash(*args, **kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr("grader.grading.engine.grade", crash)
    assert gradescope_run.run(local_root, EXERCISE) == 3
    assert not (local_root / "results" / "results.json").exists()
    captured = capsys.readouterr()
    assert "RuntimeError: the disk is full" in captured.out + captured.err
    assert "No results.json" in captured.out


def test_an_unknown_exercise_writes_no_results_and_exits_2(local_root, capsys):
    assert gradescope_run.main(["--root", str(local_root), "--exercise", "exercise99"]) == 2
    assert not (local_root / "results" / "results.json").exists()
    assert "exercise99" in capsys.readouterr().out


def test_no_file_to_grade_is_the_students_doing_and_scores_zero(local_root):
    for name in ("notes.py", "draft.ipynb"):
        (local_root / "submission" / name).write_text("")
    assert gradescope_run.run(local_root, EXERCISE) == 0
    results = results_of(local_root)
    assert results["score"] == 0 and "rename" in results["output"] and "notes.py" in results["output"]


def test_the_submission_is_found_by_name_newest_first_or_alone(tmp_path):
    exercise = all_exercises()[EXERCISE]
    (tmp_path / "notes.py").write_text("")
    assert gradescope_run.find_submission(tmp_path, exercise)[0] == tmp_path / "notes.py"  # the only one
    (tmp_path / "other.ipynb").write_text("")
    chosen, note = gradescope_run.find_submission(tmp_path, exercise)
    assert chosen is None and "notes.py" in note and "rename" in note
    nested = tmp_path / "repo" / "exercises"
    nested.mkdir(parents=True)
    for suffix, age in ((".py", 60), (".ipynb", 0)):
        (nested / f"{EXERCISE}{suffix}").write_text("")
        os.utime(nested / f"{EXERCISE}{suffix}", (1e9 - age, 1e9 - age))
    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / ".ipynb_checkpoints" / f"{EXERCISE}.ipynb").write_text("")
    chosen, note = gradescope_run.find_submission(tmp_path, exercise)
    assert chosen == nested / f"{EXERCISE}.ipynb" and "more recently saved" in note


# -- GitHub Actions --------------------------------------------------------------------


def init_ci(*args: str):
    return CliRunner().invoke(cli_module.cli, ["init-ci", *args])


def test_init_ci_writes_a_workflow_that_grades_each_exercise(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = init_ci("--exercise", "exercise3", "--exercise", "exercise1", "--fail-under", "80")
    assert result.exit_code == 0, result.output
    text = (tmp_path / ".github" / "workflows" / "grade.yml").read_text()
    for exercise in ("exercise3", "exercise1"):
        assert (f"grade {exercise} --fail-under 80 --format markdown --format junit "
                f"--output-dir reports/{exercise}") in text
    assert "exercise2" not in text and "@" + "STEPS@" not in text
    check_workflow(text, ["exercise3", "exercise1"])


def test_init_ci_refuses_to_overwrite_without_force(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert init_ci("--exercise", "exercise3").exit_code == 0
    path = tmp_path / ".github" / "workflows" / "grade.yml"
    path.write_text("mine\n")
    refused = init_ci()
    assert refused.exit_code == 2 and "--force" in refused.output
    assert path.read_text() == "mine\n"
    assert init_ci("--force").exit_code == 0
    text = path.read_text()
    assert all(f"grade {exercise} --format markdown" in text for exercise in all_exercises())  # default: all


def check_workflow(text: str, exercises: list[str]) -> None:
    """The workflow's structure: parsed where PyYAML is installed, else line by line."""
    try:
        import yaml
    except ImportError:
        yaml = None
    assert "\t" not in text
    if yaml is None:
        _check_workflow_text(text, exercises)
        return
    data = yaml.safe_load(text)
    events = data.get("on", data.get(True))  # YAML 1.1 reads a bare `on` as True
    assert set(events) == {"push", "pull_request"}
    steps = data["jobs"]["grade"]["steps"]
    setup = next(step for step in steps if step.get("uses", "").startswith("actions/setup-python"))
    assert setup["with"]["python-version"] == "3.11"
    install = next(step for step in steps if step.get("id") == "install")
    assert "-c constraints.txt" in install["run"] and "whl/cpu -e ." in install["run"]
    grading = [step for step in steps if step.get("name", "").startswith("Grade ")]
    assert [step["name"] for step in grading] == [f"Grade {exercise}" for exercise in exercises]
    assert all("steps.install.outcome == 'success'" in step["if"] for step in grading)
    upload = steps[-1]
    assert upload["uses"].startswith("actions/upload-artifact") and upload["if"] == "always()"
    assert upload["with"]["path"] == "reports/"


def _check_workflow_text(text: str, exercises: list[str]) -> None:
    lines = text.splitlines()
    assert "on:" in lines and "  push:" in lines and "  pull_request:" in lines
    assert '          python-version: "3.11"' in lines
    assert any("pip install -c constraints.txt --extra-index-url https://download.pytorch.org/whl/cpu -e ."
               in line for line in lines)
    names = [line.strip() for line in lines if line.strip().startswith("- name: Grade ")]
    assert names == [f"- name: Grade {exercise}" for exercise in exercises]
    upload = lines.index("      - name: Upload the reports")
    assert lines[upload + 1:upload + 3] == ["        if: always()",
                                            "        uses: actions/upload-artifact@v5"]
    assert "          path: reports/" in lines[upload:]
    for line in lines:  # block structure: two-space indents throughout
        assert (len(line) - len(line.lstrip(" "))) % 2 == 0, line


def test_workflow_without_fail_under_passes_no_threshold():
    text = workflow(["exercise3"])
    assert "grade exercise3 --format markdown --format junit --output-dir reports/exercise3" in text
    assert not [line for line in text.splitlines() if "grade exercise3 --fail-under" in line]
