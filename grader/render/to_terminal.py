"""The report as the student reads it in a terminal: a table of checks, then each failure."""

from __future__ import annotations

import io

from rich.console import Console
from rich.markup import escape as escape_markup
from rich.table import Table

from grader.render import text
from grader.report import CheckResult, Report, Status

MARKS = {
    Status.PASSED: "[green]✓[/]",
    Status.FAILED: "[red]✗[/]",
    Status.ERROR: "[red]✗ error[/]",
    Status.NOT_RUN: "[yellow]– not run[/]",
}


def escape(value: str) -> str:
    """Text from a submission, safe to print: no rich markup, and none of the terminal
    escapes or control characters that could move the cursor or fake a score line."""
    return escape_markup(text.clean(value))


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
        console.print(f"\n[bold red]Problem with the submission:[/] {escape(text.problem(report))}")
    if report.notes:
        console.print(_notes(report))
    for check in report.checks:
        if check.status != Status.PASSED:
            console.print(_failure(report, check))
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


def _failure(report: Report, check: CheckResult) -> str:
    head = f"\n[bold]{MARKS[check.status]} {escape(check.name)}[/] ({_points(check)})"
    shown = text.failure(check, report)
    if shown.withheld:
        return f"{head}\n  [dim]({escape(shown.withheld)})[/]"
    lines = [head]
    lines += [f"  {escape_markup(line)}" for line in shown.message.splitlines()]
    if shown.counterexample:
        lines.append("  [dim]shrunk input:[/] " + escape_markup(shown.counterexample.replace("\n", ", ")))
    if shown.output:
        printed = escape_markup(shown.output[:300]).replace("\n", "\n    ")
        lines.append(f"  [dim]your code printed:[/] {printed}")
    if shown.hint:
        lines.append(f"  [cyan]hint:[/] {escape_markup(shown.hint)}")
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
    checks = "check" if hidden.count == 1 else "checks"
    points = "point" if hidden.points == 1 else "points"
    return (f"[dim]Not run here: {hidden.count} hidden {checks} worth {hidden.points:g} {points}, "
            "run when your work is submitted.[/]")
