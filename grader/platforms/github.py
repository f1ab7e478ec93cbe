"""``grade init-ci``: a GitHub Actions workflow (GitHub Classroom's autograding too) that
grades the exercises on every push and pull request.

    .github/workflows/grade.yml
      checkout -> Python 3.11 -> pip install -c constraints.txt -e . (CPU torch)
      -> one step per exercise: grade exerciseN [--fail-under PCT] --format markdown
         --format junit --output-dir reports/exerciseN, with GRADER_SECRET from the
         repository's or organization's secret of that name (the grading seed)
      -> upload reports/ as an artifact, whatever happened
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from grader.atomic import write_text_atomic
from grader.grading.exercises import all_exercises
from grader.platforms.templating import fill, template

WORKFLOW = Path(".github") / "workflows" / "grade.yml"


@click.command("init-ci")
@click.option("--exercise", "exercises", multiple=True, type=click.Choice(list(all_exercises())),
              help="An exercise to grade (repeat for several; default: all).")
@click.option("--fail-under", type=click.FloatRange(0, 100), default=None,
              help="Fail the job when an exercise scores below this percentage.")
@click.option("--force", is_flag=True, help=f"Overwrite an existing {WORKFLOW}.")
def init_ci(exercises: tuple[str, ...], fail_under: float | None, force: bool) -> None:
    """Write .github/workflows/grade.yml, which grades on every push and pull request."""
    if WORKFLOW.exists() and not force:
        raise click.UsageError(f"{WORKFLOW} exists; give --force to overwrite it")
    chosen = list(dict.fromkeys(exercises)) or list(all_exercises())
    write_text_atomic(WORKFLOW, workflow(chosen, fail_under))
    click.echo(f"Wrote {WORKFLOW}: grades {', '.join(chosen)} on every push and pull request.")
    for name in ("pyproject.toml", "constraints.txt"):
        if not Path(name).is_file():  # the workflow installs the grader from this repository
            click.echo(f"Warning: no {name} here; the workflow expects the grader's repository.", err=True)


def workflow(exercises: Sequence[str], fail_under: float | None = None) -> str:
    """The workflow's YAML: install once, then one grading step for each of ``exercises``."""
    steps = "".join(_step(name, fail_under) for name in exercises)
    return fill(template("grade.yml"), STEPS=steps.rstrip("\n"))


def _step(exercise: str, fail_under: float | None) -> str:
    options = [] if fail_under is None else ["--fail-under", f"{fail_under:g}"]
    options += ["--format", "markdown", "--format", "junit", "--output-dir", f"reports/{exercise}"]
    return fill(template("grade_step.yml"), EXERCISE=exercise, OPTIONS=" ".join(options))
