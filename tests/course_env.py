"""Where the course's commands run outside the test's process: a fresh environment that holds
only an installed release (a student's machine, a CI runner), and a root laid out like
Gradescope's container, whose run_autograder runs on this machine's environment.

Shared by test_release, test_platforms and test_course_walkthrough.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def fresh_environment(folder: Path) -> Path:
    """A new virtual environment whose site-packages reach the pinned dependencies of this
    one (torch, pytest, …) through a folder of links, minus this project's own install: so
    the only grader it can import is the one installed into it."""
    deps = folder / "deps"
    deps.mkdir(parents=True)
    own = ("d2l_grader", "__editable__", "_d2l_grader", "grader")
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.startswith(own) and entry.suffix != ".pth":
            (deps / entry.name).symlink_to(entry)
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    Path(site, "deps.pth").write_text(f"{deps}\n")
    return python


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``args`` run in ``cwd`` as from a fresh shell, without this environment's Python
    variables (or CI's), plus ``env``."""
    clean = {k: v for k, v in os.environ.items()
             if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "GITHUB_STEP_SUMMARY")}
    return subprocess.run(args, cwd=cwd, env=clean | env, capture_output=True, text=True, timeout=300)


@contextmanager
def searchable_folder(prefix: str = "d2l-course-") -> Iterator[Path]:
    """A temporary folder that workers can reach when they run as ``nobody`` (the grader
    started as root): pytest's own are private to their user, and two levels deep."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def gradescope_root(archive: Path) -> Iterator[Path]:
    """ROOT/autograder laid out as Gradescope's, ``archive`` unpacked into source/ and its
    run_autograder copied beside it; outside /tmp where possible, since every worker gets a
    private /tmp anyway and that would hide the folders without the grader's help."""
    base = Path(tempfile.mkdtemp(prefix="gradescope-",
                                 dir="/var/tmp" if os.access("/var/tmp", os.W_OK) else None))
    base.chmod(0o755)  # open like Gradescope's /: mkdtemp's 0700 alone would keep `nobody` out
    root = base / "autograder"
    try:
        for folder in ("source", "submission", "results"):
            (root / folder).mkdir(parents=True)
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(root / "source")
        shutil.copy(root / "source" / "run_autograder", root / "run_autograder")  # as Gradescope does
        yield root
    finally:
        shutil.rmtree(base, ignore_errors=True)


def run_autograder(root: Path, python: str = sys.executable) -> subprocess.CompletedProcess[str]:
    """ROOT's run_autograder, as Gradescope runs it, on ``python``'s environment instead of
    the one setup.sh would have made."""
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), AUTOGRADER_PYTHON=python)
    return subprocess.run(["bash", str(root / "run_autograder")], cwd=root, env=env,
                          capture_output=True, text=True, timeout=180)
