"""The worker under ``--isolation portable``: what every platform allows, and nothing else.

A fresh interpreter (``SpawnLauncher(portable=True)``) that imported torch and the probes
itself; it then confines itself only with calls that Linux, macOS and Windows all have (a
fresh working directory, a scrubbed environment, stdio closed, output capped), and says
what it goes without, so that the report's isolation level is ``partial`` and names each
missing confinement. None of the POSIX-only calls of the full path are made here: no fork,
setsid, process groups, signals, ``resource``, ``prctl``, namespaces, seccomp or user switch.
The trusted side still bounds every call in time (it kills the worker with ``Popen.kill``),
and judges still run in the grader's process only.
"""

from __future__ import annotations

import os
import sys
from typing import Any, NoReturn

from grader.sandbox.channel import Channel
from grader.sandbox.confine import ALLOW_LIST, SAFE_ENV, Confinement

PORTABLE = "not in portable isolation"
# aspect -> what the student's code can do for want of it (the report's words)
MISSING = {
    "forkserver": "a fresh interpreter per worker (started as a fresh interpreter: slower, same verdicts)",
    "network": f"{PORTABLE}: the network is reachable (downloads are still refused in notebooks)",
    "hidden files": f"{PORTABLE}: the grader's own files, judges included, are readable",
    "read-only files": f"{PORTABLE}: the code may write wherever your user may",
    ALLOW_LIST: f"{PORTABLE}: the machine's files stay visible",
    "process lifetime": f"{PORTABLE}: processes the code starts may outlive its worker",
    "own IPC": f"{PORTABLE}: no IPC namespace",
    "own /proc": f"{PORTABLE}: other processes are visible",
    "worker memory": f"{PORTABLE}: no cgroup (memory is not bounded)",
    "worker processes": f"{PORTABLE}: no cgroup (process count is not bounded)",
    "resource limits": f"{PORTABLE}: no memory, CPU or file-size limit (each call still has its time limit)",
    "user": f"{PORTABLE}: runs as you",
    "seccomp": f"{PORTABLE}: no system call filter",
}
# Windows needs these to load DLLs and seed its random numbers; they name no secret.
KEPT_ON_WINDOWS = ("SYSTEMROOT", "WINDIR", "PATH")


def confinement() -> Confinement:
    conf = Confinement()
    conf.have("process", "a separate worker process; judges run in the grader's process")
    for aspect, why in MISSING.items():
        conf.lack(aspect, why)
    conf.lack("full isolation", "portable isolation instead (the default off Linux, or --isolation portable)")
    return conf


def serve_portable(rfd: int, wfd: int, config: dict[str, Any]) -> NoReturn:
    """Confine this fresh interpreter as far as portable isolation goes, then serve."""
    from grader.sandbox.worker import serve

    conf = confinement()
    os.chdir(config["workdir"])
    conf.have("working directory", "a fresh temporary directory, removed afterwards")
    _scrub_environment(config["workdir"])
    conf.have("environment", "scrubbed: no variables of the grader's environment")
    _close_stdio(keep_stderr=bool(config.get("debug")))
    conf.have("stdio", "stdin closed; printed output captured up to a cap")
    serve(Channel(rfd, wfd), conf)


def _scrub_environment(home: str) -> None:
    kept = {k: os.environ[k] for k in KEPT_ON_WINDOWS if k in os.environ} if sys.platform == "win32" else {}
    os.environ.clear()
    os.environ.update(SAFE_ENV, HOME=home, TMPDIR=home, TEMP=home, TMP=home, USERPROFILE=home,
                      CUDA_VISIBLE_DEVICES="")
    os.environ.update(kept)


def _close_stdio(keep_stderr: bool) -> None:
    """stdin and stdout (the channel's pipes, moved off them already) to the null device;
    stderr too unless debugging (``GRADER_DEBUG_WORKER=1``)."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1) if keep_stderr else (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    sys.stdin = open(os.devnull)  # noqa: SIM115 - lives as long as the worker
