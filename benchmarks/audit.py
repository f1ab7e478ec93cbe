"""`grade audit` of all six exercises, from cold, against grading the six solutions once.

    python benchmarks/audit.py [--jobs 2] [--repeat 1]

Prints, per run: the audit's wall time and CPU seconds (the process tree's, children
included), per exercise its mutants, caught, marked equivalent and survivors (from the
audit's --json), the machine's load average before and after; then the time of six
plain `grade exerciseN solutions/exerciseN.py` runs one after another, and the ratio of
the two (how many solutions' worth of grading the whole audit costs). The goal is the
audit in under a minute on 2 cores; the figures go into notes, nothing here asserts.
On a shared machine the load average says how much of the wall time was someone else's.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GRADE = [sys.executable, "-c", "from grader.cli import main; main()"]
EXERCISES = [f"exercise{n}" for n in range(1, 7)]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds of the command's process tree, exit status."""
    cpu, started = _children_cpu(), time.perf_counter()
    code = subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    return time.perf_counter() - started, _children_cpu() - cpu, code


def audit_once(jobs: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        figures = Path(folder) / "audit.json"
        load = os.getloadavg()[0]
        wall, cpu, code = timed([*GRADE, "audit", "-j", str(jobs), "--json", str(figures)])
        print(f"grade audit (all six, cold, -j {jobs}): {wall:.1f} s wall, {cpu:.1f} s CPU, exit {code}, "
              f"load {load:.1f} -> {os.getloadavg()[0]:.1f}")
        if figures.exists():
            for name, row in json.loads(figures.read_text())["exercises"].items():
                print(
                    f"  {name}: {row['mutants']} mutants, {row['caught']} caught, {row['equivalent']} marked "
                    f"equivalent, {row['survivors']} survivors, {row['overcredited']} over-credited"
                )
    return wall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    walls = [audit_once(args.jobs) for _ in range(args.repeat)]
    with tempfile.TemporaryDirectory() as folder:
        single = 0.0
        for name in EXERCISES:
            wall, _, _ = timed([*GRADE, name, f"solutions/{name}.py", "--report", f"{folder}/{name}.json"])
            single += wall
    print(
        f"six solutions graded one by one: {single:.1f} s; the audit costs {min(walls) / single:.1f} of that"
    )


if __name__ == "__main__":
    main()
