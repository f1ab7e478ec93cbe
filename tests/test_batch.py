"""``grade batch`` and ``grade merge`` as an instructor runs them.

A generated class (tests/classroom.py) holds one submission of every kind: correct, wrong,
broken (syntax error, missing package, broken notebook JSON, not Python) and hostile
(endless loops, memory bomb, fork bomb, os._exit). Each must get the score its fixture
expects, and none may stop or slow the others beyond its own time limit.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.batch.discover import discover
from grader.grading.exercises import all_exercises
from tests.classroom import make_class
from tests.conftest import REQUIRED_ISOLATION, ROOT

GRADE = [sys.executable, "-m", "grader"]
TIMEOUT = "1"  # seconds a call (importing: two); the hostile submissions cost that much
KNOWN = set(all_exercises())


def batch(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GRADE, "batch", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def gradebook(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "gradebook.csv", newline="") as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


def sources(out: Path) -> dict[str, str]:
    manifest = json.loads((out / "manifest.json").read_text())
    return {o["student"]: o["source"] for o in manifest["outcomes"]}


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory) -> tuple[Path, Path, dict[str, float], subprocess.CompletedProcess[str]]:
    """The class, graded once from cold: (folder, out, expected scores, the run)."""
    root = tmp_path_factory.mktemp("batch")
    expected = make_class(root / "class", weighted=False)
    started = time.perf_counter()
    result = batch(str(root / "class"), "--out", str(root / "out"), "-j", "2", "--timeout", TIMEOUT)
    result.seconds = time.perf_counter() - started  # type: ignore[attr-defined]
    return root / "class", root / "out", expected, result


# -- finding submissions -----------------------------------------------------------------


def touch(path: Path, text: str = "x = 1\n", age_s: float = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if age_s:
        stamp = time.time() - age_s
        os.utime(path, (stamp, stamp))
    return path


def found_jobs(root: Path, exercise: str | None = None) -> set[tuple[str, str, str]]:
    jobs = discover(root, KNOWN, exercise).jobs
    return {(j.student, j.exercise, j.path.relative_to(root).as_posix()) for j in jobs}


def test_a_folder_per_student(tmp_path):
    touch(tmp_path / "alice" / "exercise3.py")
    touch(tmp_path / "alice" / "exercise1.ipynb", "{}")
    touch(tmp_path / "bob" / "exercise3.ipynb", "{}")
    notes = touch(tmp_path / "bob" / "notes.py")
    found = discover(tmp_path, KNOWN)
    assert found_jobs(tmp_path) == {("alice", "exercise3", "alice/exercise3.py"),
                                    ("alice", "exercise1", "alice/exercise1.ipynb"),
                                    ("bob", "exercise3", "bob/exercise3.ipynb")}
    assert [(s.path, "not named after an exercise" in s.why) for s in found.skipped] == [(notes, True)]


def test_the_newer_of_py_and_ipynb_is_graded_and_the_other_named(tmp_path):
    touch(tmp_path / "alice" / "exercise3.py", age_s=3600)
    touch(tmp_path / "alice" / "exercise3.ipynb", "{}")
    found = discover(tmp_path, KNOWN)
    assert [j.path.name for j in found.jobs] == ["exercise3.ipynb"]
    assert [s.path.name for s in found.skipped] == ["exercise3.py"]
    assert found.skipped[0].why == "alice/exercise3.ipynb is graded as alice's exercise3 instead"


def test_a_file_per_student_needs_the_exercise(tmp_path):
    touch(tmp_path / "alice.py")
    touch(tmp_path / "bob.ipynb", "{}")
    expected = {("alice", "exercise4", "alice.py"), ("bob", "exercise4", "bob.ipynb")}
    assert found_jobs(tmp_path, "exercise4") == expected
    found = discover(tmp_path, KNOWN)
    assert not found.jobs and all("--exercise" in s.why for s in found.skipped)


@pytest.mark.parametrize("inside", [True, False])
def test_an_nbgrader_submitted_tree(tmp_path, inside):
    touch(tmp_path / "submitted" / "alice" / "exercise3" / "my work.ipynb", "{}")
    touch(tmp_path / "submitted" / "bob" / "exercise3" / "exercise3.ipynb", "{}")
    touch(tmp_path / "submitted" / "bob" / "exercise2" / "answers.py")
    root = tmp_path / "submitted" if inside else tmp_path
    found = discover(root, KNOWN)
    assert found.layout.startswith("nbgrader")
    assert found_jobs(tmp_path / "submitted") == {
        ("alice", "exercise3", "alice/exercise3/my work.ipynb"),
        ("bob", "exercise3", "bob/exercise3/exercise3.ipynb"),
        ("bob", "exercise2", "bob/exercise2/answers.py")}


def test_github_classroom_clones_keep_the_username(tmp_path):
    for user in ("alice", "bob-smith"):
        repo = tmp_path / f"dl-computation-{user}"
        touch(repo / "exercises" / "exercise3.py")
        touch(repo / "grader" / "checks" / "exercise3" / "judges.py")  # the course's own code
        touch(repo / "solutions" / "exercise3.py")
    found = discover(tmp_path, KNOWN)
    expected = {("alice", "exercise3"), ("bob-smith", "exercise3")}
    assert {(j.student, j.exercise) for j in found.jobs} == expected
    assert "GitHub Classroom" in found.layout and not found.skipped


# -- grading a class ---------------------------------------------------------------------


def test_every_submission_gets_its_expected_score(graded_class):
    folder, out, expected, result = graded_class
    assert result.returncode == 0, result.stderr
    book = gradebook(out)
    assert {s: float(row["exercise3"]) for s, row in book.items()} == expected
    assert all(float(row["total"]) == float(row["exercise3"]) for row in book.values())
    assert f"Found {len(expected)} submissions: {len(expected)} students × 1 exercises" in result.stderr
    for student in expected:
        report = json.loads((out / "reports" / student / "exercise3.json").read_text())
        assert report["score"] == expected[student] and report["submission"].startswith(str(folder))


def test_hostile_submissions_cost_only_their_own_time_limits(graded_class):
    _, out, expected, result = graded_class
    reports = [json.loads(p.read_text()) for p in (out / "reports").glob("*/exercise3.json")]
    # The slowest is an endless loop at import (2 s) or in forward (1 s a target), stopped at its
    # limits; unstopped, it would run into the 30 s that all calls into one submission may take
    # (30 × --timeout). The bound between leaves room for a busy runner.
    assert max(r["timings"]["total_s"] for r in reports) < 25
    # The batch adds no more than start-up to the grading itself (how much two grading
    # processes gain is a timing, measured by benchmarks/batch.py).
    assert result.seconds < sum(r["timings"]["total_s"] for r in reports) + 60


def test_the_summary_has_the_distribution_and_an_item_analysis(graded_class):
    _, out, expected, _ = graded_class
    summary = (out / "summary.md").read_text()
    assert f"{len(expected)} students, {len(expected)} submissions graded." in summary
    assert "| 90–100% |" in summary and "Item analysis" in summary
    # centered_sum.py's mistake appears as the most common failure of its check, numbers masked.
    row = next(line for line in summary.splitlines()
               if line.startswith("| CenteredLayer: output has zero mean"))
    assert "mean should be #" in row
    assert "did not load and failed every check" in summary
    assert "None: every submission was graded." in summary


def test_a_rerun_takes_every_report_from_the_cache(graded_class, tmp_path):
    folder, out, expected, _ = graded_class
    before = (out / "gradebook.csv").read_text()
    result = batch(str(folder), "--out", str(out), "--timeout", TIMEOUT, timeout=60)
    assert result.returncode == 0, result.stderr
    assert set(sources(out).values()) == {"cached"}
    assert (out / "gradebook.csv").read_text() == before


def test_only_a_changed_submission_is_graded_again(graded_class, tmp_path):
    folder, out, expected, _ = graded_class
    copy_folder, copy_out = tmp_path / "class", tmp_path / "out"
    shutil.copytree(folder, copy_folder)
    shutil.copytree(out / "cache", copy_out / "cache")
    changed = next(iter(sorted(expected)))
    target = next((copy_folder / changed).iterdir())
    target.write_bytes(target.read_bytes() + b"\n")
    result = batch(str(copy_folder), "--out", str(copy_out), "--timeout", TIMEOUT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert {s for s, source in sources(copy_out).items() if source == "graded"} == {changed}
    assert float(gradebook(copy_out)[changed]["exercise3"]) == expected[changed]


def test_shards_merge_into_the_unsharded_gradebook(graded_class, tmp_path):
    folder, out, expected, _ = graded_class
    parts = []
    for k in (1, 2):
        part = tmp_path / f"shard{k}"
        result = batch(str(folder), "--out", str(part), "--timeout", TIMEOUT, "--shard", f"{k}/2")
        assert result.returncode == 0, result.stderr
        parts.append(part)
    shares = [set(sources(p)) for p in parts]
    assert shares[0] and shares[1] and not shares[0] & shares[1]
    assert shares[0] | shares[1] == set(expected)
    merged = subprocess.run([*GRADE, "merge", *map(str, parts), "--out", str(tmp_path / "merged")],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert merged.returncode == 0, merged.stderr
    assert (tmp_path / "merged" / "gradebook.csv").read_text() == (out / "gradebook.csv").read_text()
    assert len(list((tmp_path / "merged" / "reports").glob("*/exercise3.json"))) == len(expected)


def test_ctrl_c_keeps_what_is_done_and_a_rerun_goes_on(tmp_path):
    expected = make_class(tmp_path / "class", 12)
    out = tmp_path / "out"
    process = subprocess.Popen([*GRADE, "batch", str(tmp_path / "class"), "--out", str(out), "-j", "1",
                                "--timeout", TIMEOUT], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        assert _wait_for(lambda: len(list((out / "cache").rglob("*.json"))) >= 2, process), \
            "the batch never finished two submissions"
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()  # only if it is still running: a failed wait
    assert process.returncode == 130, err
    assert "Interrupted: what was graded is kept" in err
    done = sources(out)
    assert 2 <= len(done) < len(expected)
    assert (out / "gradebook.csv").exists() and "interrupted" in (out / "summary.md").read_text()
    assert not list(out.rglob(".*.json.*"))  # no half-written file
    result = batch(str(tmp_path / "class"), "--out", str(out), "--timeout", TIMEOUT)
    assert result.returncode == 0, result.stderr
    again = sources(out)
    assert all(again[s] == "cached" for s in done if done[s] != "error")
    assert {s: float(r["exercise3"]) for s, r in gradebook(out).items()} == expected


def test_a_grading_process_that_dies_is_an_infrastructure_error_retried_next_time(tmp_path):
    folder = tmp_path / "class"
    shutil.copy(ROOT / "solutions" / "exercise3.py", touch(folder / "alice" / "exercise3.py"))
    slow = folder / "bob" / "exercise3.py"
    touch(slow, "import time\ntime.sleep(3)\n" + (ROOT / "solutions" / "exercise3.py").read_text())
    out = tmp_path / "out"
    process = subprocess.Popen([*GRADE, "batch", str(folder), "--out", str(out), "-j", "1", "--timeout", "5"],
                               cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        def one_cached() -> bool:
            return len(list((out / "cache").rglob("*.json"))) == 1

        killed = _kill_grading_process_while(process.pid, one_cached)
        _, err = process.communicate(timeout=120)
    finally:
        process.kill()  # only if it is still running: a failed wait
    assert killed
    assert process.returncode == 3, err
    assert "could not grade bob/exercise3" in err and "grading process died" in err
    assert gradebook(out)["bob"]["exercise3"] == "ERROR" and gradebook(out)["alice"]["exercise3"] == "20"
    assert "bob / exercise3" in (out / "summary.md").read_text()
    result = batch(str(folder), "--out", str(out), "--timeout", "5")
    assert result.returncode == 0, result.stderr
    assert sources(out) == {"alice": "cached", "bob": "graded"}
    assert gradebook(out)["bob"]["exercise3"] == "20"


def _wait_for(condition, process: subprocess.Popen, wait_s: float = 120) -> bool:
    """Whether ``condition()`` came to hold while ``process`` ran, within ``wait_s``."""
    deadline = time.monotonic() + wait_s
    while not condition():
        if process.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _kill_grading_process_while(batch_pid: int, condition, wait_s: float = 60) -> bool:
    """SIGKILL the grading process of the batch ``batch_pid`` (this test's own, never another
    run's) once ``condition()`` holds (one job done)."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if condition():
            time.sleep(0.5)  # the slow submission is now being graded
            for pid in _descendants(batch_pid):
                try:
                    command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                except OSError:
                    continue
                if b"grader.batch.grading_process" in command:
                    os.kill(pid, signal.SIGKILL)
                    return True
        time.sleep(0.05)
    return False


def _descendants(pid: int) -> list[int]:
    """The processes under ``pid``, children first."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rpartition(")")[2].split()[1])  # after "pid (command) state"
        children.setdefault(parent, []).append(int(entry.name))
    found, queue = [], list(children.get(pid, []))
    while queue:
        child = queue.pop(0)
        found.append(child)
        queue += children.get(child, [])
    return found


def test_no_cache_grades_everything_again(tmp_path):
    folder, out = tmp_path / "class", tmp_path / "out"
    shutil.copy(ROOT / "solutions" / "exercise3.py", touch(folder / "alice" / "exercise3.py"))
    touch(folder / "bob" / "exercise3.py", "def broken(:\n")
    for args, source in (((), "graded"), ((), "cached"), (("--no-cache",), "graded")):
        result = batch(str(folder), "--out", str(out), "--timeout", TIMEOUT, *args)
        assert result.returncode == 0, result.stderr
        assert sources(out) == {"alice": source, "bob": source}
    assert gradebook(out)["alice"]["exercise3"] == "20" and gradebook(out)["bob"]["exercise3"] == "0"


def test_symbolic_links_are_skipped_not_followed(tmp_path):
    touch(tmp_path / "alice" / "exercise3.py")
    (tmp_path / "mallory").mkdir()
    (tmp_path / "mallory" / "exercise3.py").symlink_to(ROOT / "solutions" / "exercise3.py")
    (tmp_path / "trudy").symlink_to(ROOT / "solutions", target_is_directory=True)
    found = discover(tmp_path, KNOWN)
    assert [job.student for job in found.jobs] == ["alice"]
    assert [(s.path.parent.name, "symbolic link" in s.why) for s in found.skipped] == [("mallory", True)]


def write_part(folder: Path, shard, timeout: float = 1.0, version: str = "v1", students=("alice",)) -> Path:
    outcomes = [{"student": s, "exercise": "exercise3", "path": f"/x/{s}.py", "sha256": "0" * 64,
                 "source": "error", "error": "boom"} for s in students]
    folder.mkdir(parents=True)
    manifest = {"checks_version": version, "timeout_s": timeout, "jobs": len(students), "shard": shard,
                "outcomes": outcomes}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


@pytest.mark.parametrize(("parts", "complaint"), [
    ([([1, 2], 1.0, "v1", ("a",)), ([2, 2], 2.0, "v1", ("b",))], "different --timeout"),
    ([([1, 2], 1.0, "v1", ("a",)), ([2, 2], 1.0, "v2", ("b",))], "different checks versions"),
    ([([1, 2], 1.0, "v1", ("a",)), ([1, 2], 1.0, "v1", ("b",))],
     "shards given twice: [1]; shards missing: [2]"),
    ([([1, 3], 1.0, "v1", ("a",)), ([2, 3], 1.0, "v1", ("b",))], "shards missing: [3]"),
    ([(None, 1.0, "v1", ("a",)), (None, 1.0, "v1", ("a",))], "a/exercise3 is in more than one part"),
])
def test_merge_refuses_parts_that_are_not_one_run(tmp_path, parts, complaint):
    folders = [str(write_part(tmp_path / f"p{i}", *spec)) for i, spec in enumerate(parts)]
    result = subprocess.run([*GRADE, "merge", *folders, "--out", str(tmp_path / "m")], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and complaint in result.stderr, result.stderr
    assert not (tmp_path / "m" / "gradebook.csv").exists()


def test_merge_refuses_to_write_into_a_part(tmp_path):
    part = write_part(tmp_path / "p", None)
    result = subprocess.run([*GRADE, "merge", str(part), "--out", str(part)], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "not one of the parts" in result.stderr


def test_a_second_batch_into_the_same_out_is_refused(tmp_path):
    from filelock import FileLock

    touch(tmp_path / "class" / "alice" / "exercise3.py")
    out = tmp_path / "out"
    out.mkdir()
    with FileLock(out / ".lock"):  # as another grade batch holds it
        result = batch(str(tmp_path / "class"), "--out", str(out), timeout=60)
    assert result.returncode == 2 and "another grade batch is writing" in result.stderr


def test_a_finished_batch_leaves_no_cgroup_behind(tmp_path):
    """Its grading processes end by themselves, and their worker servers remove what they
    made; killing them (as an interrupted batch must) would leave the servers' cgroups."""
    before = _grader_cgroups()
    make_class(tmp_path / "class", 2)
    result = batch(str(tmp_path / "class"), "--out", str(tmp_path / "out"), "--timeout", TIMEOUT)
    assert result.returncode == 0, result.stderr
    report = json.loads(next((tmp_path / "out" / "reports").glob("*/exercise3.json")).read_text())
    if "worker memory" not in report["isolation"]["in_force"]:
        if REQUIRED_ISOLATION == "full":
            pytest.fail("no cgroups for workers (GRADER_REQUIRE_ISOLATION=full)")
        pytest.skip("no cgroups on this machine")
    assert not _grader_cgroups() - before


def _grader_cgroups() -> set[Path]:
    """The worker servers' cgroup folders (v1 or v2, up to four levels down)."""
    root = Path("/sys/fs/cgroup")
    return {path for depth in range(1, 5) for path in root.glob("/".join(["*"] * depth))
            if path.name.startswith("d2l-grader-")}


def test_the_coordinator_starts_its_grading_processes_without_importing_torch(tmp_path):
    """Importing torch takes over a second, and the grading processes (which import it
    themselves) would wait for it: the coordinator needs only the limits' arithmetic."""
    touch(tmp_path / "class" / "alice" / "exercise3.py")
    script = f"""
import sys
from pathlib import Path
from grader.batch import scheduler
from grader.batch.discover import discover
from grader.grading.exercises import all_exercises

class Pool:
    def __init__(self, *args):
        print("torch" in sys.modules)
    def run(self, jobs, finish):
        pass

scheduler.Pool = Pool
jobs = discover(Path({str(tmp_path / "class")!r}), set(all_exercises())).jobs
settings = scheduler.Settings(out=Path({str(tmp_path / "out")!r}), parallel=2, timeout_s=1.0)
scheduler.grade_batch(jobs, settings, "v", lambda outcome: None)
"""
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.stdout.strip() == "False", result.stdout + result.stderr


def test_a_batch_says_once_when_isolation_was_partial(tmp_path):
    """Where workers cannot be fully isolated, students graded side by side may affect one
    another: the instructor hears it at the end of the run, not only in each report."""
    folder, out = tmp_path / "class", tmp_path / "out"
    shutil.copy(ROOT / "solutions" / "exercise3.py", touch(folder / "alice" / "exercise3.py"))
    result = batch(str(folder), "--out", str(out), "--timeout", TIMEOUT, "--isolation", "portable")
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("Isolation was partial on this machine (missing: ") == 1, result.stderr
    assert "network" in result.stderr.split("Isolation was partial")[1]
