"""The worker: confines itself, imports one submission, then runs probes on request.

Data flow (one worker serves one submission until it dies or is told to stop):

    trusted side                     worker (this module, untrusted once loaded)
    ------------                     -------------------------------------------
                       <- hello      {isolation in force}   (sent before student code)
    load {source}      ->            exec the source as module ``submission``
                                     (a notebook: cell by cell, ``cells``)
                       <- loaded     {names, notes} or {syntax | raised | exit | ...}
    call {probe, args} ->            probe(namespace, *args), stdout captured
                       <- result     {ok, value} or the failure, with student frames

Every frame is ``wire`` data. Probes are grader functions marked with ``@probe``; the
worker only runs probes of modules it imported before the submission.
"""

from __future__ import annotations

import contextlib
import io
import linecache
import os
import random
import sys
import threading
import traceback
import types
from collections.abc import Callable
from typing import Any, NoReturn

from grader.sandbox import cells, confine, wire
from grader.sandbox.channel import Channel, ChannelClosed
from grader.statuses import Reply

MAX_REQUEST = 256 * 2**20
OUTPUT_CAP = 4000


def probe(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Mark ``fn(namespace, *args)`` as runnable in a worker."""
    fn.__grader_probe__ = True  # type: ignore[attr-defined]
    return fn


class MissingName(Exception):
    """The probe asked the submission for a name it does not define."""


class Namespace:
    """The submission as probes see it: a missing name raises ``MissingName``."""

    def __init__(self, module: types.ModuleType) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        try:
            return self._module.__dict__[name]
        except KeyError:
            raise MissingName(name) from None


class CappedOutput(io.TextIOBase):
    """Keeps the first ``OUTPUT_CAP`` characters written since ``reset`` and counts the rest.

    Installed once as sys.stdout and sys.stderr and never swapped out: on Python 3.11,
    replacing sys.stdout while a thread of the submission is inside print() crashes the
    interpreter (print holds a borrowed reference).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.kept: list[str] = []
            self.size = 0
            self.dropped = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        text = str(text)
        size = len(text)
        with self._lock:
            room = OUTPUT_CAP - self.size
            if room <= 0:  # full, as it stays through a flood of prints: only counted
                self.dropped += size
                return size
            self.kept.append(text[:room])
            taken = min(room, size)
            self.size += taken
            self.dropped += size - taken
        return size

    def text(self) -> str:
        with self._lock:
            body = "".join(self.kept)
            dropped = self.dropped
        return body + (f"\n… ({dropped} more characters)" if dropped else "")


# -- the process chain ----------------------------------------------------------------


def worker_process(rfd: int, wfd: int, config: dict[str, Any], server: dict[str, Any]) -> NoReturn:
    """Entry point of a worker process W (forked from the worker server, or spawned).

    ``server`` is the confinement the worker server already put in force.
    """
    try:
        conf = confine.Confinement.from_dict(server)
        conf.have("process", "a separate worker process; judges run in the grader's process")
        launcher = config.get("launcher", "forkserver")
        if launcher == "forkserver":
            conf.have("forkserver", "forked from a clean, pre-imported worker server")
        else:
            conf.lack("forkserver", f"started as a {launcher}")
        confine.close_inherited_fds({rfd, wfd})
        if hasattr(os, "setsid") and os.getsid(0) != os.getpid():
            os.setsid()  # its own process group, which the trusted side can kill whole
        confine.set_parent_death_signal()  # if the worker server dies, so does this worker
        for aspect in ("worker memory", "worker processes"):  # only the worker server makes cgroups
            if aspect not in conf.in_force:
                conf.missing.setdefault(aspect, f"no cgroup: started as a {launcher}")
        if confine.enter_worker_namespaces(conf, config.get("namespaces", True)):
            status = _in_child(lambda: _namespace_init(rfd, wfd, config, conf), {rfd, wfd})
            code = os.waitstatus_to_exitcode(status)
            _exit_like(signal_status(code - 128) if 128 < code < 128 + 65 else status)
        _serve_confined(rfd, wfd, config, conf)
    except BaseException:
        traceback.print_exc()  # reaches the worker server's log while stderr is still open
        raise
    finally:
        os._exit(70)


def _namespace_init(
    rfd: int, wfd: int, config: dict[str, Any], conf: confine.Confinement
) -> None:
    """S: pid 1 of the new namespace; runs the worker as its only child and waits.

    As pid 1 it cannot end itself with R's signal (the kernel ignores it), so it passes
    the signal on as exit code 128 + signal, which W turns back into the signal.
    """
    confine.set_parent_death_signal()
    config = dict(config, own_tmp=confine.mount_worker_filesystems(conf, config.get("tmp_mb", 256)))
    status = _in_child(lambda: _serve_confined(rfd, wfd, config, conf), {rfd, wfd})
    os._exit(128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.waitstatus_to_exitcode(status))


def _serve_confined(
    rfd: int, wfd: int, config: dict[str, Any], conf: confine.Confinement
) -> None:
    """R: the process-level confinement, then the request loop."""
    if config.get("spare"):  # made ahead of time: the request it serves comes now
        rfd, config = _await_request(rfd, config)
        wfd = rfd
    for fd in {rfd, wfd}:  # received with no close-on-exec: a program the submission execs
        os.set_inheritable(fd, False)  # would keep the channel open after R has ended
    private_tmp = "hidden files" in conf.in_force  # the server mounted a private /tmp
    # Its own /tmp (mounted by S), else a folder the worker server or the trusted side made.
    workdir = "/tmp" if config.get("own_tmp") else config["workdir"]
    if private_tmp and not os.path.isdir(workdir):  # the trusted side's folder is out of sight
        import tempfile

        from grader.sandbox.rootfs import SHARED_WORK

        parent = SHARED_WORK if os.path.isdir(SHARED_WORK) else "/tmp"
        workdir = tempfile.mkdtemp(prefix="worker-", dir=parent)
    confine.enter_workdir(conf, workdir)
    confine.apply_limits(conf, config["memory_mb"], config["cpu_s"], config["file_mb"])
    # With private mounts the server made the Python installation readable to anyone.
    python_dirs = [] if private_tmp else python_paths()
    processes = None if "worker processes" in conf.in_force else config["max_processes"]
    confine.drop_privileges(conf, processes, workdir, python_dirs)
    confine.scrub_environment(conf, workdir)
    if not config.get("debug"):
        confine.close_stdio(conf)
    confine.install_seccomp(conf)
    serve(Channel(rfd, wfd), conf)


def _await_request(link: int, config: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """A spare worker (``worker_server._Workers``) waits here for the request's settings and
    the channel to serve; it ends if the worker server drops it instead."""
    import json
    import socket

    with socket.socket(fileno=link) as server:
        message, fds, _, _ = socket.recv_fds(server, 65536, 1)
    if not message or len(fds) != 1:
        os._exit(0)
    return fds[0], {**config, **json.loads(message), "spare": False}


def _in_child(body: Callable[[], None], handed_down: set[int]) -> int:
    """Run ``body`` in a forked child; return its wait status. The ``handed_down`` descriptors
    (the channel) are the child's alone from then on: when the worker closes its channel,
    the trusted side sees it at once."""
    pid = os.fork()
    if pid == 0:
        try:
            body()
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(70)
    for fd in handed_down:
        with contextlib.suppress(OSError):
            os.close(fd)
    while True:
        try:
            return os.waitpid(pid, 0)[1]
        except InterruptedError:
            continue


def signal_status(sig: int) -> int:
    """The wait status of a process killed by ``sig``."""
    return sig & 0x7F


def _exit_like(status: int) -> NoReturn:
    """End this process the way the child whose wait status this is ended."""
    if os.WIFSIGNALED(status):
        import signal

        sig = os.WTERMSIG(status)
        stopping = {getattr(signal, name, None) for name in ("SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU")}
        if sig not in stopping:  # those would stop this process, not end it
            # SIGKILL can be neither handled nor reset: signal.signal raises, and an OOM kill
            # was reported as "exit code 70".
            with contextlib.suppress(OSError, ValueError):
                signal.signal(sig, signal.SIG_DFL)
            os.kill(os.getpid(), sig)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 70)


def python_paths() -> list[str]:
    """Where the interpreter and its packages live: they must stay readable to workers.

    Links are followed: a folder on sys.path may be a link, or hold links to packages that
    live elsewhere (under /tmp, say, which workers get fresh)."""
    paths = {sys.base_prefix, sys.prefix, sys.exec_prefix, *sys.path}
    found: set[str] = set()
    for path in paths:
        if path and os.path.isdir(path):
            found |= {path, os.path.realpath(path), *_link_targets(path)}
    return sorted(found)


def _link_targets(folder: str) -> set[str]:
    """The folders that the links directly inside ``folder`` lead to."""
    targets = set()
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_symlink():
                target = os.path.realpath(entry.path)
                targets.add(target if os.path.isdir(target) else os.path.dirname(target))
    return targets


# -- the request loop -----------------------------------------------------------------


def serve(channel: Channel, conf: confine.Confinement) -> NoReturn:
    channel.send(wire.dumps({"status": Reply.HELLO, "isolation": conf.as_dict()}))
    output = CappedOutput()
    sys.stdout = sys.stderr = output
    state: dict[str, Any] = {"output": output}
    while True:
        try:
            request = wire.loads(channel.recv(MAX_REQUEST))
        except ChannelClosed:
            os._exit(0)
        handler = _HANDLERS.get(request.get("op"))
        if handler is None:
            os._exit(0)
        response = _captured(handler, request, state)
        try:
            payload = wire.dumps(response)
        except Exception as exc:  # noqa: BLE001 - whatever the submission made of our data
            payload = wire.dumps({"status": Reply.BAD_RESULT, "message": _describe(exc)})
        channel.send(payload)


def _captured(
    handler: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]],
    request: dict[str, Any],
    state: dict[str, Any],
) -> dict[str, Any]:
    output = state["output"]
    output.reset()
    response = handler(request, state)
    response["output"] = output.text()
    return response


