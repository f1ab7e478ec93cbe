"""The worker server: a clean process with torch and the probes imported, that forks workers.

Started by ``launchers.ServerLauncher`` with one end of a socket pair and a JSON argument
(modules to preload, paths to hide). After preloading it leaves the network and hides the
judges (``confine.isolate_server``), once for all its workers. No student code ever runs
here: each worker is a fork that confines itself further and only then imports a
submission. Requests are JSON lines; a spawn request carries the worker's socket.

    -> {"op": "spawn", "config": {...}} + fd     <- {"pid": 1234}
    -> {"op": "poll", "pid": 1234}               <- {"pid": 1234, "exitcode": null}
    -> {"op": "wait", "pid": 1234}               <- {"pid": 1234, "exitcode": -9}
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import shutil
import signal
import socket
import sys
from typing import Any


def main() -> None:
    fd, options = int(sys.argv[1]), json.loads(sys.argv[2])
    import torch

    torch.set_num_threads(1)  # workers share the machine; one thread each is also deterministic
    os.environ["MPLBACKEND"] = "Agg"  # where matplotlib is preloaded: plots draw off-screen
    from grader.sandbox import confine, worker

    for name in options["preload"]:
        importlib.import_module(name)
    server = confine.isolate_server(options["hidden"], worker.python_paths(), options["tmp_mb"],
                                    options["namespaces"])
    private_tmp = "hidden files" in server.in_force
    ctrl = socket.socket(fileno=fd)
    _send(ctrl, {"ready": True, "pid": os.getpid()})
    confine.set_parent_death_signal()  # the grader died: no server without it
    exited: dict[int, int] = {}
    live: set[int] = set()
    buffer = b""
    while True:
        line, fds, buffer = _receive(ctrl, buffer)
        if line is None:
            for pid in live - set(exited):  # the grader is gone: so is every worker
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            return
        for pid in _reap(exited):
            live.discard(pid)
            if private_tmp:
                shutil.rmtree(worker.workdir_of(pid), ignore_errors=True)
        request = json.loads(line)
        if request["op"] == "spawn":
            pid = os.fork()
            if pid == 0:
                ctrl.close()
                config = dict(request["config"], namespaces=options["namespaces"])
                worker.worker_process(fds[0], fds[0], config, server.as_dict())
            os.close(fds[0])
            live.add(pid)
            _send(ctrl, {"pid": pid})
        elif request["op"] == "poll":
            pid = request["pid"]
            code = os.waitstatus_to_exitcode(exited.pop(pid)) if pid in exited else None
            _send(ctrl, {"pid": pid, "exitcode": code})
        elif request["op"] == "wait":
            pid = request["pid"]
            if pid not in exited:
                exited[pid] = os.waitpid(pid, 0)[1]
            _send(ctrl, {"pid": pid, "exitcode": os.waitstatus_to_exitcode(exited.pop(pid))})


MAX_UNCLAIMED = 1024  # exit statuses kept for the grader to ask for; a batch abandons many


def _reap(exited: dict[int, int]) -> list[int]:
    """Collect finished workers so that none lingers as a zombie; returns their pids."""
    reaped = []
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return reaped
        if pid == 0:
            return reaped
        exited[pid] = status
        reaped.append(pid)
        if len(exited) > MAX_UNCLAIMED:  # workers the grader killed and never asked about
            del exited[next(iter(exited))]


def _send(ctrl: socket.socket, message: dict[str, Any]) -> None:
    ctrl.sendall(json.dumps(message).encode() + b"\n")


def _receive(ctrl: socket.socket, buffer: bytes) -> tuple[bytes | None, list[int], bytes]:
    fds: list[int] = []
    while b"\n" not in buffer:
        data, new_fds, _, _ = socket.recv_fds(ctrl, 65536, 4)
        if not data:
            return None, fds, buffer
        fds.extend(new_fds)
        buffer += data
    line, _, rest = buffer.partition(b"\n")
    return line, fds, rest


if __name__ == "__main__":
    main()
