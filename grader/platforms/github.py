"""``grade init-ci``: a GitHub Actions workflow that grades the exercises on every push and
pull request, or with ``--classroom`` the autograding workflow GitHub Classroom reads.

    .github/workflows/grade.yml
      checkout -> Python 3.11 -> pip install -c constraints.txt -e . (CPU torch)
      -> one step per exercise: grade exerciseN [--fail-under PCT] --format markdown
         --format junit --output-dir reports/exerciseN, with GRADER_SECRET from the
         repository's or organization's secret of that name (the grading seed)
      -> upload reports/ as an artifact, whatever happened

    .github/workflows/classroom.yml (--classroom; not for the bot's initial commit)
      checkout -> Python 3.11 -> install
      -> one step per exercise (id exerciseN): grade exerciseN --format classroom, its
         result (base64) as the step's output
      -> classroom-resources/autograding-grading-reporter: the points, check by check
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from grader.atomic import write_text_atomic
from grader.grading.exercises import all_exercises
from grader.platforms.templating import fill, template

WORKFLOW = Path(".github") / "workflows" / "grade.yml"
CLASSROOM_WORKFLOW = Path(".github") / "workflows" / "classroom.yml"


@click.command("init-ci")
@click.option("--exercise", "exercises", multiple=True, type=click.Choice(list(all_exercises())),
              help="An exercise to grade (repeat for several; default: all).")
@click.option("--fail-under", type=click.FloatRange(0, 100), default=None,
              help="Fail the job when an exercise scores below this percentage.")
@click.option("--classroom", is_flag=True,
              help=f"Write GitHub Classroom's autograding workflow ({CLASSROOM_WORKFLOW}) instead: "
                   "points per exercise reach Classroom.")
@click.option("--force", is_flag=True, help="Overwrite an existing workflow.")
def init_ci(exercises: tuple[str, ...], fail_under: float | None, classroom: bool, force: bool) -> None:
    """Write .github/workflows/grade.yml, which grades on every push and pull request."""
    target = CLASSROOM_WORKFLOW if classroom else WORKFLOW
    if target.exists() and not force:
        raise click.UsageError(f"{target} exists; give --force to overwrite it")
    if classroom and fail_under is not None:
        raise click.UsageError("--fail-under does not apply to --classroom: Classroom records the points")
    chosen = list(dict.fromkeys(exercises)) or list(all_exercises())
    write_text_atomic(target, classroom_workflow(chosen) if classroom else workflow(chosen, fail_under))
    what = "gives GitHub Classroom the points of" if classroom else "grades"
    click.echo(f"Wrote {target}: {what} {', '.join(chosen)} on every push.")
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


def classroom_workflow(exercises: Sequence[str]) -> str:
    """GitHub Classroom's workflow: one graded step per exercise, then the grading reporter."""
    points = {name: _points(name) for name in exercises}
    steps = "".join(fill(template("classroom_step.yml"), EXERCISE=name, POINTS=f"{points[name]:g}")
                    for name in exercises)
    results = "".join(f'          {name.upper()}_RESULTS: "${{{{ steps.{name}.outputs.result }}}}"\n'
                      for name in exercises)
    return fill(template("classroom.yml"), STEPS=steps.rstrip("\n"), RESULTS=results.rstrip("\n"),
                RUNNERS=",".join(exercises), TOTAL=f"{sum(points.values()):g}")


def _points(exercise: str) -> float:
    """The points this copy of the grader awards for ``exercise``: in a student release the
    public checks' only, since the hidden ones are not there."""
    from grader.course.check_inventory import declared_checks

    files = all_exercises()[exercise].judge_files
    return sum(check.points for path in files for check in declared_checks(path))