def _load(request: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    filename, source = request["filename"], request["source"]
    state["filename"] = filename
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    notebook = "cells" in request  # cell by cell, each cell's failure noted; else a module
    try:
        code = None if notebook else compile(source, filename, "exec", dont_inherit=True)
    except SyntaxError as exc:
        return {
            "status": Reply.SYNTAX,
            "type": type(exc).__name__,
            "message": str(exc.msg),
            "lineno": exc.lineno or 0,
            "offset": exc.offset or 0,
            "text": (exc.text or "").rstrip("\n"),
        }
    module = types.ModuleType("submission")
    module.__file__ = filename
    sys.modules["submission"] = module
    # torch seeds each process at random: what the submission draws as it is imported (a
    # notebook's data, a net built at the top) must be the same in every worker and run.
    seed(0)
    state["namespace"] = Namespace(module)
    notes: list[dict[str, Any]] = []
    try:
        if notebook:
            notes = cells.run_cells(source, filename, request["cells"], module.__dict__, request["cell_s"])
        else:
            exec(code, module.__dict__)
    except BaseException as exc:  # noqa: BLE001 - every way out of student code is reported
        return _failure(exc, filename)
    names = sorted(k for k in module.__dict__ if k[:1] != "_")
    return {"status": Reply.LOADED, "names": names, "notes": notes}


def _call(request: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    try:
        fn = _resolve(request["probe"])
    except LookupError as exc:
        return {"status": Reply.NO_PROBE, "message": str(exc)}
    seed(request.get("seed", 0))
    try:
        value = fn(state["namespace"], *request.get("args", []))
        return {"status": Reply.OK, "value": wire.plain(value)}
    except BaseException as exc:  # noqa: BLE001 - plain() may run the student's code too
        return _failure(exc, state.get("filename", ""))


def _execute(request: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    from grader.sandbox import notebook_run

    try:
        return {"status": Reply.OK, "value": notebook_run.execute(request["notebook"], request["cell_s"])}
    except BaseException as exc:  # noqa: BLE001 - a broken notebook or kernel
        return {"status": Reply.OK,
                "value": {"ok": False, "cell": 0, "kind": "failed", "error": _describe(exc)}}


_HANDLERS = {"load": _load, "call": _call, "execute": _execute}


def _resolve(qualified: str) -> Callable[..., Any]:
    module_name, _, name = qualified.partition(":")
    module = sys.modules.get(module_name)
    fn = getattr(module, name, None)
    if not getattr(fn, "__grader_probe__", False):
        raise LookupError(f"no probe {qualified} was loaded before the submission")
    return fn  # type: ignore[return-value]


def seed_torch(value: int) -> None:
    """``torch.manual_seed(value)``, for probes too: on a CPU build without its bookkeeping
    for absent GPUs (0.2 ms a call), which gives the same numbers."""
    import torch

    if torch.backends.cuda.is_built() or torch.backends.mps.is_built():
        torch.manual_seed(value)  # the accelerators' generators too (or queued until they start)
    else:
        torch.default_generator.manual_seed(value)


def seed(value: int) -> None:
    """Seed torch, ``random`` and numpy (where imported) in this process."""
    seed_torch(value)
    random.seed(value)
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed(value)


def _failure(exc: BaseException, filename: str) -> dict[str, Any]:
    if isinstance(exc, MissingName):
        return {"status": Reply.MISSING, "name": str(exc)}
    if isinstance(exc, SystemExit):
        return {"status": Reply.EXIT, "code": _safe_str(exc.code)}
    frames = [
        [frame.lineno or 0, frame.name, (frame.line or "").strip()]
        for frame in traceback.extract_tb(exc.__traceback__)
        if frame.filename == filename
    ]
    status = Reply.NOT_IMPLEMENTED if isinstance(exc, NotImplementedError) else Reply.RAISED
    return {"status": status, "type": type(exc).__name__, "message": _safe_str(exc), "frames": frames,
            "calls": _call_notes(exc)}


def _call_notes(exc: BaseException) -> list[str]:
    """The notes a probe's ``calling`` put on ``exc``: which call of the submission raised."""
    from grader.authoring.calls import NOTE_PREFIX

    notes = getattr(exc, "__notes__", None)
    if not isinstance(notes, list):
        return []
    return [_safe_str(n)[len(NOTE_PREFIX):][:300] for n in notes[-3:]
            if isinstance(n, str) and n.startswith(NOTE_PREFIX)]


def _safe_str(value: object) -> str:
    try:
        text = str(value)
    except BaseException:  # noqa: BLE001 - a student's __str__ may do anything
        text = f"<{type(value).__name__}>"
    return text[:2000]


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {_safe_str(exc)}"


def spawned_main() -> NoReturn:
    """Entry point of a worker started as a fresh interpreter (not forked from the worker server)."""
    import json

    config = json.loads(sys.argv[1])
    import torch

    from grader import deferred_imports

    deferred_imports.install()
    torch.set_num_threads(1)
    os.environ["MPLBACKEND"] = "Agg"  # where matplotlib is preloaded: plots draw off-screen
    for name in config.get("preload", []):
        __import__(name)
    # The channel moves off stdin/stdout, which then go to /dev/null like any worker's.
    rfd, wfd = os.dup(0), os.dup(1)
    if config.get("portable"):  # --isolation portable: only what every platform has
        from grader.sandbox.launchers import binary_fd
        from grader.sandbox.portable import serve_portable

        serve_portable(binary_fd(rfd), binary_fd(wfd), config)
    from grader.sandbox.worker_server import allowed_paths

    server = confine.isolate_server(config["hidden"], allowed_paths(), config["tmp_mb"],
                                    config.get("namespaces", True))
    worker_process(rfd, wfd, config, server.as_dict())
