"""Grade every fixture, solution and stub and write each report without its timings
(nor the checkout's path, written ROOT).

A tool for refactors that must not change behaviour: run it before and after, then diff
the two folders (``diff -r BEFORE AFTER``). Not a test (pytest does not collect it).

    .venv/bin/python -m tests.snapshot_reports OUT_DIR [--split | --warm]

``--split`` grades as ``grade exerciseN`` does, in two judging processes (``two_judges``);
``--warm`` as batch and watch do, all in one pytest session per exercise (``warm_judges``).
Either snapshot must equal the plain one.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.conftest import ROOT, SUBMISSIONS, TEST_LIMITS, without_timings


def files(exercise: str) -> list[Path]:
    found = [ROOT / "solutions" / f"{exercise}.py", ROOT / "exercises" / f"{exercise}.py",
             ROOT / "exercises" / f"{exercise}.ipynb"]
    return found + sorted(p for p in (SUBMISSIONS / exercise).iterdir() if p.suffix in (".py", ".ipynb"))


def main(out: Path, split: bool = False, warm: bool = False) -> None:
    from grader.grading.engine import grade
    from grader.grading.exercises import all_exercises
    from grader.grading.sandbox_setup import start_launcher
    from grader.grading.warm_judges import WarmJudges

    launcher = start_launcher()
    judges = WarmJudges() if warm else None
    try:
        for name, exercise in sorted(all_exercises().items()):
            for path in files(name):
                data = without_timings(grade(path, exercise, limits=TEST_LIMITS, launcher=launcher,
                                             split=split, judges=judges))
                data.pop("submission")  # absolute, differs between checkouts
                data.pop("checks_version")  # changes with any edit of the grader's code
                target = out / name / f"{path.parent.name}-{path.name}.json"
                target.parent.mkdir(parents=True, exist_ok=True)
                text = json.dumps(data, indent=1, sort_keys=True).replace(str(ROOT), "ROOT")
                target.write_text(text, encoding="utf-8")
                print(target, data["score"], flush=True)
    finally:
        if judges is not None:
            judges.close()
        launcher.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]), split="--split" in sys.argv[2:], warm="--warm" in sys.argv[2:])
