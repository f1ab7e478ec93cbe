"""``grade release OUT``: the students' copy holds no solution and no hidden judge, says what
is kept back, and grades on its own once installed."""

from __future__ import annotations

import ast
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.course.check_inventory import declared_checks
from grader.course.release import ReleaseError, check_target, release, write_release
from grader.grading.exercises import all_exercises, checks_version
from tests.conftest import ROOT
from tests.course_env import fresh_environment, run, searchable_folder

EXERCISES = sorted(all_exercises())
TOP_LEVEL = {".gitignore", "MANIFEST.in", "Makefile", "README.md", "constraints.txt", "exercises", "grader",
             "pyproject.toml"}


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("release") / "course"
    write_release(out)
    return out


def text_of(path: Path) -> str:
    """A file's text; for a notebook its cells' sources, as code reads unescaped."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".ipynb":
        return "\n".join("".join(cell["source"]) for cell in json.loads(text)["cells"])
    return text


def release_texts(course: Path) -> dict[str, str]:
    return {str(p.relative_to(course)): text_of(p) for p in sorted(course.rglob("*")) if p.is_file()}


def public_source_text() -> str:
    """What the release is allowed to say: the stubs and the grader without hidden judges."""
    files = [*(ROOT / "exercises").iterdir(), *(ROOT / "grader").rglob("*")]
    return "\n".join(text_of(p) for p in files if p.is_file() and p.name != "hidden_judges.py"
                     and "__pycache__" not in p.parts)


def code_lines(source: str, skip_imports: bool = False) -> set[str]:
    """The stripped lines of the statements in ``source``'s functions and at its top level
    (docstrings, comments and, if asked, imports left out), long enough to be distinctive."""
    lines, found = source.splitlines(), set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef):
            for statement in node.body:
                docstring = isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)
                if docstring or isinstance(statement, ast.ClassDef) or (
                        skip_imports and isinstance(statement, ast.Import | ast.ImportFrom)):
                    continue
                first = min([statement.lineno, *(d.lineno for d in getattr(statement, "decorator_list", []))])
                found.update(line.strip() for line in lines[first - 1:statement.end_lineno])
    return {line for line in found if len(line) >= 12 and not line.startswith("#")}


def distinctive(lines: set[str]) -> set[str]:
    public = public_source_text()
    return {line for line in lines if line not in public}


# -- what the release holds -----------------------------------------------------------------


def test_the_release_holds_the_course_for_students_and_nothing_else(course):
    assert {p.name for p in course.iterdir()} == TOP_LEVEL
    assert sorted(p.name for p in (course / "exercises").iterdir()) == sorted(
        p.name for p in (ROOT / "exercises").iterdir() if p.suffix in (".py", ".ipynb"))
    names = {p.name for p in course.rglob("*")}
    assert "hidden_judges.py" not in names and "__pycache__" not in names
    for exercise in EXERCISES:
        assert (course / "grader" / "checks" / exercise / "judges.py").is_file()
        assert (course / "grader" / "checks" / exercise / "probes.py").is_file()


@pytest.mark.parametrize("exercise", EXERCISES)
def test_no_solution_code_is_in_the_release(course, exercise):
    lines = distinctive(code_lines((ROOT / "solutions" / f"{exercise}.py").read_text(encoding="utf-8")))
    assert len(lines) >= 5, "too few distinctive solution lines for this test to mean anything"
    leaks = {(line, name) for name, text in release_texts(course).items() for line in lines if line in text}
    assert not leaks


@pytest.mark.parametrize("exercise", EXERCISES)
def test_no_hidden_judge_is_in_the_release(course, exercise):
    path = all_exercises()[exercise].hidden_judges
    hidden = declared_checks(path)
    words = {c.function for c in hidden} | {c.prop for c in hidden} | {c.hint for c in hidden if c.hint}
    words |= distinctive(code_lines(path.read_text(encoding="utf-8"), skip_imports=True))
    assert len(words) >= 3 * len(hidden)
    leaks = {(word, name) for name, text in release_texts(course).items() for word in words if word in text}
    assert not leaks


@pytest.mark.parametrize("exercise", EXERCISES)
def test_each_exercise_has_a_manifest_of_its_hidden_checks(course, exercise):
    hidden = declared_checks(all_exercises()[exercise].hidden_judges)
    manifest_path = course / "grader" / "checks" / exercise / "hidden.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    assert set(manifest) == {"count", "points", "about"}  # numbers only: no names, no properties
    assert manifest["count"] == len(hidden) > 0
    assert manifest["points"] == sum(c.points for c in hidden)


def test_the_student_readme_says_how_to_grade(course):
    readme = (course / "README.md").read_text(encoding="utf-8")
    assert "make setup" in readme and "grade exercise1" in readme and "Hidden checks" in readme
    assert "solutions" not in readme


# -- where it may be written ------------------------------------------------------------------


def test_a_non_empty_folder_is_refused_without_force(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    result = CliRunner().invoke(release, [str(tmp_path)])
    assert result.exit_code == 2 and "--force" in result.output
    assert {p.name for p in tmp_path.iterdir()} == {"notes.txt"}


def test_force_replaces_an_earlier_release_and_keeps_the_rest(tmp_path):
    stale = tmp_path / "grader" / "checks" / "exercise3" / "hidden_judges.py"
    stale.parent.mkdir(parents=True)
    stale.write_text("# from an older release")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    result = CliRunner().invoke(release, [str(tmp_path), "--force"])
    assert result.exit_code == 0, result.output
    assert not stale.exists() and (tmp_path / ".git" / "HEAD").exists()
    assert "exercise3: 2 hidden check(s), 2 point(s) kept back" in result.output


def test_the_course_itself_is_never_a_target():
    for target in (ROOT, ROOT / "grader", ROOT / "grader" / "out", ROOT / "exercises"):
        with pytest.raises(ReleaseError, match="overwrite the course"):
            check_target(target, force=True)


# -- installed on its own -----------------------------------------------------------------------


@pytest.fixture
def searchable_tmp() -> Iterator[Path]:
    with searchable_folder("d2l-release-") as folder:
        yield folder


@pytest.mark.skipif(sys.platform != "linux", reason="the environment is built from links, as on Linux")
def test_the_installed_release_grades_with_public_checks_only(course, searchable_tmp, tmp_path):
    copy = searchable_tmp / "course"
    shutil.copytree(course, copy)
    python = fresh_environment(searchable_tmp / "env")
    installed = run([str(python), "-m", "pip", "install", "--quiet", "--no-index", "--no-deps",
                     "--no-build-isolation", "-e", str(copy)], cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr
    where = run([str(python), "-c", "import grader; print(grader.__file__)"], cwd=tmp_path)
    assert Path(where.stdout.strip()).is_relative_to(copy), where.stdout + where.stderr

    public = declared_checks(all_exercises()["exercise3"].judges)
    hidden = declared_checks(all_exercises()["exercise3"].hidden_judges)
    grade = str(python.parent / "grade")
    stub = run([grade, "exercise3"], cwd=copy)
    assert stub.returncode == 0, stub.stderr
    report = json.loads((copy / "reports" / "exercise3.json").read_text(encoding="utf-8"))
    assert report["score"] == 0 and report["max_score"] == sum(c.points for c in public)
    assert "Not run here: 2 hidden checks worth 2 points" in stub.stdout

    answer = tmp_path / "work" / "answer.py"  # a solution from outside the release
    answer.parent.mkdir()
    shutil.copy(ROOT / "solutions" / "exercise3.py", answer)
    solved = run([grade, "exercise3", str(answer), "--report", str(tmp_path / "solved.json")], cwd=copy)
    assert solved.returncode == 0, solved.stderr
    report = json.loads((tmp_path / "solved.json").read_text(encoding="utf-8"))
    assert [c["name"] for c in report["checks"]] == [c.name for c in public]
    assert all(c["status"] == "passed" and not c["hidden"] for c in report["checks"])
    assert report["score"] == report["max_score"] == sum(c.points for c in public)
    assert report["hidden_checks"] == {"count": len(hidden), "points": sum(c.points for c in hidden)}
    assert not [c.prop for c in hidden if c.prop in solved.stdout]
    assert "hidden checks worth 2 points, run when your work is submitted" in solved.stdout
    assert report["checks_version"] != checks_version()  # the release's own judges graded it
