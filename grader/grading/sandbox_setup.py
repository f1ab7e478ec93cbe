"""Starting the worker server for a grading run: what it preloads and what it hides.

Torch-free on purpose: the CLI calls ``start_launcher`` first, so that the server's
``import torch`` overlaps the grader's own.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path

from grader.grading.exercises import Exercise, probes_modules
from grader.paths import CHECKS_DIR, PROJECT_ROOT
from grader.sandbox.launchers import Launcher, default_launcher


def hidden_paths(submissions: Iterable[Path] = (), extra: Iterable[Path] = ()) -> list[str]:
    """What no worker may see: judges, solutions, the project's tests and history, the
    submissions' folders, the machine's service sockets, and the ``extra`` paths a caller
    names (a platform's results and grader folders).

    A folder that holds the Python installation the workers run on stays visible.
    """
    needed = [Path(p).resolve() for p in {sys.prefix, sys.base_prefix, *sys.path} if p]
    candidates = [CHECKS_DIR, PROJECT_ROOT / "solutions", PROJECT_ROOT / "tests", PROJECT_ROOT / ".git",
                  *(Path(s).resolve().parent for s in submissions), *_session_sockets(),
                  *(Path(p).resolve() for p in extra)]
    return [
        str(path) for path in dict.fromkeys(candidates)
        if path.exists() and not any(p == path or path in p.parents for p in needed)
    ]


def _session_sockets() -> list[Path]:
    """Where services listen on unix sockets (D-Bus, databases), which a network namespace
    does not cut off: /run, and the user's runtime folder wherever it is."""
    folders = [Path("/run")]
    if os.environ.get("XDG_RUNTIME_DIR"):
        folders.append(Path(os.environ["XDG_RUNTIME_DIR"]))
    return folders


def start_launcher(
    submissions: Iterable[Path] = (), exercises: Iterable[Exercise] | None = None,
    extra_hidden: Iterable[Path] = (), plots: bool | None = None, isolation: str | None = None,
    many_workers: bool = False,
) -> Launcher:
    """Start the worker server now, hiding what it must (and ``extra_hidden``), with the
    probes of ``exercises`` (default: all; one exercise's probes start faster when that is
    all a run grades), and with matplotlib when ``plots`` (default: when a submission is a
    notebook that mentions it). ``isolation``: "full" or "portable" (default: by platform,
    ``launchers.choose_isolation``). ``many_workers``: a batch's or watch's server, which
    prepares to start many (``launchers.ServerLauncher``'s ``huge_pages``)."""
    submissions = list(submissions)
    preload = probes_modules(exercises)
    if plots or (plots is None and plotting(submissions)):
        preload.append(PLOTTING)
    return default_launcher(preload, hidden_paths(submissions, extra_hidden), isolation, many_workers)


# Importing pyplot costs 2-3 s in a worker (its font list built afresh each time), more than a
# cell should wait; forked from a server that imported it, nothing. Not worth it for files
# that never plot, so the server imports it only for notebooks that mention it.
PLOTTING = "matplotlib.pyplot"


def plotting(submissions: Iterable[Path]) -> bool:
    """Whether any of ``submissions`` is a notebook that mentions matplotlib."""
    return any(map(_plots, submissions))


def _plots(path: Path) -> bool:
    try:
        return path.suffix == ".ipynb" and b"matplotlib" in path.read_bytes()
    except OSError:
        return False
