"""The ``grade`` command.

    grade list                      the exercises
    grade exercise3 [PATH]          grade exercises/exercise3.py (or .ipynb), or PATH
    grade watch exercise3 [PATH]    the same, again after every save

Exit status: 0 graded (whatever the score), 1 graded below --fail-under, 2 usage error,
3 could not grade (a fault of the grader or the machine; no score is claimed), 130
interrupted (Ctrl-C or SIGTERM; no report is written).
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from grader import fast_start
from grader.grading.exercises import Exercise, all_exercises

if TYPE_CHECKING:
    from grader.grading.seed import GradingSeed
    from grader.report import Report
    from grader.sandbox.launchers import Launcher

EXIT_GRADED, EXIT_BELOW, EXIT_USAGE, EXIT_NO_GRADE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


# Commands with modules of their own, imported only when run, so that `grade exercise3`
# pays for none of them: name -> "module:attribute" of a click command.
LAZY_COMMANDS = {
    "batch": "grader.batch.command:batch",
    "merge": "grader.batch.command:merge",
    "release": "grader.course.release:release",
    "gradescope-autograder": "grader.platforms.gradescope:gradescope_autograder",
    "init-ci": "grader.platforms.github:init_ci",
    "export": "grader.platforms.lms:export_command",
    "audit": "grader.course.audit:audit",
}


class _Commands(click.Group):
    """``list``, one command per exercise named after it, and the LAZY_COMMANDS."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return ["list", "watch", *all_exercises(), *LAZY_COMMANDS]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        exercise = all_exercises().get(name)
        if exercise is not None:
            return _grade_command(exercise)
        if name in LAZY_COMMANDS:
            module, _, attribute = LAZY_COMMANDS[name].partition(":")
            return getattr(importlib.import_module(module), attribute)
        return super().get_command(ctx, name)


@click.group(cls=_Commands)
@click.version_option(package_name="d2l-grader")
def cli() -> None:
    """Grade exercises of the "Deep Learning Computation" chapter of Dive into Deep Learning."""


def main() -> None:
    """The console script: ``cli``, then an exit that skips interpreter teardown.

    Tearing torch down takes a third of a second and does nothing for us; everything the
    grader writes is flushed or renamed into place before this point.
    """
    signal.signal(signal.SIGTERM, _interrupt)  # a stopped CI job ends like Ctrl-C: cleanly
    fast_start.one_blas_thread()
    from grader.sandbox.confine import keep_trusted_memory_private

    keep_trusted_memory_private()  # this process holds the judges and the course secret
    try:
        cli()
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@cli.command("list")
def list_exercises() -> None:
    """List the exercises the grader knows."""
    for exercise in all_exercises().values():
        click.echo(f"{exercise.name}  {exercise.title}")


secret_file_option = click.option(
    "--secret-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="The course secret that seeds official grading's inputs (default: $GRADER_SECRET_FILE, "
         "else $GRADER_SECRET, else the public seed).")


isolation_option = click.option(
    "--isolation", type=click.Choice(["full", "portable"]), default=None,
    help="full: workers forked from a worker server and confined as far as this machine allows "
         "(the default on Linux); portable: each worker a fresh interpreter, with only what every "
         "platform allows (the default on macOS and Windows). The report says what was in force.")


def start_launcher_for(isolation: str | None, *args: object, **kwargs: object) -> Launcher:
    """``start_launcher`` with the isolation settled first, telling the user when it is not
    the one they asked for (or the platform chose portable)."""
    from grader.grading.sandbox_setup import start_launcher
    from grader.sandbox.launchers import choose_isolation

    level, why = choose_isolation(isolation)
    if why:
        click.echo(why, err=True)
    return start_launcher(*args, isolation=level, **kwargs)  # type: ignore[arg-type]


def load_seed_or_usage_error(secret_file: Path | None) -> GradingSeed:
    """The run's grading seed; a secret that cannot be used is a usage error (exit 2)."""
    from grader.grading.seed import SecretError, load_seed

    try:
        return load_seed(secret_file)
    except SecretError as exc:
        raise click.UsageError(str(exc)) from None


def _grade_command(exercise: Exercise) -> click.Command:
    @click.command(exercise.name, help=f"Grade {exercise.name} ({exercise.title}).")
    @click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
                  help="Where to write the JSON report (default: reports/<exercise>.json).")
    @click.option("--fail-under", type=click.FloatRange(0, 100), default=None,
                  help="Exit with status 1 when the score is below this percentage.")
    @click.option("--timeout", type=click.FloatRange(0.1, 600), default=10.0, show_default=True,
                  help="Seconds one call into the submission may take (importing it: twice that).")
    @click.option("--execute", is_flag=True,
                  help="Also run a notebook top to bottom (nbclient) and report where it fails.")
    @click.option("--cell-timeout", type=click.FloatRange(1, 3600), default=60.0, show_default=True,
                  help="With --execute: seconds one cell may take.")
    @click.option("--format", "formats", multiple=True,
                  type=click.Choice(["junit", "markdown", "gradescope", "csv", "classroom", "html"]),
                  help="Also write this rendering of the report (repeatable): junit.xml, summary.md, "
                       "results.json (Gradescope), gradebook.csv, classroom.json (GitHub Classroom) "
                       "or report.html.")
    @click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                  help="Where --format writes its files (default: the JSON report's folder).")
    @secret_file_option
    @isolation_option
    def command(path: Path | None, report_path: Path | None, fail_under: float | None, timeout: float,
                execute: bool, cell_timeout: float, formats: tuple[str, ...], output_dir: Path | None,
                secret_file: Path | None, isolation: str | None) -> None:
        sys.exit(_grade(exercise, path, report_path, fail_under, timeout, execute, cell_timeout,
                        formats, output_dir, secret_file, isolation))

    return command


