"""Inside Gradescope's container: grade the submission, write results/results.json.

    python -I -m grader.platforms.gradescope_run --root /autograder --exercise exercise3

    find the student's file in ROOT/submission
      -> start the worker server, hiding ROOT/source (the grader, hidden checks included,
         and the course secret, ROOT/source/grading_secret, that seeds the checks' inputs),
         ROOT/results and ROOT/submission from every worker
      -> grader.grading.engine.grade -> Report -> Gradescope's results.json
      -> ROOT/results/results.json, written atomically by this (trusted) process, after
         grading, and only when there is a grade to give

A submission the grader could not grade (a fault of the grader, or a crash) gets no
results.json: Gradescope records any score written there, a 0 included, as the student's
grade. Without the file it shows "The autograder failed to execute correctly" and the staff,
who see what this prints, can rerun the submission once the grader is fixed. A submission
with no file to grade is the student's doing: it is graded 0, with what to submit.

Exit status: 0 graded (results.json written), 2 usage error (an exercise this grader does
not know; no results.json), 3 could not grade (a fault of the grader; no results.json).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

from grader.atomic import write_text_atomic
from grader.grading.exercises import Exercise, all_exercises, probes_modules
from grader.grading.file_choice import choose
from grader.grading.sandbox_setup import hidden_paths
from grader.sandbox.launchers import default_launcher

if TYPE_CHECKING:
    from grader.grading.seed import GradingSeed
    from grader.report import Report

EXIT_GRADED, EXIT_USAGE, EXIT_NO_GRADE = 0, 2, 3
SECRET_NAME = "grading_secret"  # in the archive's top level, so ROOT/source/grading_secret
SUFFIXES = (".py", ".ipynb")
NO_RESULTS = ("No results.json: {why}. This is not a grade: Gradescope shows the run as \"The autograder "
              "failed to execute correctly\". Rerun the submission (Regrade) once this is fixed.")


class CannotGrade(Exception):
    """No grade can be given, through no fault of the student: no results.json."""

    def __init__(self, why: str, status: int = EXIT_NO_GRADE) -> None:
        super().__init__(why)
        self.status = status


def main(argv: list[str] | None = None) -> int:
    """The command line run_autograder calls; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m grader.platforms.gradescope_run")
    parser.add_argument("--root", type=Path, default=Path(os.environ.get("AUTOGRADER_ROOT", "/autograder")))
    parser.add_argument("--exercise", required=True)
    args = parser.parse_args(argv)
    return run(args.root, args.exercise)


def run(root: Path, exercise_name: str) -> int:
    """Grade ROOT/submission as ``exercise_name`` into ROOT/results/results.json; no
    results.json when it cannot be graded."""
    results = root / "results" / "results.json"
    results.unlink(missing_ok=True)  # only what this run writes may count, never an older grade
    try:
        seed = _seed(root)
        text = _results(root, exercise_name, seed)
    except CannotGrade as why:
        print(NO_RESULTS.format(why=why))
        return why.status
    except BaseException as exc:  # a crash, even an interrupt: still no grade to give
        traceback.print_exc(file=sys.stdout)  # beside the reason, in the output the staff see
        crash = traceback.format_exception_only(exc)[-1].strip()
        print(NO_RESULTS.format(why=f"the grader crashed ({crash})"))
        return EXIT_NO_GRADE
    write_text_atomic(results, text)
    return EXIT_GRADED


def _seed(root: Path) -> GradingSeed:
    """The seed of the archive's course secret, ROOT/source/grading_secret (else of
    GRADER_SECRET_FILE or GRADER_SECRET; else public). An unusable secret is the archive's
    fault: no grade."""
    from grader.grading.seed import SecretError, load_seed

    packed = root / "source" / SECRET_NAME
    try:
        seed = load_seed(packed if packed.is_file() else None)
    except SecretError as exc:
        raise CannotGrade(str(exc), EXIT_USAGE) from None
    print(seed.describe())  # the autograder output, which the staff see
    return seed


