"""How fast `grade watch` answers a save, against a cold `grade`, in one run.

    python benchmarks/watch.py [--repeat N]

Starts `grade watch exercise3` on a copy of the reference solution, then saves the file N
times (alternating two correct versions, so every save regrades) and times each save to
the end of its printed report. Beside it, the median of N cold `grade exercise3` runs on
the same file. Prints both and their ratio; nothing here asserts.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "exercise3.py"


def cold(path: Path, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "grader", "exercise3", str(path), "--report", str(path) + ".json"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def warm(path: Path, repeat: int) -> float:
    process = subprocess.Popen(
        [sys.executable, "-m", "grader", "watch", "exercise3", str(path)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    ready = threading.Semaphore(0)

    def read() -> None:
        for line in process.stderr:
            if line.startswith("Watching"):
                ready.release()

    threading.Thread(target=read, daemon=True).start()
    ready.acquire()
    source, times = SOLUTION.read_text(), []
    try:
        for i in range(repeat):
            started = time.perf_counter()
            path.write_text(source + f"\n# save {i}\n")
            ready.acquire()
            times.append(time.perf_counter() - started)
    finally:
        process.terminate()
        process.wait()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "exercise3.py"
        path.write_text(SOLUTION.read_text())
        regrade = warm(path, args.repeat)
        fresh = cold(path, args.repeat)
    print(f"grade watch, save to report (median of {args.repeat}): {regrade * 1000:.0f} ms")
    print(f"cold grade exercise3 (median of {args.repeat}):           {fresh * 1000:.0f} ms")
    print(f"ratio: a save regrades in {regrade / fresh:.2f}x the time of a cold grade")


if __name__ == "__main__":
    main()
