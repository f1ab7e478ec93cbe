"""exercise3 specifics beyond tests/test_fixtures.py: messages, determinism, notebooks."""

from __future__ import annotations

from grader.report import Status
from tests.conftest import ROOT, SUBMISSIONS, without_timings

FIXTURES = SUBMISSIONS / "exercise3"


def test_failures_name_the_property_and_the_shrunk_input(grade_file):
    report = grade_file(FIXTURES / "centered_sum.py")
    failed = [c for c in report.checks if c.status == Status.FAILED]
    assert [c.name for c in failed] == [
        "CenteredLayer: output has zero mean",
        "CenteredLayer: gradients flow to the input",
    ]
    failure = failed[0]
    assert failure.target == "CenteredLayer"
    assert "mean should be 0" in failure.message and "on input X = tensor(" in failure.message
    assert failure.counterexample.startswith("xs=[torch.tensor(")  # hypothesis's minimal list, to paste
    assert failure.counterexample.count("tensor(") == 1


def test_same_failing_submission_gives_identical_reports(grade_file):
    reports = [without_timings(grade_file(FIXTURES / "tensorreduction_diagonal.py")) for _ in range(3)]
    assert reports[0] == reports[1] == reports[2]
    assert reports[0]["score"] == 17


def test_syntax_error_in_a_notebook_points_at_the_cell(grade_file, tmp_path):
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# Exercise"),
        nbformat.v4.new_code_cell("import torch"),
        nbformat.v4.new_code_cell("x = 1\ndef broken(:\n    pass"),
    ]
    path = tmp_path / "broken.ipynb"
    path.write_text(nbformat.writes(notebook), encoding="utf-8")
    report = grade_file(path)
    assert report.score == 0  # nothing defined: every check says which name is missing
    # Cell by cell, as Jupyter runs it: the cell that does not parse is a note, not the
    # whole notebook's problem.
    assert [note.text for note in report.notes] == ["cell 3, line 2: SyntaxError: invalid syntax"]
    assert not report.problem


def test_report_states_isolation_in_force(grade_file):
    report = grade_file(ROOT / "solutions" / "exercise3.py")
    isolation = report.isolation
    assert isolation.level in ("full", "partial")
    assert "process" in isolation.in_force and "resource limits" in isolation.in_force
    assert set(isolation.in_force) | set(isolation.missing) >= {
        "network",
        "process lifetime",
        "hidden files",
        "user",
        "environment",
        "working directory",
    }
    if isolation.level == "partial":
        assert isolation.missing  # never silently less: what is missing is named


def test_what_the_failing_code_printed_is_in_the_report(grade_file, tmp_path):
    source = (FIXTURES / "centered_sum.py").read_text(encoding="utf-8")
    patched = source.replace(
        "return X - X.sum()", "print('debug: shape', tuple(X.shape))\n        return X - X.sum()"
    )
    assert patched != source
    path = tmp_path / "printing.py"
    path.write_text(patched, encoding="utf-8")
    report = grade_file(path)
    failed = [c for c in report.checks if c.status == Status.FAILED]
    assert failed and all("debug: shape" in failure.output for failure in failed)
    assert all(not c.output for c in report.checks if c.status == Status.PASSED)
