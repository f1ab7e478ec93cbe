"""How fast the grader starts and answers, as ratios measured side by side in one run.

    python benchmarks/startup.py [--repeat N]

Prints medians of N runs for:
  1. a worker ready to answer (started, submission imported): forked from the worker
     server, when the server's spare worker is ready (the request comes after a pause, as it
     does while a submission is graded) and when requests come back to back (the spare is
     still being made), versus a fresh interpreter that imports torch itself;
  2. one probe round trip to a warm worker;
  3. a cold `grade exerciseN` on each reference solution versus a bare `import torch`.
Nothing here asserts: the figures go into notes, not into pass or fail.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.checks.exercise3 import probes  # noqa: E402
from grader.grading.exercises import all_exercises, probes_modules  # noqa: E402
from grader.grading.sandbox_setup import hidden_paths  # noqa: E402
from grader.grading.submission import read_submission  # noqa: E402
from grader.sandbox.client import Sandbox  # noqa: E402
from grader.sandbox.launchers import ServerLauncher, SpawnLauncher  # noqa: E402

SOLUTION = ROOT / "solutions" / "exercise3.py"


def median_time(action, repeat: int, pause_s: float = 0.0) -> float:
    times = []
    for _ in range(repeat):
        time.sleep(pause_s)  # not timed
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def ready_worker(launcher) -> None:
    sandbox = Sandbox(launcher, read_submission(SOLUTION))
    sandbox.prepare()
    sandbox.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat

    server = ServerLauncher(probes_modules(), hidden_paths([SOLUTION]))
    ready_worker(server)  # wait for the server once; from here on it is warm
    forked = median_time(lambda: ready_worker(server), max(repeat, 9), pause_s=0.3)
    back_to_back = median_time(lambda: ready_worker(server), max(repeat, 9))
    spawned = median_time(lambda: ready_worker(SpawnLauncher(probes_modules(), hidden_paths([SOLUTION]))),
                          max(2, repeat // 2))
    print(f"worker ready, forked from the worker server: {forked * 1000:8.1f} ms  (target: under 20 ms)")
    print(f"  the same, requests back to back:           {back_to_back * 1000:8.1f} ms")
    print(f"worker ready, fresh interpreter:             {spawned * 1000:8.1f} ms")
    print(f"  ratio fresh / forked: {spawned / forked:.0f}x")

    sandbox = Sandbox(server, read_submission(SOLUTION))
    sandbox.prepare()
    x = [torch.randn(4, 5)]
    calls = 200
    per_call = median_time(lambda: [sandbox.run(probes.centered_outputs, x) for _ in range(calls)], 3) / calls
    print(f"one probe round trip (CenteredLayer on a 4x5 tensor): {per_call * 1000:.2f} ms")
    sandbox.close()
    server.close()

    # Bare imports and cold grades alternate, round by round, so that a change in the
    # machine's load weighs on both sides of each ratio alike.
    exercises = list(all_exercises())
    times: dict[str, list[float]] = {name: [] for name in ["import torch", *exercises]}
    for _ in range(repeat):
        times["import torch"].append(timed(lambda: subprocess.run([sys.executable, "-c", "import torch"],
                                                                  check=True)))
        for exercise in exercises:
            times[exercise].append(timed(lambda e=exercise: cold_grade(e)))
    bare = statistics.median(times["import torch"])
    print(f"bare `python -c 'import torch'`:              {bare:6.2f} s")
    for exercise in exercises:
        cold = statistics.median(times[exercise])
        print(f"cold `grade {exercise}` on the solution:       {cold:6.2f} s  "
              f"({cold / bare:.2f}x import torch)")
    print("  target: within 1.5x import torch for every exercise")


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def cold_grade(exercise: str) -> None:
    report = ROOT / "reports" / f"benchmark-{exercise}.json"
    solution = ROOT / "solutions" / f"{exercise}.py"
    command = [sys.executable, "-m", "grader", exercise, str(solution), "--report", str(report)]
    subprocess.run(command, check=True, capture_output=True)


if __name__ == "__main__":
    main()
