"""README's "Running a course end to end", run as written, for one exercise and one student.

    instructor   grade release OUT; grade init-ci in OUT; grade gradescope-autograder
    student      the release installed on its own; grade exercise3 (public checks only)
    CI           the workflow's own grade command line, as it runs on a push
    Gradescope   the archive's run_autograder on the submitted file (simulated as in
                 test_platforms: Gradescope's folders, this machine's environment)

The student's answer is a realistic, partly wrong file: it fails one public check (so no
score is a maximum that any grader would give) and passes the hidden ones.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader.course.check_inventory import DeclaredCheck, declared_checks
from grader.grading.exercises import all_exercises
from tests.conftest import ROOT
from tests.course_env import fresh_environment, gradescope_root, run, run_autograder, searchable_folder

EXERCISE = "exercise3"
ANSWER = ROOT / "tests" / "submissions" / EXERCISE / "mylinear_data.py"
FAILED = "MyLinear: gradients reach weight and bias"  # the answer's one failing check, a public one
INSTRUCTOR_GRADE = str(Path(sys.executable).parent / "grade")  # the full grader, hidden checks included
PASS_MARK = "80"

# Eight runs of `grade` and a fresh environment: about 45 s on two cores.
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(sys.platform != "linux",
                                 reason="the environment is built from links, as on Linux")]


@dataclass
class CIRun:
    """One run of the workflow's grading step, and what it left."""

    done: subprocess.CompletedProcess[str]
    junit: str  # reports/<exercise>/junit.xml
    markdown: str  # reports/<exercise>/summary.md
    step_summary: str  # what it appended to $GITHUB_STEP_SUMMARY


@dataclass
class Course:
    """What each party ends up with."""

    ci_command: list[str]  # the workflow's grade command line for EXERCISE
    ci_on_template: CIRun  # on the untouched release, as first pushed
    local: subprocess.CompletedProcess[str]  # the student's `grade exercise3`
    local_report: dict
    ci: CIRun  # on the student's answer
    gradescope: dict  # results.json
    full_report: dict  # the full grader's report on the same file


@pytest.fixture(scope="module")
def course() -> Course:
    with searchable_folder("d2l-walkthrough-") as work:
        release = work / "course"
        ok(run([INSTRUCTOR_GRADE, "release", str(release)], cwd=work))
        ok(run([INSTRUCTOR_GRADE, "init-ci", "--fail-under", PASS_MARK], cwd=release))
        ci_command = workflow_command(release / ".github" / "workflows" / "grade.yml", EXERCISE)
        student_bin = install(release, work / "student-env")
        ci_on_template = ci_run(ci_command, release, student_bin)

        answer = release / "exercises" / f"{EXERCISE}.py"
        shutil.copy(ANSWER, answer)  # the student's work, saved after the notebook: the one graded
        local = ok(run([str(student_bin / "grade"), EXERCISE], cwd=release))
        local_report = read_json(release / "reports" / f"{EXERCISE}.json")  # before CI's run replaces it
        ci = ci_run(ci_command, release, student_bin)

        archive = work / "autograder.zip"
        ok(run([INSTRUCTOR_GRADE, "gradescope-autograder", str(archive), "--exercise", EXERCISE], cwd=work))
        gradescope = on_gradescope(archive, answer)
        ok(run([INSTRUCTOR_GRADE, EXERCISE, str(answer), "--report", str(work / "full.json")], cwd=work))
        return Course(ci_command, ci_on_template, local, local_report, ci, gradescope,
                      read_json(work / "full.json"))


