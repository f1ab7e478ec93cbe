"""Starting and stopping workers (trusted side).

``ServerLauncher`` starts the worker server (``worker_server``) at once, in the background, so that
its ``import torch`` overlaps the grader's own imports; each worker is then a fork of it
(milliseconds). ``SpawnLauncher`` starts every worker as a fresh interpreter: the fallback
where there is no fork (Windows), and the baseline the benchmark compares against. With
``portable=True`` it is ``--isolation portable``: no namespaces and none of the POSIX-only
calls (fork, sessions, process groups, signals but ``Popen.kill``), so that it runs alike
on Linux, macOS and Windows (``choose_isolation`` picks it by itself off Linux).
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Protocol

from grader.paths import PROJECT_ROOT
from grader.sandbox.channel import Channel

# Variables a worker server may inherit: locale, the OpenBLAS settings some CPUs need for
# correct results, and which GPUs the real-GPU probes may use (workers hide them from the
# student's code: ``confine.real_gpus``). Everything else (tokens, paths of the course)
# stays behind.
INHERITED_ENV = ("LANG", "LC_ALL", "TZ", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "SYSTEMROOT",
                 "CUDA_VISIBLE_DEVICES")


# How long ``ServerLauncher.close`` waits for the server to end its workers and exit
# (it takes 20-30 ms) before killing it.
CLOSE_S = 5.0


class LauncherError(RuntimeError):
    """The machinery that starts workers failed: the grader's fault, not the student's."""


def worker_env() -> dict[str, str]:
    env = {key: os.environ[key] for key in INHERITED_ENV if key in os.environ}
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PATH=os.defpath)
    return env


def _bootstrap(call: str) -> str:
    # -I keeps the user's site and PYTHON* variables out; the package root is added back.
    return f"import sys; sys.path.insert(0, {str(PROJECT_ROOT)!r}); {call}"


class WorkerHandle:
    """One running worker: its channel, and how to stop it and learn how it ended."""

    def __init__(self, pid: int, channel: Channel, launcher: Launcher) -> None:
        self.pid = pid
        self.channel = channel
        self._launcher = launcher
        self.exitcode: int | None = None
        self.stopped = False  # killed by ``finish`` for not ending by itself

    def kill(self) -> None:
        own = getattr(self._launcher, "kill", None)
        if own is not None:  # a launcher that holds the process (SpawnLauncher) kills it itself
            own(self.pid)
            return
        for kill in (os.killpg, os.kill) if hasattr(os, "killpg") else (os.kill,):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                kill(self.pid, signal.SIGKILL)

    def finish(self, grace_s: float = 1.0) -> int:
        """Wait up to ``grace_s`` for the worker to end by itself, then kill it.

        Returns the exit code in ``subprocess`` style (negative: killed by that signal).
        """
        if self.exitcode is None:
            deadline = time.monotonic() + grace_s
            code = self._launcher.poll(self.pid)
            while code is None and time.monotonic() < deadline:
                time.sleep(0.01)
                code = self._launcher.poll(self.pid)
            if code is None:
                self.kill()
                self.stopped = True
                code = self._launcher.wait(self.pid)
            self.exitcode = code
        self.channel.close()
        return self.exitcode


class Launcher(Protocol):
    name: str
    preload: list[str]  # the probe modules its workers have imported

    def start(self, config: dict[str, Any]) -> WorkerHandle: ...

    def poll(self, pid: int) -> int | None: ...

    def wait(self, pid: int) -> int: ...

    def close(self) -> None: ...


class ServerLauncher:
    """Workers forked from a pre-imported worker server."""

    # The report's name for this confinement (its isolation entry "forkserver": workers
    # forked from the worker server, which is a fork server).
    name = "forkserver"

    def __init__(
        self, preload: list[str], hidden: list[str] | None = None, tmp_mb: int = 256,
        ready_timeout_s: float = 120.0, namespaces: bool = True, huge_pages: bool = False,
    ) -> None:
        """``huge_pages``: the server collapses its memory into huge pages once started
        (``sandbox.huge_pages``): 0.2 s of its time, then each worker costs 10-20 ms less.
        Worth it for a server that starts many workers (batch, watch), not for one grade."""
        self.preload = list(preload)
        self._ready_timeout_s = ready_timeout_s
        self._lock = threading.Lock()
        self._buffer = b""
        self._ready = False
        self._owner = True  # this connection started the server (see ``connect``)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - the server's log, kept for errors
        self._process = subprocess.Popen(
            [sys.executable, "-I", "-c", _bootstrap("from grader.sandbox.worker_server import main; main()"),
             str(theirs.fileno()),
             json.dumps({"preload": preload, "hidden": hidden or [], "tmp_mb": tmp_mb,
                         "namespaces": namespaces, "huge_pages": huge_pages})],
            pass_fds=[theirs.fileno()],
            env=worker_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            # GRADER_DEBUG_WORKER=1 shows the server's and workers' tracebacks as they happen.
            stderr=None if os.environ.get("GRADER_DEBUG_WORKER") == "1" else self._stderr,
            cwd="/",
        )
        theirs.close()
        self._ctrl = ours

    def start(self, config: dict[str, Any]) -> WorkerHandle:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            reply = self._request({"op": "spawn", "config": config}, fd=theirs.fileno())
        finally:
            theirs.close()
        if "error" in reply:
            ours.close()
            raise LauncherError(str(reply["error"]))
        return WorkerHandle(reply["pid"], Channel(ours.detach()), self)

    def poll(self, pid: int) -> int | None:
        return self._request({"op": "poll", "pid": pid})["exitcode"]

    def wait(self, pid: int) -> int:
        return self._request({"op": "wait", "pid": pid})["exitcode"]

    def connect(self) -> ServerLauncher:
        """Another connection to the same worker server, for a process forked from this one
        (a second judging process), so that its requests never interleave with ours. Closing
        it leaves the server running."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._request({"op": "connect"}, fd=theirs.fileno())
        finally:
            theirs.close()
        linked = copy.copy(self)
        linked._ctrl, linked._lock, linked._buffer, linked._owner = ours, threading.Lock(), b"", False
        return linked

    def close(self) -> None:
        if not self._owner:
            self._ctrl.close()
            return
        deadline = time.monotonic() + CLOSE_S
        with contextlib.suppress(OSError):
            self._ctrl.shutdown(socket.SHUT_WR)  # the server ends its workers, then itself
            self._await_exit(deadline)
        self._ctrl.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=max(deadline - time.monotonic(), 0.05))
        if self._process.returncode is None:
            self._process.kill()
            self._process.wait()  # never a zombie left behind

    def _await_exit(self, deadline: float) -> None:
        """Until the server has exited, or ``deadline``. Its end of the connection closing
        says so at once (Popen.wait(timeout) looks with up to 50 ms between looks: 32 or 64
        ms where the server took 20). Where another process holds a copy of that end (a
        submission's daemon that took it with pidfd_getfd, where workers share the
        grader's user) it never closes: the process itself is watched too, and whatever
        arrives on the connection is ignored."""
        pidfds: list[int] = []
        with contextlib.suppress(OSError, AttributeError):  # no pidfd before Linux 5.3, or off Linux
            pidfds.append(os.pidfd_open(self._process.pid))
        try:
            while (left := deadline - time.monotonic()) > 0:
                ready = select.select([self._ctrl, *pidfds], [], [], left)[0]
                if not ready or any(pidfd in ready for pidfd in pidfds):
                    return  # the deadline, or the process has exited
                if not self._ctrl.recv(65536):
                    return  # the end of the connection: the server has exited
        finally:
            for pidfd in pidfds:
                os.close(pidfd)

    def _request(self, message: dict[str, Any], fd: int | None = None) -> dict[str, Any]:
        with self._lock:
            self._await_ready()
            data = json.dumps(message).encode() + b"\n"
            try:
                if fd is None:
                    self._ctrl.sendall(data)
                else:
                    socket.send_fds(self._ctrl, [data], [fd])
                return self._read_line()
            except OSError as exc:
                raise LauncherError(f"the worker server failed: {exc}{self._log()}") from exc

    def _await_ready(self) -> None:
        if self._ready:
            return
        self._ctrl.settimeout(self._ready_timeout_s)
        try:
            self._read_line()
        except (OSError, TimeoutError) as exc:
            raise LauncherError(f"the worker server did not start: {exc}{self._log()}") from exc
        finally:
            self._ctrl.settimeout(None)
        self._ready = True

    def _read_line(self) -> dict[str, Any]:
        while b"\n" not in self._buffer:
            data = self._ctrl.recv(65536)
            if not data:
                raise LauncherError(f"the worker server exited{self._log()}")
            self._buffer += data
        line, _, self._buffer = self._buffer.partition(b"\n")
        return json.loads(line)

    def _log(self) -> str:
        self._stderr.seek(0)
        tail = self._stderr.read()[-2000:].decode(errors="replace").strip()
        return f"\n{tail}" if tail else ""


