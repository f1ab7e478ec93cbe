"""The report as the student reads it in a terminal: a table of checks, then each failure."""

from __future__ import annotations

import io
import re

from rich.console import Console
from rich.markup import escape as escape_markup
from rich.table import Table

from grader.report import CheckResult, Report, Status

MARKS = {
    Status.PASSED: "[green]✓[/]",
    Status.FAILED: "[red]✗[/]",
    Status.ERROR: "[red]✗ error[/]",
    Status.NOT_RUN: "[yellow]– not run[/]",
}


# Control characters other than newline and tab: a submission's message or printed output
# must not move the cursor, clear the screen or print a fake score line.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def escape(text: str) -> str:
    """Text from a submission, safe to print: no rich markup, no terminal control codes."""
    return escape_markup(_CONTROL.sub("?", text))


def render(report: Report, *, color: bool = False, width: int = 100) -> str:
    out = io.StringIO()
    console = Console(file=out, force_terminal=color, no_color=not color, width=width,
                      highlight=False, soft_wrap=False)
    table = Table(title=f"{report.exercise}: {escape(report.submission)}", title_justify="left")
    table.add_column("target", style="bold")
    table.add_column("property")
    table.add_column("points", justify="right")
    table.add_column("", no_wrap=True)
    for check in report.checks:
        prop = check.name.removeprefix(f"{check.target}: ")
        table.add_row(escape(check.target), escape(prop), _points(check), MARKS[check.status])
    console.print(table)
    if report.problem:
        console.print(f"\n[bold red]Problem with the submission:[/] {escape(report.problem)}")
    if report.notes:
        console.print(_notes(report))
    for check in report.checks:
        if check.status != Status.PASSED:
            # A problem of the whole submission was shown once above, not under every check.
            repeated = report.problem and check.message == report.problem
            console.print(_failure(check, brief=bool(repeated)))
    console.print(_score_line(report))
    if report.hidden_checks and report.hidden_checks.count:
        console.print(_hidden_line(report))
    return out.getvalue()


def _notes(report: Report) -> str:
    """What the notebook's cells did besides defining the answers: no points, but the reason
    behind many a missing name."""
    lines = ["\n[bold]Notebook notes[/] [dim](cells run one by one; these cost no points)[/]"]
    lines += [f"  {escape(note.text)}" for note in report.notes]
    return "\n".join(lines)


def _points(check: CheckResult) -> str:
    return f"{check.score:g}/{check.max_score:g}"


def _failure(check: CheckResult, brief: bool = False) -> str:
    head = f"\n[bold]{MARKS[check.status]} {escape(check.name)}[/] ({_points(check)})"
    if check.hidden:
        return head + "\n  (a hidden check: details are not shown)"
    if brief:
        return head + "  [dim](see the problem above)[/]"
    lines = [head]
    if check.message:
        lines += [f"  {escape(line)}" for line in check.message.splitlines()]
    if check.counterexample:
        lines.append("  [dim]shrunk input:[/] " + escape(check.counterexample.replace("\n", ", ")))
    if check.output:
        lines.append("  [dim]your code printed:[/] " + escape(check.output.strip()[:300]).replace("\n", "\n    "))
    if check.hint and check.status == Status.FAILED:
        lines.append(f"  [cyan]hint:[/] {escape(check.hint)}")
    return "\n".join(lines)


def _score_line(report: Report) -> str:
    if report.score is None:
        return ("\n[bold red]No score: the grader itself failed on this submission "
                "(see the errors marked as grader errors).[/]")
    percent = report.percent or 0.0
    return f"\n[bold]Score: {report.score:g}/{report.max_score:g} ({percent:.0f}%)[/]"


def _hidden_line(report: Report) -> str:
    """What a student's copy of the grader lacks (a release): said, never silently less."""
    hidden = report.hidden_checks
    checks, points = ("check" if hidden.count == 1 else "checks"), ("point" if hidden.points == 1 else "points")
    return (f"[dim]Not run here: {hidden.count} hidden {checks} worth {hidden.points:g} {points}, "
            "run when your work is submitted.[/]")
