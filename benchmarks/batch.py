"""Batch grading against the naive way, side by side in one run.

    python benchmarks/batch.py [--students 200] [--jobs 2] [--timeout 1] [--naive 12] [--scaling 50,200,800]

On a generated class of exercise3 submissions (tests/classroom.py: about half correct, a
third partly wrong, the rest broken or hostile: endless loops, a memory bomb, a fork bomb,
os._exit, a file that is not Python), prints:
  1. `grade batch` from cold (no cache): wall time, throughput, peak memory of the whole
     process tree (sum of proportional set sizes), whether every score is the expected one,
     and where the machine's CPU time went (grading processes, worker servers and their
     workers, the coordinator, the rest of the machine);
  2. the same command again, fully cached;
  3. the naive way on a sample: one fresh `python -m pytest judges.py --submission FILE`
     per submission, one after another (as notebook graders run a class), and the ratio
     of throughputs;
  4. with --scaling, the cold batch time for each class size (it should grow linearly).
Nothing here asserts: the figures go into notes, not into pass or fail.

--timeout is 1 s (a call; importing: 2 s) because one submission in twenty never ends:
with the 10 s default those ten alone would hold two grading slots for 85 s, on any
grader. The naive way gets the same limit.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.classroom import make_class  # noqa: E402

GRADE = [sys.executable, "-c", "from grader.cli import main; main()"]


def run_batch(folder: Path, out: Path, jobs: int, timeout: float,
              cpu: dict[str, float] | None = None) -> tuple[float, float, int]:
    """Wall seconds, peak memory in MiB, and exit status of one `grade batch`; ``cpu``, where
    given, gets the CPU seconds spent by each kind of process (``CpuShares``)."""
    shares = CpuShares() if cpu is not None else None  # sampled only where asked for
    started = time.perf_counter()
    process = subprocess.Popen([*GRADE, "batch", str(folder), "--out", str(out), "-j", str(jobs),
                                "--timeout", str(timeout)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = PeakMemory(process.pid, shares)
    _, err = process.communicate()
    peak.stop()
    if shares is not None and cpu is not None:
        cpu.update(shares.result())
    if process.returncode not in (0, 3):
        print(err.decode()[-2000:], file=sys.stderr)
    return time.perf_counter() - started, peak.mib, process.returncode


class CpuShares:
    """CPU seconds by kind of process over a run: the machine's total from /proc/stat, the
    long-lived processes from their last sample, and by difference what was too short-lived
    to sample (workers: a few hundred milliseconds each) or ran outside the batch. Workers
    cannot be counted through their server's children's times either: the grader kills each
    when it is done with it, and a killed worker's CPU reaches no parent's count."""

    KINDS = (("grading processes", "grading_process"), ("worker servers", "worker_server"),
             ("coordinator", "from grader.cli import main"))

    def __init__(self) -> None:
        self._start, self._own = _machine_cpu_s(), _own_cpu_s()
        self._last: dict[int, tuple[str, float]] = {}

    def sample(self, pid: int) -> None:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            kind = self._kind(pid)
        except OSError:
            return
        # Workers are forks of their server, with its command line: a server's parent grades.
        if kind == "worker servers" and self._kind(int(fields[1])) != "grading processes":
            return
        if kind:
            self._last[pid] = (kind, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))

    def _kind(self, pid: int) -> str:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return ""
        return next((name for name, mark in self.KINDS if mark in cmdline), "")

    def result(self) -> dict[str, float]:
        shares = dict.fromkeys([name for name, _ in self.KINDS], 0.0)
        for kind, seconds in self._last.values():
            shares[kind] += seconds
        total = _machine_cpu_s() - self._start
        shares["this benchmark's sampling"] = _own_cpu_s() - self._own
        shares["workers and the rest of the machine"] = total - sum(shares.values())
        shares["machine, in all"] = total
        return shares


def _own_cpu_s() -> float:
    times = os.times()
    return times.user + times.system


def _machine_cpu_s() -> float:
    """Busy CPU seconds of the whole machine since boot (user, nice, system, irq, softirq)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:8]
    user, nice, system, _idle, _iowait, irq, softirq = map(int, fields)
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


