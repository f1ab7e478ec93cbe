"""The grading seed (grader.grading.seed): official grading draws inputs a student cannot
predict from the public checks, and reports name the seed, never the secret.

The attack it stops: record every input a public check sends (here: spy on the probe calls
while the reference solution is graded, as a student could with plain pytest), then submit
a lookup table that answers exactly those inputs and implements nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from grader import cli as cli_module
from grader.course import release
from grader.grading import seed as seed_module
from grader.grading.engine import grade
from grader.grading.exercises import all_exercises
from grader.grading.replay import Tapes
from grader.grading.seed import PUBLIC_SEED, GradingSeed, SecretError, load_seed
from grader.platforms.github import workflow
from grader.report import Status
from grader.sandbox import client, wire
from tests.conftest import ROOT, TEST_LIMITS, without_timings
from tests.course_env import gradescope_root, run_autograder
from tests.test_fixtures import EXERCISES

SECRET = "course-secret-" + "3f9a" * 8
COURSE = GradingSeed(SECRET.encode())
EXERCISE = all_exercises()["exercise3"]
SOLUTION = ROOT / "solutions" / "exercise3.py"
ZERO_MEAN = "CenteredLayer: output has zero mean"
SHIFT = "CenteredLayer: output is the input shifted by one constant"
CLEAN_ENV = {
    k: v
    for k, v in os.environ.items()
    if k not in (seed_module.SECRET_ENV, seed_module.SECRET_FILE_ENV, "GITHUB_STEP_SUMMARY")
}

LOOKUP = """\
import os
import torch
from torch import nn

TABLE = {table!r}


def _key(X):
    values = [float(v).hex() for v in X.detach().double().flatten().tolist()]
    return repr((tuple(X.shape), str(X.dtype), values))


class CenteredLayer(nn.Module):
    def forward(self, X):
        answer = TABLE.get(_key(X))
        if answer is None:  # an input nobody recorded: no idea; try to leak what the grader holds
            print({{key: value for key, value in os.environ.items() if "SECRET" in key}})
            return X + 1.0
        values = torch.tensor([float.fromhex(v) for v in answer], dtype=torch.float64)
        return values.to(X.dtype).reshape(X.shape)