def ok(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def install(release: Path, folder: Path) -> Path:
    """The release installed, as `make setup` does, into an environment that holds no other
    grader; the folder of its commands."""
    python = fresh_environment(folder)
    ok(run([str(python), "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", "--no-build-isolation",
            "-e", str(release)], cwd=folder))
    where = ok(run([str(python), "-c", "import grader; print(grader.__file__)"], cwd=folder))
    assert Path(where.stdout.strip()).is_relative_to(release)
    return python.parent


def workflow_command(workflow: Path, exercise: str) -> list[str]:
    """The command line the workflow's step for ``exercise`` grades with."""
    lines = [line.strip() for line in workflow.read_text(encoding="utf-8").splitlines()
             if line.strip().startswith(f"grade {exercise} ")]
    assert len(lines) == 1, lines
    return shlex.split(lines[0].removesuffix("|| status=$?"))


def ci_run(command: list[str], release: Path, bin_folder: Path) -> CIRun:
    """``command`` run as the workflow runs it: in the checkout, with the installed grader on
    PATH and GitHub's step summary file set."""
    summary = release.parent / "step-summary.md"
    summary.write_text("")
    done = run(command, cwd=release, PATH=f"{bin_folder}:{os.environ['PATH']}",
               GITHUB_STEP_SUMMARY=str(summary))
    reports = release / command[command.index("--output-dir") + 1]
    return CIRun(done, (reports / "junit.xml").read_text(encoding="utf-8"),
                 (reports / "summary.md").read_text(encoding="utf-8"), summary.read_text(encoding="utf-8"))


def on_gradescope(archive: Path, submitted: Path) -> dict:
    """results.json of the archive's run_autograder on ``submitted``."""
    with gradescope_root(archive) as root:
        shutil.copy(submitted, root / "submission" / submitted.name)
        ok(run_autograder(root))
        return read_json(root / "results" / "results.json")


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def public_checks() -> list[DeclaredCheck]:
    return declared_checks(all_exercises()[EXERCISE].judges)


def hidden_checks() -> list[DeclaredCheck]:
    return declared_checks(all_exercises()[EXERCISE].hidden_judges)


def names(checks: list[DeclaredCheck]) -> list[str]:
    return [check.name for check in checks]


def score_line(report: dict) -> str:
    """The Markdown summary's score line for ``report``."""
    score, most = report["score"], report["max_score"]
    return f"**Score: {score:g}/{most:g} ({100 * score / most:.0f}%)**"


# -- instructor and CI ----------------------------------------------------------------------


def test_the_workflow_grades_with_the_pass_mark_and_both_renderings(course):
    assert course.ci_command == ["grade", EXERCISE, "--fail-under", PASS_MARK, "--format", "markdown",
                                 "--format", "junit", "--output-dir", f"reports/{EXERCISE}"]


def test_ci_fails_the_untouched_template_below_the_pass_mark(course):
    run_ = course.ci_on_template
    assert run_.done.returncode == 1, run_.done.stdout + run_.done.stderr
    assert f"below --fail-under {PASS_MARK}%" in run_.done.stderr
    assert "**Score: 0/" in run_.markdown and "**Score: 0/" in run_.step_summary


# -- the student, locally ---------------------------------------------------------------------


def test_the_student_grades_with_public_checks_and_hears_of_the_hidden_ones(course):
    report, hidden = course.local_report, hidden_checks()
    points = sum(check.points for check in hidden)
    assert f"Grading exercises/{EXERCISE}.py" in course.local.stderr
    assert [check["name"] for check in report["checks"]] == names(public_checks())
    assert report["hidden_checks"] == {"count": len(hidden), "points": points}
    lost = {check["name"]: check["max_score"] - check["score"] for check in report["checks"]
            if check["status"] != "passed"}
    assert lost == {FAILED: 2} and report["score"] == report["max_score"] - 2
    assert f"Not run here: {len(hidden)} hidden checks worth {points:g} points" in course.local.stdout
    assert not [check.prop for check in hidden if check.prop in course.local.stdout]


# -- CI, on the student's push ----------------------------------------------------------------


def test_ci_passes_the_answer_and_writes_junit_and_markdown(course):
    run_ = course.ci
    assert run_.done.returncode == 0, run_.done.stdout + run_.done.stderr  # 16/18 is above the pass mark
    cases = ET.fromstring(run_.junit).findall("./testsuite/testcase")
    assert [case.get("name") for case in cases] == names(public_checks())  # one per public check
    assert [case.get("name") for case in cases if case.find("failure") is not None] == [FAILED]
    assert score_line(course.local_report) in run_.markdown
    assert score_line(course.local_report) in run_.step_summary


# -- Gradescope, on submission ----------------------------------------------------------------


def test_gradescope_grades_with_every_check_and_hides_the_hidden_ones_until_published(course):
    tests = course.gradescope["tests"]
    public, hidden = names(public_checks()), names(hidden_checks())
    assert [test["name"] for test in tests] == public + hidden
    visibilities = ["visible"] * len(public) + ["after_published"] * len(hidden)
    assert [test["visibility"] for test in tests] == visibilities
    assert [test["name"] for test in tests if test["status"] == "failed"] == [FAILED]


def test_gradescope_gives_the_full_graders_score_whose_public_part_the_student_saw(course):
    results, full = course.gradescope, course.full_report
    assert (results["score"], results["max_score"]) == (full["score"], full["max_score"])
    assert results["score"] < results["max_score"]
    public = sum(test["score"] for test in results["tests"] if test["visibility"] == "visible")
    assert public == course.local_report["score"]