def _results(root: Path, exercise_name: str, seed: GradingSeed) -> str:
    """results.json's text; raises CannotGrade when there is no grade to give."""
    exercise = all_exercises().get(exercise_name)
    if exercise is None:
        raise CannotGrade(f"the autograder was built for {exercise_name!r}, which this grader does not know",
                          EXIT_USAGE)
    submission, note = find_submission(root / "submission", exercise)
    print(note)
    if submission is None:  # the student's doing: a grade of 0, saying what to submit
        return message_results(note)
    report = _grade(root, submission, exercise, seed)
    from grader.render import to_gradescope

    try:
        return _with_output(to_gradescope.render(report), note)
    except to_gradescope.NotGradable as why:  # the renderer's rule: no score, no results.json
        _print_grader_faults(report)
        raise CannotGrade(str(why)) from None


def _print_grader_faults(report: Report) -> None:
    """Everything the report says of the grader's failure, in full: on Gradescope there is
    no JSON report to look it up in."""
    if report.problem:
        print(report.problem)
    for check in report.checks:
        if check.fault == "grader":
            print(f"{check.name}: {check.message}")


def _grade(root: Path, submission: Path, exercise: Exercise, seed: GradingSeed) -> Report:
    """The report on ``submission``, graded by workers that cannot see ROOT's grader,
    results or submission folders."""
    from grader.grading.seed import secret_path

    private = [root / "source", root / "results", root / "submission", *filter(None, [secret_path()])]
    hidden = hidden_paths([submission], private)
    for path in private:
        if path.exists() and str(path.resolve()) not in hidden:  # it holds the Python installation
            print(f"WARNING: {path} stays visible to the submission's workers")
    _owner_only(private)
    launcher = default_launcher(probes_modules([exercise]), hidden)  # starts importing torch now
    try:
        from grader.fast_start import imports_unscanned

        with imports_unscanned():  # torch, pytest, hypothesis
            from grader.grading.engine import grade

        return grade(submission, exercise, launcher=launcher, seed=seed)
    finally:
        launcher.close()


def _owner_only(paths: list[Path]) -> None:
    """As root (as on Gradescope), make ``paths`` root's alone: the workers run as
    ``nobody``, so even where the machine cannot hide them they cannot read them."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        for path in paths:
            if path.is_dir():
                path.chmod(0o700)


def find_submission(folder: Path, exercise: Exercise) -> tuple[Path | None, str]:
    """The student's file in ``folder`` (searched recursively), and a note on the choice.

    ``exerciseN.py`` or ``exerciseN.ipynb`` (if both, the one that is not the unchanged
    stub, else the newer, else the .py: ``grader.grading.file_choice.choose``), else the only .py or
    .ipynb file there is; else none, and the note says why.
    """
    found = _candidates(folder)
    named = [path for path in found if path.stem == exercise.name]
    if named:
        chosen, _, why = choose(named, exercise.name)
        return chosen, f"Grading {chosen.relative_to(folder)} as {exercise.name}{f' ({why})' if why else ''}."
    if len(found) == 1:
        return found[0], f"Grading {found[0].relative_to(folder)} as {exercise.name}."
    wanted = f"{exercise.name}.py or {exercise.name}.ipynb"
    if not found:
        return None, f"No submission to grade: the submission has no .py or .ipynb file; submit {wanted}."
    names = ", ".join(str(path.relative_to(folder)) for path in found)
    return None, f"No submission to grade: several files ({names}) and none named {wanted}; rename yours."


def _candidates(folder: Path) -> list[Path]:
    """The .py and .ipynb files under ``folder``, leaving out hidden folders and files
    (.ipynb_checkpoints, .git) and the litter of archivers and interpreters."""
    if not folder.is_dir():
        return []
    skip = {"__MACOSX", "__pycache__"}
    return sorted(
        path for path in folder.rglob("*")
        if path.suffix in SUFFIXES and path.is_file() and not path.is_symlink()
        and not any(part.startswith(".") or part in skip for part in path.relative_to(folder).parts)
    )


def message_results(message: str) -> str:
    """A results.json with no tests: a score of 0 and ``message`` for the student.

    Only for what the student did (no file to grade): Gradescope needs a score either at
    the top or on each test; with no tests, 0 it is, and it is the student's grade.
    """
    data = {"score": 0.0, "output": message, "output_format": "text",
            "stdout_visibility": "hidden"}  # the log is for the staff, as in every results.json
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _with_output(text: str, note: str) -> str:
    """The rendered results with ``note`` put first in their top-level output."""
    data = json.loads(text)
    data["output"] = "\n\n".join(part for part in (note, data.get("output", "")) if part)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.exit(main())
