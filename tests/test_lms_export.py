"""``grade export canvas|moodle``: a batch's OUT as an LMS's grade import file."""

from __future__ import annotations

import csv
import io

from click.testing import CliRunner

from grader.batch.scheduler import Outcome, write_manifest
from grader.cli import cli


def _outcome(student: str, exercise: str, score: float | None, source: str = "graded") -> Outcome:
    return Outcome(student=student, exercise=exercise, path=f"{student}/{exercise}.py", sha256="0" * 64,
                   source=source, report="" if source == "error" else f"reports/{student}/{exercise}.json",
                   score=score, max_score=0.0 if source == "error" else 20.0,
                   error="grading process died" if source == "error" else "")


def _batch_out(tmp_path):
    out = tmp_path / "graded"
    out.mkdir()
    outcomes = [_outcome("alice", "exercise3", 18.0), _outcome("alice", "exercise1", 32.0),
                _outcome("bob", "exercise3", None, source="error"), _outcome("carol", "exercise3", 7.5),
                _outcome("=cmd", "exercise3", 1.0)]
    write_manifest(out, "abc", 10.0, None, outcomes, len(outcomes))
    return out


def _rows(path):
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_canvas_with_a_roster_keeps_everyone_in_sight(tmp_path):
    out = _batch_out(tmp_path)
    roster = tmp_path / "roster.csv"
    roster.write_text("submission,Student,ID,SIS User ID,SIS Login ID,Section\n"
                      "alice,\"Liddell, Alice\",101,S1,alice@uni,A\n"
                      "bob,Bob Builder,102,S2,bob@uni,A\n"
                      "dave,Dave Absent,104,S4,dave@uni,B\n", encoding="utf-8-sig")
    target = tmp_path / "canvas.csv"
    result = CliRunner().invoke(
        cli, ["export", "canvas", str(out), "--out", str(target), "--roster", str(roster)]
    )
    assert result.exit_code == 0, result.output
    rows = _rows(target)
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "exercise1", "exercise3"]
    assert rows[1] == ["Points Possible", "", "", "", "", "20", "20"]
    by_name = {row[0]: row[5:] for row in rows[2:]}
    assert by_name["Liddell, Alice"] == ["32", "18"]
    assert by_name["Bob Builder"] == ["", ""]  # an infrastructure error is blank, never 0
    assert by_name["Dave Absent"] == ["", ""]
    assert len(rows) == 5  # carol and =cmd have no roster entry: not in the file ...
    assert "no roster entry for =cmd, carol" in result.output  # ... and said so
    assert "No submission (their row is blank): dave" in result.output
    assert "bob/exercise3" in result.output


def test_moodle_without_a_roster_uses_the_folder_names(tmp_path):
    out = _batch_out(tmp_path)
    target = tmp_path / "moodle.csv"
    result = CliRunner().invoke(cli, ["export", "moodle", str(out), "--out", str(target)])
    assert result.exit_code == 0, result.output
    rows = _rows(target)
    assert rows[0] == ["Username", "exercise1", "exercise3"]
    assert rows[1:] == [["'=cmd", "", "1"], ["alice", "32", "18"], ["bob", "", ""], ["carol", "", "7.5"]]


def test_a_roster_without_the_lms_columns_is_refused(tmp_path):
    out = _batch_out(tmp_path)
    roster = tmp_path / "roster.csv"
    roster.write_text("submission,Student\nalice,Alice\n", encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["export", "moodle", str(out), "--out", str(tmp_path / "m.csv"), "--roster", str(roster)]
    )
    assert result.exit_code == 2
    assert "Email address" in result.output
    assert not (tmp_path / "m.csv").exists()


def test_a_folder_that_is_not_a_batch_is_refused(tmp_path):
    result = CliRunner().invoke(cli, ["export", "canvas", str(tmp_path), "--out", str(tmp_path / "c.csv")])
    assert result.exit_code == 2
    assert "manifest.json" in result.output