class PeakMemory:
    """Samples the summed PSS of a process and all its descendants every second, and CPU
    shares every 250 ms. Reading every process's smaps_rollup takes CPU from the batch it
    measures: four times a second it cost the batch 4 s of its 80 s of CPU."""

    def __init__(self, pid: int, shares: CpuShares | None = None) -> None:
        self.pid, self.mib, self._done, self._shares = pid, 0.0, threading.Event(), shares
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    def _sample(self) -> None:
        tick = 0
        while not self._done.wait(0.25):
            tree = _tree(self.pid)
            if tick % 4 == 0:
                self.mib = max(self.mib, sum(_pss_kib(p) for p in tree) / 1024)
            tick += 1
            if self._shares is not None:
                for pid in tree:
                    self._shares.sample(pid)


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parent = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack += children.get(pid, [])
    return found


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def wrong_scores(out: Path, expected: dict[str, float]) -> list[str]:
    with open(out / "gradebook.csv", newline="") as handle:
        got = {row["student"]: row["exercise3"] for row in csv.DictReader(handle)}
    return [f"{s}: {got.get(s)} != {score:g}" for s, score in expected.items()
            if got.get(s) in (None, "", "ERROR") or float(got[s]) != score]


def naive(folder: Path, sample: int, timeout: float) -> float:
    """Seconds per submission, one fresh pytest process each, as notebook graders do."""
    files = sorted(folder.glob("*/exercise3.*"))[:sample]
    judges = ROOT / "grader" / "checks" / "exercise3" / "judges.py"
    started = time.perf_counter()
    for path in files:
        subprocess.run([sys.executable, "-m", "pytest", str(judges), "-q", "-p", "no:cacheprovider",
                        "--submission", str(path), "--call-timeout", str(timeout)],
                       cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (time.perf_counter() - started) / len(files)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--naive", type=int, default=12, help="submissions in the naive sample")
    parser.add_argument("--scaling", default="", help="class sizes, e.g. 50,200,800")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="batch-bench-"))
    try:
        folder = work / "class"
        expected = make_class(folder, args.students)
        print(f"class: {args.students} exercise3 submissions, -j {args.jobs}, --timeout {args.timeout:g}, "
              f"{os.cpu_count()} cores")
        cpu: dict[str, float] = {}
        seconds, mib, code = run_batch(folder, work / "out", args.jobs, args.timeout, cpu)
        wrong = wrong_scores(work / "out", expected)
        print(f"batch, cold:   {seconds:6.1f} s  {args.students / seconds:5.2f} submissions/s  "
              f"peak memory {mib:,.0f} MiB  exit {code}  scores as expected: {not wrong}")
        for line in wrong[:10]:
            print("   ", line)
        if hasattr(os, "geteuid") and os.geteuid() != 0:  # smaps_rollup of a non-dumpable process
            print("  (peak memory counts only this user's dumpable processes: the grader's own and "
                  "its worker servers are not dumpable; run as root for the whole tree)")
        print("  CPU seconds: " + ", ".join(f"{kind} {value:.1f}" for kind, value in cpu.items()))
        cached, _, _ = run_batch(folder, work / "out", args.jobs, args.timeout)
        print(f"batch, cached: {cached:6.2f} s")
        if args.naive:
            per = naive(folder, args.naive, args.timeout)
            print(f"naive:         {per:6.2f} s a submission ({args.naive} sampled, serial): "
                  f"batch throughput is {per * args.students / seconds:.1f}x")
        for size in [int(s) for s in args.scaling.split(",") if s]:
            shutil.rmtree(work / "scale", ignore_errors=True)
            make_class(work / "scale" / "class", size)
            took, mib, _ = run_batch(work / "scale" / "class", work / "scale" / "out", args.jobs,
                                     args.timeout)
            print(f"scaling: {size:4d} submissions {took:6.1f} s  {1000 * took / size:5.0f} ms each  "
                  f"peak {mib:,.0f} MiB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