class SpawnLauncher:
    """Every worker a fresh interpreter that imports torch itself (about a second each).

    ``portable``: the worker confines itself only with what every platform has
    (``grader.sandbox.portable``), and is stopped with ``Popen.kill`` alone.
    """

    name = "fresh interpreter"

    def __init__(self, preload: list[str], hidden: list[str] | None = None, tmp_mb: int = 256,
                 portable: bool = False) -> None:
        self.preload = list(preload)
        self._hidden = hidden or []
        self._tmp_mb = tmp_mb
        self.portable = portable
        self._processes: dict[int, subprocess.Popen[bytes]] = {}
        self._ended: dict[int, int] = {}  # exit codes of workers no longer held

    def start(self, config: dict[str, Any]) -> WorkerHandle:
        self._forget_ended()
        config = dict(config, preload=self.preload, hidden=self._hidden, tmp_mb=self._tmp_mb,
                      launcher=self.name)
        if self.portable:
            config.update(portable=True, namespaces=False)
        process = subprocess.Popen(
            [sys.executable, "-I", "-c",
             _bootstrap("from grader.sandbox.worker import spawned_main; spawned_main()"),
             json.dumps(config)],
            env=worker_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None if config.get("debug") else subprocess.DEVNULL,
            cwd=tempfile.gettempdir(),
            start_new_session=os.name == "posix" and not self.portable,
        )
        self._processes[process.pid] = process
        self._ended.pop(process.pid, None)  # a number the system gave out again
        assert process.stdin is not None and process.stdout is not None
        channel = Channel(binary_fd(os.dup(process.stdout.fileno())),
                          binary_fd(os.dup(process.stdin.fileno())))
        process.stdin.close()
        process.stdout.close()
        return WorkerHandle(process.pid, channel, self)

    def kill(self, pid: int) -> None:
        process = self._processes.get(pid)
        if process is None:
            return
        if not self.portable and hasattr(os, "killpg"):  # its session: what it started goes too
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            process.kill()  # TerminateProcess on Windows

    def poll(self, pid: int) -> int | None:
        if pid in self._processes:
            return self._processes[pid].poll()
        return self._ended[pid]

    def wait(self, pid: int) -> int:
        if pid in self._processes:
            return self._processes.pop(pid).wait()
        return self._ended.pop(pid)

    def close(self) -> None:
        for process in self._processes.values():
            with contextlib.suppress(OSError):
                process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
        self._processes.clear()
        self._ended.clear()

    def _forget_ended(self) -> None:
        """Reap the workers that ended (killed ones above all: a watch session starts many)."""
        for pid, process in list(self._processes.items()):
            code = process.poll()
            if code is not None:
                self._ended[pid] = code
                del self._processes[pid]
        while len(self._ended) > 64:  # nobody asks how old workers ended
            self._ended.pop(next(iter(self._ended)))