"""


def _key(x: torch.Tensor) -> str:
    return repr((tuple(x.shape), str(x.dtype), [float(v).hex() for v in x.double().flatten().tolist()]))


@pytest.fixture(scope="module")
def lookup_submission(launcher, tmp_path_factory) -> Path:
    """A submission that answers CenteredLayer from a table of the inputs the public seed
    sends (recorded while the solution was graded) and implements nothing."""
    seen: list[torch.Tensor] = []
    real_call = client.Sandbox._call

    def spy(self, probe, args, timeout):
        if probe.__name__ == "centered_outputs":
            seen.extend(args[0])
        return real_call(self, probe, args, timeout)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(client.Sandbox, "_call", spy)
        grade(SOLUTION, EXERCISE, limits=TEST_LIMITS, launcher=launcher)
    assert len(seen) > 20
    table = {
        _key(x): [float(v).hex() for v in (x.double() - x.double().mean()).flatten().tolist()] for x in seen
    }
    path = tmp_path_factory.mktemp("lookup") / "exercise3.py"
    path.write_text(LOOKUP.format(table=table), encoding="utf-8")
    return path


def statuses(report) -> dict[str, Status]:
    return {check.name: check.status for check in report.checks}


# -- the seed itself --------------------------------------------------------------------------


def test_without_a_secret_the_seed_is_public_and_changes_nothing():
    assert load_seed(None, {}) == PUBLIC_SEED and load_seed(None, {"GRADER_SECRET": "  \n"}) == PUBLIC_SEED
    assert PUBLIC_SEED.fingerprint == "public" and PUBLIC_SEED.for_check("exercise3/judges.py::t") is None
    assert "public seed" in PUBLIC_SEED.describe()


def test_the_secret_comes_from_the_option_then_the_file_variable_then_the_variable(tmp_path):
    given, named = tmp_path / "given.secret", tmp_path / "named.secret"
    given.write_text("g" * 20 + "\n")
    named.write_text("n" * 20)
    env = {"GRADER_SECRET_FILE": str(named), "GRADER_SECRET": "e" * 20}
    assert load_seed(given, env).secret == b"g" * 20  # the trailing newline dropped
    assert load_seed(None, env).secret == b"n" * 20
    assert load_seed(None, {"GRADER_SECRET": "e" * 20}).secret == b"e" * 20


@pytest.mark.parametrize("env", [{"GRADER_SECRET": "short"}, {"GRADER_SECRET_FILE": "/no/such/file"}])
def test_an_unusable_secret_is_refused(env):
    with pytest.raises(SecretError):
        load_seed(None, env)


def test_the_fingerprint_names_the_secret_without_showing_it():
    fingerprint = COURSE.fingerprint
    assert fingerprint == hashlib.sha256(b"fingerprint" + SECRET.encode()).hexdigest()[:12]
    assert SECRET not in repr(COURSE) and fingerprint != GradingSeed(SECRET.encode() + b"x").fingerprint
    assert COURSE.for_check("a") != COURSE.for_check("b")  # each check its own seed
    assert COURSE.for_check("a") != GradingSeed(b"another-secret-of-16").for_check("a")


# -- the lookup table: passes the public seed, fails a course's -------------------------------


def test_a_lookup_table_of_the_public_inputs_passes_locally_and_fails_under_a_course_secret(
    launcher, lookup_submission
):
    public = grade(lookup_submission, EXERCISE, limits=TEST_LIMITS, launcher=launcher)
    official = grade(lookup_submission, EXERCISE, limits=TEST_LIMITS, launcher=launcher, seed=COURSE)
    assert statuses(public)[ZERO_MEAN] == statuses(public)[SHIFT] == Status.PASSED
    assert statuses(official)[ZERO_MEAN] == Status.FAILED
    assert public.seed == "public" and official.seed == COURSE.fingerprint
    assert public.to_dict()["seed"] == "public" and official.to_dict()["seed"] == COURSE.fingerprint


def test_the_same_submission_and_secret_give_the_same_report_every_time(launcher, lookup_submission):
    runs = [
        without_timings(
            grade(lookup_submission, EXERCISE, limits=TEST_LIMITS, launcher=launcher, seed=COURSE)
        )
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    # and a public run after a secret one draws the public inputs again (judges stay imported)
    assert (
        statuses(grade(lookup_submission, EXERCISE, limits=TEST_LIMITS, launcher=launcher))[ZERO_MEAN]
        == Status.PASSED
    )


@pytest.mark.parametrize("exercise", EXERCISES)
def test_replay_under_a_secret_sends_what_plain_hypothesis_sends(launcher, monkeypatch, exercise):
    calls: list[str] = []
    real_call = client.Sandbox._call

    def spy(self, probe, args, timeout):
        calls.append(probe.__name__ + hashlib.sha256(wire.dumps(list(args))).hexdigest())
        return real_call(self, probe, args, timeout)

    monkeypatch.setattr(client.Sandbox, "_call", spy)
    solution, own, runs = ROOT / "solutions" / f"{exercise}.py", Tapes(), []
    for tapes in (None, own, own):  # plain, recording, replaying: all under the secret
        calls.clear()
        report = grade(
            solution,
            all_exercises()[exercise],
            limits=TEST_LIMITS,
            launcher=launcher,
            tapes=tapes,
            seed=COURSE,
        )
        runs.append((without_timings(report), list(calls)))
    assert len(runs[0][1]) > 20 and runs[0][0]["seed"] == COURSE.fingerprint
    assert runs[0] == runs[1] == runs[2]


# -- the secret stays out of every output -----------------------------------------------------


def _files_hold(folder: Path, text: str) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and text.encode() in p.read_bytes()]


@pytest.mark.slow
def test_grade_with_a_secret_file_records_the_fingerprint_and_writes_the_secret_nowhere(
    lookup_submission, tmp_path
):
    secret_file = tmp_path / "course.secret"
    secret_file.write_text(SECRET + "\n")
    out = tmp_path / "out"
    args = [
        sys.executable,
        "-m",
        "grader",
        "exercise3",
        str(lookup_submission),
        "--report",
        str(out / "r.json"),
        "--output-dir",
        str(out),
        *[f"--format={f}" for f in ("junit", "markdown", "gradescope", "csv")],
    ]
    official = subprocess.run(
        [*args, "--secret-file", str(secret_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=CLEAN_ENV | {"GRADER_SECRET": SECRET},
    )
    assert official.returncode == 0, official.stderr
    assert f"course seed {COURSE.fingerprint}" in official.stderr
    assert SECRET not in official.stdout + official.stderr and not _files_hold(out, SECRET)
    report = json.loads((out / "r.json").read_text())
    assert report["seed"] == COURSE.fingerprint
    assert {c["name"]: c["status"] for c in report["checks"]}[ZERO_MEAN] == "failed"
    student = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300, env=CLEAN_ENV)
    assert student.returncode == 0, student.stderr
    assert "public seed" in student.stderr and json.loads((out / "r.json").read_text())["seed"] == "public"


def test_a_short_secret_is_a_usage_error(tmp_path):
    (tmp_path / "s").write_text("tiny")
    result = CliRunner().invoke(
        cli_module.cli,
        [
            "exercise3",
            str(SOLUTION),
            "--secret-file",
            str(tmp_path / "s"),
            "--report",
            str(tmp_path / "r.json"),
        ],
    )
    assert result.exit_code == 2 and "at least 16" in result.output


@pytest.mark.slow
def test_batch_grades_with_the_secret_and_caches_by_its_fingerprint(lookup_submission, tmp_path):
    folder = tmp_path / "class"
    for student, source in (("alice", lookup_submission), ("bob", SOLUTION)):
        (folder / student).mkdir(parents=True)
        (folder / student / "exercise3.py").write_bytes(source.read_bytes())
    out = tmp_path / "graded"
    command = [
        sys.executable,
        "-m",
        "grader",
        "batch",
        str(folder),
        "--out",
        str(out),
        "-j",
        "1",
        "--timeout",
        "2",
    ]
    env = CLEAN_ENV | {"GRADER_SECRET": SECRET}
    for source in ("graded", "cached"):
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
        assert done.returncode == 0, done.stderr
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["seed"] == COURSE.fingerprint
        assert {o["student"]: o["source"] for o in manifest["outcomes"]} == {"alice": source, "bob": source}
    alice = json.loads((out / "reports" / "alice" / "exercise3.json").read_text())
    assert alice["seed"] == COURSE.fingerprint
    assert {c["name"]: c["status"] for c in alice["checks"]}[ZERO_MEAN] == "failed"
    assert list((out / "cache").glob(f"*/*/seed-{COURSE.fingerprint}"))
    assert not _files_hold(out, SECRET) and SECRET not in done.stdout + done.stderr
    public = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, env=CLEAN_ENV)
    assert public.returncode == 0, public.stderr  # another seed: graded again, not served from the cache
    outcomes = json.loads((out / "manifest.json").read_text())["outcomes"]
    assert {o["source"] for o in outcomes} == {"graded"}


def test_merge_refuses_parts_graded_with_different_seeds(tmp_path):
    from tests.test_batch import write_part

    parts = [
        write_part(tmp_path / "p1", [1, 2], students=("a",)),
        write_part(tmp_path / "p2", [2, 2], students=("b",)),
    ]
    manifest = parts[1] / "manifest.json"
    manifest.write_text(json.dumps(json.loads(manifest.read_text()) | {"seed": COURSE.fingerprint}))
    result = subprocess.run(
        [sys.executable, "-m", "grader", "merge", *map(str, parts), "--out", str(tmp_path / "m")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=CLEAN_ENV,
    )
    assert result.returncode == 2 and "different grading seeds" in result.stderr, result.stderr


# -- platforms and the release ----------------------------------------------------------------


def _archive(tmp_path: Path, *options: str) -> Path:
    out = tmp_path / "autograder.zip"
    result = CliRunner(env={"GRADER_SECRET": None, "GRADER_SECRET_FILE": None}).invoke(
        cli_module.cli, ["gradescope-autograder", str(out), "--exercise", "exercise3", *options]
    )
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.slow
def test_gradescope_grades_with_the_secret_in_its_archive(lookup_submission, tmp_path):
    (tmp_path / "s").write_text(SECRET)
    archive = _archive(tmp_path, "--secret-file", str(tmp_path / "s"))
    with zipfile.ZipFile(archive) as zipped:
        assert zipped.read("grading_secret").decode().strip() == SECRET
        assert zipped.getinfo("grading_secret").external_attr >> 16 & 0o077 == 0  # root's alone
    with gradescope_root(archive) as root:
        (root / "submission" / "exercise3.py").write_bytes(lookup_submission.read_bytes())
        done = run_autograder(root)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"course seed {COURSE.fingerprint}" in done.stdout and SECRET not in done.stdout + done.stderr
        results = (root / "results" / "results.json").read_text()
    assert SECRET not in results
    tests = {t["name"]: t for t in json.loads(results)["tests"]}
    assert tests[ZERO_MEAN]["score"] == 0


def test_an_archive_without_a_secret_holds_none_and_warns(tmp_path):
    with zipfile.ZipFile(_archive(tmp_path)) as zipped:
        assert "grading_secret" not in zipped.namelist()


def test_the_ci_workflow_reads_the_secret_from_the_repository_secrets():
    import yaml

    steps = yaml.safe_load(workflow(["exercise3", "exercise1"]))["jobs"]["grade"]["steps"]
    grading = [step for step in steps if step.get("name", "").startswith("Grade ")]
    assert len(grading) == 2
    assert all(step["env"] == {"GRADER_SECRET": "${{ secrets.GRADER_SECRET }}"} for step in grading)
    assert all("env" not in step for step in steps if step not in grading)  # only grading sees it


def test_the_release_ships_no_secret(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADER_SECRET", SECRET)
    release.write_release(tmp_path / "course")
    assert not _files_hold(tmp_path / "course", SECRET)
    assert {"course.secret", "grading_secret"} <= release.LEFT_OUT(
        str(tmp_path), ["course.secret", "grading_secret", "judges.py"]
    )
