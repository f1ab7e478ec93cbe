"""Inside Gradescope's container: grade the submission, write results/results.json.

    python -I -m grader.platforms.gradescope_run --root /autograder --exercise exercise3

    find the student's file in ROOT/submission
      -> start the worker server, hiding ROOT/source (the grader, hidden checks included),
         ROOT/results and ROOT/submission from every worker
      -> grader.engine.grade -> Report -> Gradescope's results.json
      -> ROOT/results/results.json, written atomically by this (trusted) process, after
         grading, whatever happened: Gradescope shows nothing useful without it

Exit status: 0 graded (a missing or unreadable submission is graded 0), 2 usage error
(an exercise this grader does not know), 3 could not grade (a fault of the grader).
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
from grader.exercises import Exercise, all_exercises, probes_modules
from grader.launching import hidden_paths
from grader.sandbox.launcher import default_launcher

if TYPE_CHECKING:
    from grader.report import Report

EXIT_GRADED, EXIT_USAGE, EXIT_NO_GRADE = 0, 2, 3
SUFFIXES = (".py", ".ipynb")
GRADER_FAULT = ("The autograder could not grade this submission: {why}. This is not a fault "
                "of your code; please tell your instructor.")


def main(argv: list[str] | None = None) -> int:
    """The command line run_autograder calls; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m grader.platforms.gradescope_run")
    parser.add_argument("--root", type=Path, default=Path(os.environ.get("AUTOGRADER_ROOT", "/autograder")))
    parser.add_argument("--exercise", required=True)
    args = parser.parse_args(argv)
    return run(args.root, args.exercise)


def run(root: Path, exercise_name: str) -> int:
    """Grade ROOT/submission as ``exercise_name`` into ROOT/results/results.json."""
    try:
        text, code = _results(root, exercise_name)
    except BaseException as exc:  # a crash, even an interrupt, is still a result
        # The traceback goes to the log Gradescope keeps for the staff; the student gets
        # only the exception's type, which says nothing of hidden checks or the grader's files.
        traceback.print_exc()
        text, code = message_results(GRADER_FAULT.format(why=f"the grader crashed ({type(exc).__name__})"),
                                     gradable=False), EXIT_NO_GRADE
    write_text_atomic(root / "results" / "results.json", text)
    return code


def _results(root: Path, exercise_name: str) -> tuple[str, int]:
    """results.json's text and the exit status."""
    exercise = all_exercises().get(exercise_name)
    if exercise is None:
        why = f"it was built for {exercise_name!r}, which this grader does not know"
        return message_results(GRADER_FAULT.format(why=why), gradable=False), EXIT_USAGE
    submission, note = find_submission(root / "submission", exercise)
    print(note)
    if submission is None:
        return message_results(note), EXIT_GRADED
    report = _grade(root, submission, exercise)
    from grader.render import to_gradescope

    if report.score is None:  # the renderer refuses such a report; the student still gets a message
        print(f"No score: a fault of the grader.\n{report.problem}")
        for check in report.checks:
            if check.fault == "grader":
                print(f"{check.name}: {check.message}")
        return message_results(GRADER_FAULT.format(why="the grader failed while grading"),
                               gradable=False), EXIT_NO_GRADE
    return _with_output(to_gradescope.render(report), note), EXIT_GRADED


def _grade(root: Path, submission: Path, exercise: Exercise) -> Report:
    """The report on ``submission``, graded by workers that cannot see ROOT's grader,
    results or submission folders."""
    private = [root / "source", root / "results", root / "submission"]
    hidden = hidden_paths([submission], private)
    for path in private:
        if path.exists() and str(path.resolve()) not in hidden:  # it holds the Python installation
            print(f"WARNING: {path} stays visible to the submission's workers")
    _owner_only(private)
    launcher = default_launcher(probes_modules([exercise]), hidden)  # starts importing torch now
    try:
        from grader.engine import grade

        return grade(submission, exercise, launcher=launcher)
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

    ``exerciseN.py`` or ``exerciseN.ipynb`` (the newer if both; the .py on a tie), else
    the only .py or .ipynb file there is; else none, and the note says why.
    """
    found = _candidates(folder)
    named = [path for path in found if path.stem == exercise.name]
    if named:
        chosen = max(named, key=lambda path: (path.stat().st_mtime, path.suffix == ".py"))
        others = [str(path.relative_to(folder)) for path in named if path != chosen]
        also = f" (the newest of {', '.join(others)} and it)" if others else ""
        return chosen, f"Grading {chosen.relative_to(folder)} as {exercise.name}{also}."
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
        if path.suffix in SUFFIXES and path.is_file()
        and not any(part.startswith(".") or part in skip for part in path.relative_to(folder).parts)
    )


def message_results(message: str, gradable: bool = True) -> str:
    """A results.json with no tests: a score of 0 and ``message`` for the student.

    Gradescope needs a score either at the top or on each test; with no tests, 0 it is.
    ``gradable=False`` marks, in extra_data, a 0 that is the grader's fault, not a grade.
    """
    data = {"score": 0.0, "output": message, "output_format": "text",
            "stdout_visibility": "hidden",  # the log may hold tracebacks through hidden checks
            "extra_data": {"gradable": gradable}}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _with_output(text: str, note: str) -> str:
    """The rendered results with ``note`` put first in their top-level output."""
    data = json.loads(text)
    data["output"] = "\n\n".join(part for part in (note, data.get("output", "")) if part)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.exit(main())