def binary_fd(fd: int) -> int:
    """``fd`` in binary mode: on Windows a pipe's descriptor may translate line ends."""
    if sys.platform == "win32":  # pragma: no cover - Windows
        import msvcrt

        msvcrt.setmode(fd, os.O_BINARY)
    return fd


ISOLATIONS = ("full", "portable")


def choose_isolation(requested: str | None = None) -> tuple[str, str]:
    """The isolation a run gets, and why when it is not the one asked for (else "").

    ``None`` (the default): ``full`` on Linux, ``portable`` elsewhere: macOS supports fork
    after torch is imported badly, Windows has no fork. ``full`` is a worker server that
    forks workers and confines them as far as the machine allows (where namespaces are
    refused, it still keeps resource limits, seccomp and the process group, and the report
    says what is missing); where there is no fork at all, it cannot be had.
    """
    if requested not in (None, *ISOLATIONS):
        raise ValueError(f"isolation {requested!r}: one of {', '.join(ISOLATIONS)}")
    if requested is None:
        if sys.platform == "linux":
            return "full", ""
        return "portable", f"isolation: portable (chosen by itself on {sys.platform})"
    if requested == "full" and not hasattr(os, "fork"):
        return "portable", f"isolation: portable (no fork on {sys.platform}, so no full isolation)"
    return requested, ""


def default_launcher(preload: list[str], hidden: list[str] | None = None,
                     isolation: str | None = None, many_workers: bool = False) -> Launcher:
    """The worker server where the platform can fork, else fresh interpreters; ``isolation``
    as ``choose_isolation`` settles it (``portable``: fresh interpreters, confined alike on
    every platform).

    ``hidden`` are the paths no worker may see (judges, solutions, submissions).
    ``many_workers``: the server will start many (a batch, watch), so it prepares for that.
    """
    level, _ = choose_isolation(isolation)
    if level == "portable":
        return SpawnLauncher(preload, hidden, portable=True)
    if os.name == "posix":
        return ServerLauncher(preload, hidden, huge_pages=many_workers)
    return SpawnLauncher(preload, hidden)