def _grade(exercise: Exercise, path: Path | None, report_path: Path | None,
           fail_under: float | None, timeout: float, execute: bool = False, cell_timeout: float = 60.0,
           formats: tuple[str, ...] = (), output_dir: Path | None = None,
           secret_file: Path | None = None, isolation: str | None = None) -> int:
    from grader.grading.seed import secret_path

    chosen, why = _choose_submission(exercise, path)
    seed = load_seed_or_usage_error(secret_file)
    secret = [p for p in (secret_path(secret_file),) if p is not None]  # hidden from the workers
    # its imports overlap ours below
    launcher = start_launcher_for(isolation, [chosen], [exercise], extra_hidden=secret)
    try:
        click.echo(f"Grading {chosen} as {exercise.name} ({exercise.title}){why}", err=True)
        click.echo(seed.describe(), err=True)
        from grader.atomic import write_text_atomic
        from grader.render import to_json, to_terminal

        with fast_start.imports_unscanned():  # torch, pytest, hypothesis
            from grader.grading.engine import grade
            from grader.sandbox.client import Limits

        report = grade(chosen, exercise, limits=Limits.for_timeout(timeout), launcher=launcher,
                       execute=execute, cell_s=cell_timeout, seed=seed, split=True)
    except KeyboardInterrupt:
        click.echo("Interrupted: no report written.", err=True)
        return EXIT_INTERRUPTED
    finally:
        launcher.close()
    report_path = report_path or _default_report_path(exercise, path)
    write_text_atomic(report_path, to_json.render(report.student_view()))
    color = sys.stdout.isatty()
    click.echo(to_terminal.render(report, color=color), nl=False, color=color)
    click.echo(f"Report written to {report_path}", err=True)
    if formats or os.environ.get("GITHUB_STEP_SUMMARY"):  # imported only when asked for
        from grader.render import files

        for note in files.write(report, formats, output_dir or report_path.parent, student=chosen.stem):
            click.echo(note, err=True)
    if report.score is None:
        return EXIT_NO_GRADE
    if fail_under is not None and (report.percent or 0.0) < fail_under:
        click.echo(f"Score {report.percent:.0f}% is below --fail-under {fail_under:g}%.", err=True)
        return EXIT_BELOW
    return EXIT_GRADED


@cli.command("watch")
@click.argument("exercise", type=click.Choice(list(all_exercises())))
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the JSON report here after every run.")
@click.option("--timeout", type=click.FloatRange(0.1, 600), default=10.0, show_default=True,
              help="Seconds one call into the submission may take (importing it: twice that).")
@isolation_option
def watch_command(exercise: str, path: Path | None, report_path: Path | None, timeout: float,
                  isolation: str | None) -> None:
    """Grade EXERCISE now and again each time its file is saved (Ctrl-C to stop)."""
    sys.exit(_watch(all_exercises()[exercise], path, report_path, timeout, isolation))


def _watch(exercise: Exercise, path: Path | None, report_path: Path | None, timeout: float,
           isolation: str | None = None) -> int:
    chosen, why = _choose_submission(exercise, path)
    launcher = start_launcher_for(isolation, [chosen], [exercise], many_workers=True)  # every run is warm
    try:
        from grader.atomic import write_text_atomic
        from grader.render import to_json, to_terminal

        with fast_start.imports_unscanned():  # torch, pytest, hypothesis
            from grader.grading.engine import grade
            from grader.grading.replay import Tapes
            from grader.grading.warm_judges import WarmJudges
            from grader.grading.watch import watch
            from grader.sandbox.client import Limits

        color = sys.stdout.isatty()

        def show(report: Report, changed: list[str]) -> None:
            if color:
                click.clear()
            click.echo(to_terminal.render(report, color=color), nl=False, color=color)
            if changed:
                click.echo("Changed since the last run:\n" + "\n".join(f"  {line}" for line in changed))
            if report_path is not None:
                write_text_atomic(report_path, to_json.render(report.student_view()))
            click.echo(f"Watching {chosen}{why}: save it to grade again (Ctrl-C to stop).", err=True)

        limits = Limits.for_timeout(timeout)
        tapes = Tapes()  # what passed in one run is replayed first in the next
        judges = WarmJudges()  # and the judges stay collected, in one pytest session
        watch(chosen, lambda: grade(chosen, exercise, limits=limits, launcher=launcher, tapes=tapes,
                                    judges=judges), show)
    except KeyboardInterrupt:
        click.echo("Stopped watching.", err=True)
        return EXIT_GRADED
    finally:
        launcher.close()
    return EXIT_GRADED  # not reached: only Ctrl-C ends watching


def _choose_submission(exercise: Exercise, path: Path | None) -> tuple[Path, str]:
    """The file to grade, and a note on why that one when there was a choice."""
    if path is not None:
        if not path.exists():
            raise click.UsageError(f"no such file: {path}")
        return path, ""
    for folder in (Path("exercises"), Path(".")):
        found = [p for p in (folder / f"{exercise.name}.py", folder / f"{exercise.name}.ipynb") if p.exists()]
        if found:
            from grader.grading.file_choice import choose

            chosen, _, why = choose(found, exercise.name)
            return chosen, f" ({why})" if why else ""
    raise click.UsageError(
        f"no exercises/{exercise.name}.py or .ipynb here; give the file: grade {exercise.name} PATH")


def _default_report_path(exercise: Exercise, path: Path | None) -> Path:
    if path is None or path.stem == exercise.name:
        return Path("reports") / f"{exercise.name}.json"
    return Path("reports") / f"{exercise.name}-{path.stem}.json"


if __name__ == "__main__":
    main()
