"""The renderings of a report: the terminal, JUnit XML, Markdown, Gradescope's results.json, CSV."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

import pytest
import xmlschema
from click.testing import CliRunner

from grader import cli as cli_module
from grader.render import files, text, to_csv, to_gradescope, to_junit, to_markdown, to_terminal
from grader.report import CheckResult, Isolation, Report, Status
from tests.conftest import ROOT

SCHEMA = xmlschema.XMLSchema(ROOT / "tests" / "data" / "junit.xsd")
WHEN = datetime(2026, 9, 1, 12, 30, 5)
HOSTILE = ("nul\x00 bell\x07 \x1b[31mred\x1b[0m ]]> <script>x</script> a|b & 'q' \"dq\"\r\n"
           "next line \ud800 \ufffe")
TRACEBACK = ('grader error (not your fault; tell your instructor): KeyError: \'weight\'\n'
             'Traceback (most recent call last):\n'
             '  File "/work/main/grader/checks/exercise3/judges.py", line 42, in test_mylinear\n'
             '    weight = result["parameters"]["weight"]\n'
             "KeyError: 'weight'")
FRAME_MARKS = ("Traceback", 'File "/', "judges.py")

PASSED = CheckResult("MyLinear: has parameters", "MyLinear", Status.PASSED, 2.0, 2.0, duration_s=0.0123)
FAILED = CheckResult("CenteredLayer: output has zero mean", "CenteredLayer", Status.FAILED, 0.0, 2.0,
                     message="CenteredLayer()(X).mean() should be 0\nexpected 0, observed 3.5",
                     counterexample="X=tensor([[1., 6.]])", hint="subtract X.mean() from X",
                     output="debug print", duration_s=1.5)
ERROR = CheckResult("MySequential: runs in order", "MySequential", Status.ERROR, 0.0, 3.0,
                    message="NotImplementedError at line 12", fault="student")
NOT_RUN = CheckResult("MySequential: keeps order", "MySequential", Status.NOT_RUN, 0.0, 1.0,
                      message="MySequential ran out of time before")
HIDDEN = CheckResult("FancyMLP: secret property", "FancyMLP", Status.FAILED, 0.0, 4.0,
                     message="the secret answer is 42", counterexample="X=secret-input", hint="secret hint",
                     hidden=True)
HIDDEN_PASSED = CheckResult("FancyMLP: other secret", "FancyMLP", Status.PASSED, 1.0, 1.0, hidden=True)
NASTY = CheckResult(f"Nasty: {HOSTILE}", "Nasty", Status.FAILED, 0.5, 1.0, message=HOSTILE,
                    counterexample=f"X={HOSTILE}\n```\nfence", hint=f"hint {HOSTILE}", output=HOSTILE)
GRADER_FAULT = CheckResult("MyLinear: output", "MyLinear", Status.ERROR, 0.0, 2.0, message=TRACEBACK,
                           fault="grader")
MIXED = (PASSED, FAILED, ERROR, NOT_RUN)


def report(*checks: CheckResult, problem: str = "", submission: str = "work/exercise3.py") -> Report:
    return Report("exercise3", submission, "0" * 64, tuple(checks), Isolation("full"), "0.1.0", "abc123",
                  {"total_s": 2.25}, problem=problem)


def junit(rep: Report) -> ET.Element:
    """The rendering, valid against the schema (else this raises), parsed."""
    xml = to_junit.render(rep, timestamp=WHEN, hostname="ci-runner")
    SCHEMA.validate(xml)
    return ET.fromstring(xml)


def table_rows(markdown: str) -> list[list[str]]:
    """The cells of each body row of the first table, split on unescaped pipes."""
    lines = [line for line in markdown.splitlines() if line.startswith("|")]
    return [re.split(r"(?<!\\)\|", line)[1:-1] for line in lines[2:]]


# -- JUnit ---------------------------------------------------------------------------------


def test_junit_has_one_testcase_per_check_with_counts_and_points():
    suite = junit(report(*MIXED)).find("testsuite")
    assert {k: suite.get(k) for k in ("name", "tests", "failures", "errors", "skipped", "time",
                                      "timestamp")} == {
        "name": "exercise3", "tests": "4", "failures": "1", "errors": "1", "skipped": "1", "time": "2.250",
        "timestamp": "2026-09-01T12:30:05"}
    cases = suite.findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [("exercise3", c.name) for c in MIXED]
    assert cases[0].get("time") == "0.012" and list(cases[0]) == []
    failure = cases[1].find("failure")
    assert failure.get("message") == "CenteredLayer()(X).mean() should be 0"
    assert "expected 0, observed 3.5" in failure.text and "X=tensor([[1., 6.]])" in failure.text
    assert "hint: subtract X.mean() from X" in failure.text and "debug print" in failure.text
    assert cases[2].find("error").get("message") == "NotImplementedError at line 12"
    assert cases[3].find("skipped").get("message") == "MySequential ran out of time before"
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["score"] == "2" and properties["max_score"] == "8"
    assert properties[f"score:{FAILED.name}"] == "0" and properties[f"max_score:{FAILED.name}"] == "2"


def test_the_schema_has_teeth_and_forbids_properties_on_a_testcase():
    # Why the points are suite properties: the schema CI tools read has none on a testcase.
    xml = to_junit.render(report(PASSED), timestamp=WHEN)
    assert SCHEMA.is_valid(xml)
    bad = xml.replace('time="0.012" />', 'time="0.012"><properties /></testcase>')
    assert bad != xml and not SCHEMA.is_valid(bad)


def test_junit_holds_hostile_text_as_valid_xml_without_control_characters():
    xml = to_junit.render(report(NASTY), timestamp=WHEN)
    SCHEMA.validate(xml)
    assert not re.search("[\x00-\x08\x0b-\x1f\ud800-\udfff\ufffe]", xml)
    assert "<script>" not in xml and "]]>" not in xml  # escaped as &lt; and &gt;
    failure = ET.fromstring(xml).find(".//failure")
    assert failure.get("message") == "nul bell red ]]> <script>x</script> a|b & 'q' \"dq\""
    assert "next line" in failure.text and "[31m" not in failure.text


def test_junit_hides_a_hidden_checks_details():
    xml = to_junit.render(report(HIDDEN), timestamp=WHEN)
    SCHEMA.validate(xml)
    assert "secret" not in xml.replace("FancyMLP: secret property", "")
    assert ET.fromstring(xml).find(".//failure").get("message") == to_junit.HIDDEN


def test_junit_of_a_report_without_checks_is_one_error_not_an_empty_pass():
    suite = junit(report(problem="grader error: the judges did not run (pytest exit 2)\n" + TRACEBACK)).find(
        "testsuite")
    assert (suite.get("tests"), suite.get("errors")) == ("1", "1")
    assert suite.find("testcase/error").get("message").startswith("grader error: the judges did not run")
    assert "score" not in {p.get("name") for p in suite.iter("property")}


# -- Markdown ------------------------------------------------------------------------------


def test_markdown_has_a_score_line_and_one_table_row_per_check():
    markdown = to_markdown.render(report(*MIXED, NASTY))
    assert "**Score: 2.5/9 (28%)**" in markdown
    rows = table_rows(markdown)
    assert len(rows) == 5 and all(len(row) == 3 for row in rows)
    assert [row[0].strip() for row in rows] == ["✅", "❌", "💥 error", "⏭️ not run", "❌"]
    assert [row[2].strip() for row in rows] == ["2/2", "0/2", "0/3", "0/1", "0.5/1"]
    assert r"a\|b" in rows[4][1] and "<br>next line" in rows[4][1]
    # Outside code blocks, a submission's HTML is escaped; inside, it is shown as it is.
    assert "<script>" not in re.sub(r"(`{3,})text\n.*?\n\1", "", markdown, flags=re.S)
    assert "<script>" in markdown


def test_markdown_shows_each_failure_with_message_input_and_hint_in_code_blocks():
    markdown = to_markdown.render(report(*MIXED))
    section = markdown.split(f"#### ❌ {to_markdown.inline(FAILED.name)} (0/2)")[1]
    assert "```text\nCenteredLayer()(X).mean() should be 0\nexpected 0, observed 3.5\n```" in section
    assert "Shrunk input:\n\n```text\nX=tensor([[1., 6.]])\n```" in section
    assert "**Hint:** subtract X.mean() from X" in section
    assert "Your code printed:\n\n```text\ndebug print\n```" in section
    assert f"#### 💥 error {to_markdown.inline(ERROR.name)}" in markdown
    assert "#### ✅" not in markdown


def test_markdown_fences_outlast_backticks_in_the_text():
    markdown = to_markdown.render(report(NASTY))
    assert "````text\nX=" in markdown and "\n````" in markdown  # the input holds a ``` line


def test_markdown_shows_the_problem_once_and_hides_hidden_details():
    problem = "SyntaxError: invalid syntax (exercise3.py, line 3)"
    broken = [CheckResult(c.name, c.target, Status.ERROR, 0.0, c.max_score, message=problem, fault="student")
              for c in MIXED]
    markdown = to_markdown.render(report(*broken, HIDDEN, problem=problem))
    assert markdown.count(problem) == 1
    assert markdown.count("See the problem with the submission above") == 4
    assert "secret" not in markdown.replace("secret property", "") and "hidden check" in markdown


def test_markdown_of_a_report_without_score_claims_none():
    markdown = to_markdown.render(report(PASSED, GRADER_FAULT))
    assert "**No score:**" in markdown and "Score:" not in markdown


# -- Gradescope ----------------------------------------------------------------------------

# The fields and types of Gradescope's autograder specification ("Output format").
TOP_LEVEL = {"score": float, "max_score": float, "execution_time": int, "output": str,
             "output_format": str, "visibility": str, "stdout_visibility": str, "tests": list}
TEST = {"name": str, "score": float, "max_score": float, "status": str, "output": str, "visibility": str}
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}


def test_gradescope_results_have_exactly_the_documented_fields_and_types():
    results = json.loads(to_gradescope.render(report(*MIXED, HIDDEN, NASTY)))
    assert {key: type(value) for key, value in results.items()} == TOP_LEVEL
    assert results["score"] == 2.5 and results["max_score"] == 13.0 and results["execution_time"] == 3
    assert results["visibility"] in VISIBILITY and results["stdout_visibility"] in VISIBILITY
    assert results["output_format"] == "text"
    for test in results["tests"]:
        assert {key: type(value) for key, value in test.items()} == TEST
        assert test["status"] in {"passed", "failed"} and test["visibility"] in VISIBILITY
    assert [t["status"] for t in results["tests"]] == ["passed"] + ["failed"] * 5
    assert [t["name"] for t in results["tests"][:5]] == [c.name for c in (*MIXED, HIDDEN)]
    failed = results["tests"][1]["output"]
    assert "expected 0, observed 3.5" in failed and "X=tensor([[1., 6.]])" in failed and "hint:" in failed
    assert not re.search("[\x00-\x08\x0b-\x1f\x1b]", json.dumps(results, ensure_ascii=False))


def test_gradescope_hides_hidden_checks_until_published_and_leaks_nothing_above_them():
    results = json.loads(to_gradescope.render(report(PASSED, HIDDEN, HIDDEN_PASSED)))
    hidden = results["tests"][1]
    assert hidden["visibility"] == "after_published" and results["tests"][0]["visibility"] == "visible"
    # The details are in the hidden test's own output, which Gradescope shows only with it.
    assert "the secret answer is 42" in hidden["output"] and "X=secret-input" in hidden["output"]
    assert results["tests"][2]["visibility"] == "after_published"
    assert "secret" not in results["output"] and "7" not in results["output"]  # nor the total, 3/7
    custom = json.loads(to_gradescope.render(report(HIDDEN), hidden_visibility="after_due_date"))
    assert custom["tests"][0]["visibility"] == "after_due_date"
    with pytest.raises(ValueError, match="hidden_visibility"):
        to_gradescope.render(report(HIDDEN), hidden_visibility="later")


def test_gradescope_writes_no_score_for_a_grader_fault():
    with pytest.raises(to_gradescope.NotGradable) as raised:
        to_gradescope.render(report(PASSED, GRADER_FAULT))
    assert "KeyError" in str(raised.value)
    assert not any(mark in str(raised.value) for mark in FRAME_MARKS)


# -- CSV -----------------------------------------------------------------------------------


def test_csv_gradebook_has_a_row_per_student_and_marks_missing_and_failed_grading():
    rows = {
        "zoe": {"exercise1": report(PASSED), "exercise3": report(PASSED, FAILED)},
        "=cmd|calc": {"exercise1": report(PASSED, GRADER_FAULT)},
        'ann, "the" first\nline': {"exercise3": None},
        "bob": {"exercise1": report(NASTY), "exercise3": report(PASSED)},
    }
    parsed = list(csv.reader(io.StringIO(to_csv.render(rows, ["exercise1", "exercise3"]))))
    assert parsed == [
        ["student", "exercise1", "exercise3", "total"],
        ["'=cmd|calc", "ERROR", "", "0"],  # a would-be formula stays text
        ['ann, "the" first\nline', "", "", "0"],
        ["bob", "0.5", "2", "2.5"],
        ["zoe", "2", "2", "4"],
    ]


# -- One failure text, decided once for every rendering --------------------------------------


def test_a_failures_sections_follow_one_set_of_rules():
    shown = text.failure(FAILED)
    assert (shown.message, shown.counterexample) == (FAILED.message, FAILED.counterexample)
    assert (shown.output, shown.hint) == (FAILED.output, FAILED.hint)
    assert text.failure(ERROR).hint == "" and text.failure(NASTY).output == text.clean(HOSTILE.strip())
    assert text.failure(HIDDEN) == text.Failure(withheld=text.HIDDEN)
    assert text.failure(HIDDEN, show_hidden=True).message == HIDDEN.message
    unloaded = report(ERROR, problem=ERROR.message)
    assert text.failure(ERROR, unloaded) == text.Failure(withheld=text.SEE_ABOVE)
    assert text.failure(ERROR).message == ERROR.message  # where each check stands alone


def test_every_rendering_withholds_what_the_rules_withhold():
    rep = report(FAILED, HIDDEN, ERROR, problem=ERROR.message)
    renderings = {"terminal": to_terminal.render(rep, width=200), "markdown": to_markdown.render(rep),
                  "junit": to_junit.render(rep, timestamp=WHEN)}
    for name, rendering in renderings.items():
        assert not any(secret in rendering for secret in ("42", "secret hint", "secret-input")), name
        assert "details are not shown" in rendering, name
        assert "subtract X.mean() from X" in rendering, name
    assert "see the problem with the submission above" in renderings["terminal"].lower()
    assert "see the problem with the submission above" in renderings["markdown"].lower()


def test_the_terminal_shows_hostile_text_without_markup_or_control_codes():
    out = to_terminal.render(report(NASTY, GRADER_FAULT), width=300)
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f]", out) and "[31m" not in out
    assert "<script>x</script>" in out and "next line" in out
    assert not any(mark in out for mark in FRAME_MARKS) and text.GRADER_FAULT_NOTE in out


# -- No stack frame of the grader, in any rendering ----------------------------------------


def test_no_rendering_shows_a_grader_traceback():
    fault = report(PASSED, GRADER_FAULT, problem="grader error: the judges did not run\n" + TRACEBACK)
    renderings = [to_junit.render(fault, timestamp=WHEN), to_markdown.render(fault),
                  to_csv.render({"s": {"exercise3": fault}}, ["exercise3"])]
    for rendering in renderings:
        assert not any(mark in rendering for mark in FRAME_MARKS), rendering
    assert "grader error (not your fault; tell your instructor): KeyError: 'weight'" in renderings[1]
    assert text.GRADER_FAULT_NOTE in renderings[1]


def test_only_a_grader_faults_message_loses_its_later_lines():
    student = CheckResult("A: b", "A", Status.ERROR, 0.0, 1.0, message="line one\nline two", fault="student")
    assert text.message(student) == "line one\nline two"
    frames = 'File "/x/grader/engine.py", line 3\nboom'
    assert text.without_frames(frames) == f"grader error {text.GRADER_FAULT_NOTE}"


# -- Through the command line --------------------------------------------------------------


def test_the_command_writes_every_format_and_the_step_summary(tmp_path):
    step_summary = tmp_path / "step_summary.md"
    step_summary.write_text("earlier step\n")
    out = tmp_path / "out"
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(step_summary)}
    result = subprocess.run(
        [sys.executable, "-m", "grader", "exercise3", "tests/submissions/exercise3/centered_sum.py",
         "--report", str(tmp_path / "r.json"), "--format", "junit", "--format", "gradescope",
         "--format", "markdown", "--format", "csv", "--output-dir", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    written = sorted(p.name for p in out.iterdir())
    assert written == ["gradebook.csv", "junit.xml", "results.json", "summary.md"]
    data = json.loads((tmp_path / "r.json").read_text())
    xml = (out / "junit.xml").read_text()
    SCHEMA.validate(xml)
    suite = ET.fromstring(xml).find("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == (str(len(data["checks"])), "2")
    assert json.loads((out / "results.json").read_text())["score"] == data["score"] == 17
    assert (out / "gradebook.csv").read_text() == "student,exercise3,total\ncentered_sum,17,17\n"
    summary = (out / "summary.md").read_text()
    assert "**Score: 17/20 (85%)**" in summary and len(table_rows(summary)) == len(data["checks"])
    assert step_summary.read_text() == "earlier step\n" + summary + "\n"


def test_a_grader_fault_writes_no_gradescope_results_and_no_traceback(tmp_path, monkeypatch):
    fault = report(PASSED, GRADER_FAULT)
    monkeypatch.setattr("grader.grading.engine.grade", lambda *args, **kwargs: fault)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    (tmp_path / "results.json").write_text('{"score": 20.0}')  # from an earlier run: must go
    result = CliRunner().invoke(cli_module.cli, [
        "exercise3", str(ROOT / "solutions" / "exercise3.py"), "--report", str(tmp_path / "r.json"),
        "--format", "gradescope", "--format", "junit", "--format", "csv"])
    assert result.exit_code == 3
    assert not (tmp_path / "results.json").exists()
    assert "No " in result.output and "results.json" in result.output
    SCHEMA.validate((tmp_path / "junit.xml").read_text())
    assert (tmp_path / "gradebook.csv").read_text() == "student,exercise3,total\nexercise3,ERROR,0\n"
    for path in tmp_path.iterdir():
        if path.suffix in {".xml", ".csv"}:
            assert not any(mark in path.read_text() for mark in FRAME_MARKS)


def test_the_command_offers_exactly_the_formats_that_have_files():
    command = cli_module.cli.get_command(None, "exercise3")
    choice = next(p for p in command.params if p.name == "formats").type
    assert sorted(choice.choices) == sorted(files.FILES)
    assert Path(files.FILES["gradescope"]).name == "results.json"


def test_grades_json_report_keeps_a_hidden_checks_status_and_nothing_of_why(tmp_path, monkeypatch):
    graded = report(FAILED, HIDDEN, HIDDEN_PASSED)
    monkeypatch.setattr("grader.grading.engine.grade", lambda *args, **kwargs: graded)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    result = CliRunner().invoke(cli_module.cli, [
        "exercise3", str(ROOT / "solutions" / "exercise3.py"), "--report", str(tmp_path / "r.json"),
        "--format", "gradescope"])
    assert result.exit_code == 0, result.output
    written = (tmp_path / "r.json").read_text()
    assert not any(secret in written for secret in ("42", "secret hint", "secret-input"))
    checks = {c["name"]: c for c in json.loads(written)["checks"]}
    hidden = checks[HIDDEN.name]
    assert (hidden["status"], hidden["score"], hidden["hidden"]) == ("failed", 0.0, True)
    assert hidden["message"] == text.HIDDEN and not (hidden["hint"] or hidden["counterexample"])
    assert checks[HIDDEN_PASSED.name]["message"] == ""
    assert checks[FAILED.name] == graded.to_dict()["checks"][0]
    # Gradescope withholds hidden tests itself until grades are published: instructors keep them.
    assert "the secret answer is 42" in (tmp_path / "results.json").read_text()
    assert graded.student_view().score == graded.score
