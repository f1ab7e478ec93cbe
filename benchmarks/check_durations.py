"""Record how long each check takes on its exercise's reference solution, for splitting a
``grade`` between two judging processes (``grader/grading/two_judges.py``).

    python benchmarks/check_durations.py [--repeat 3]

Writes grader/checks/durations.json: exercise -> check name -> median seconds over the
runs, all in one process. Run it again after adding or changing checks (a test says when
a check has no entry); only the balance of the split depends on it, never a verdict.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.grading.engine import grade  # noqa: E402
from grader.grading.exercises import all_exercises  # noqa: E402
from grader.grading.sandbox_setup import start_launcher  # noqa: E402
from grader.grading.two_judges import DURATIONS  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    launcher = start_launcher()
    durations: dict[str, dict[str, float]] = {}
    try:
        for name, exercise in sorted(all_exercises().items()):
            runs: dict[str, list[float]] = {}
            for _ in range(args.repeat):
                report = grade(ROOT / "solutions" / f"{name}.py", exercise, launcher=launcher)
                for check in report.checks:
                    if not check.hidden:  # a student's copy has no hidden checks to weigh
                        runs.setdefault(check.name, []).append(check.duration_s)
            durations[name] = {check: round(statistics.median(times), 3) for check, times in runs.items()}
            print(f"{name}: {sum(durations[name].values()):.2f} s in {len(runs)} checks")
    finally:
        launcher.close()
    DURATIONS.write_text(json.dumps(durations, indent=1, sort_keys=True, ensure_ascii=False) + "\n",
                         encoding="utf-8")
    print(f"written: {DURATIONS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
