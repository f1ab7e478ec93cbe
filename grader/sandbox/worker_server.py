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
import secrets
import shutil
import signal
import socket
import sys
from typing import Any

from grader.sandbox import cgroups, rootfs
from grader.sandbox.confine import Confinement

# A forked worker's copy-on-write pages of the server (the heap its refcounts touch) are
# charged to its cgroup: room for them on top of the memory the submission may use.
CGROUP_HEADROOM_MB = 256


def main() -> None:
    fd, options = int(sys.argv[1]), json.loads(sys.argv[2])
    import torch

    torch.set_num_threads(1)  # workers share the machine; one thread each is also deterministic
    os.environ["MPLBACKEND"] = "Agg"  # where matplotlib is preloaded: plots draw off-screen
    from grader.sandbox import confine, worker

    for name in options["preload"]:
        importlib.import_module(name)
    groups = cgroups.prepare() if options["namespaces"] else cgroups.Cgroups()  # before /sys is gone
    server = confine.isolate_server(options["hidden"], allowed_paths(), options["tmp_mb"],
                                    options["namespaces"])
    private_tmp = "hidden files" in server.in_force
    work_base = rootfs.SHARED_WORK if confine.ALLOW_LIST in server.in_force else "/tmp"
    ctrl = socket.socket(fileno=fd)
    _send(ctrl, {"ready": True, "pid": os.getpid()})
    confine.set_parent_death_signal()  # the grader died: no server without it
    exited: dict[int, int] = {}
    live: dict[int, tuple[str, str]] = {}  # pid -> its cgroup and working directory
    buffer = b""
    while True:
        line, fds, buffer = _receive(ctrl, buffer)
        if line is None:
            for pid in set(live) - set(exited):  # the grader is gone: so is every worker
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)
            _clean_up(live, list(live), groups)
            groups.close()
            return
        _clean_up(live, _reap(exited), groups)
        request = json.loads(line)
        if request["op"] == "spawn":
            config = dict(request["config"], namespaces=options["namespaces"], tmp_mb=options["tmp_mb"])
            if private_tmp:  # in a folder of the server's, under a name nobody can guess
                config["workdir"] = f"{work_base}/worker-{secrets.token_hex(8)}"
                os.mkdir(config["workdir"], 0o700)
            group, conf = _worker_group(groups, config, server)
            pid = os.fork()
            if pid == 0:
                ctrl.close()
                _enter_group(groups, group, conf)
                worker.worker_process(fds[0], fds[0], config, conf.as_dict())
            os.close(fds[0])
            live[pid] = (group, config["workdir"] if private_tmp else "")
            _send(ctrl, {"pid": pid})
        elif request["op"] == "poll":
            pid = request["pid"]
            code = os.waitstatus_to_exitcode(exited.pop(pid)) if pid in exited else None
            _send(ctrl, {"pid": pid, "exitcode": code})
        elif request["op"] == "wait":
            pid = request["pid"]
            if pid not in exited:
                exited[pid] = os.waitpid(pid, 0)[1]
                _clean_up(live, [pid], groups)
            _send(ctrl, {"pid": pid, "exitcode": os.waitstatus_to_exitcode(exited.pop(pid))})


def allowed_paths() -> list[str]:
    """What workers may see: the Python installation and its packages. A checkout (or a
    release) that holds the grader is replaced by the grader's package alone: its
    solutions, tests and anything else in it stay out."""
    from grader.paths import GRADER_DIR, PROJECT_ROOT
    from grader.sandbox import worker

    checkout = (PROJECT_ROOT / "pyproject.toml").exists()
    return [str(GRADER_DIR) if checkout and path == str(PROJECT_ROOT) else path
            for path in worker.python_paths()]


def _worker_group(
    groups: cgroups.Cgroups, config: dict[str, Any], server: Confinement
) -> tuple[str, Confinement]:
    """A cgroup for the next worker, and the confinement it starts from."""
    conf = Confinement.from_dict(server.as_dict())
    memory = (config["memory_mb"] + CGROUP_HEADROOM_MB) * 2**20
    try:
        group = groups.create(memory, config["max_processes"]) if groups.hierarchies else ""
    except OSError as exc:
        group = ""
        why = f"could not make the worker's cgroup ({exc.strerror})"
        groups.missing = dict.fromkeys(("memory", "pids"), why)
    for controller, aspect, detail in (
        ("memory", "worker memory", f"cgroup: {config['memory_mb'] + CGROUP_HEADROOM_MB} MiB for the "
                                    "worker and all it starts, shared memory and /tmp included"),
        ("pids", "worker processes", f"cgroup: at most {config['max_processes']} processes and threads "
                                     "for the worker and all it starts, its own count"),
    ):
        if group and groups.has(controller):
            conf.have(aspect, detail)
        else:
            conf.lack(aspect, groups.missing.get(controller, "namespaces turned off")
                      + ("; per-process limits only" if controller == "memory" else
                         "; RLIMIT_NPROC instead, shared by every worker running as the same user"))
    return group, conf


def _enter_group(groups: cgroups.Cgroups, group: str, conf: Confinement) -> None:
    """In the forked worker, first: all it starts is then counted with it."""
    try:
        if group:
            groups.enter(group)
    except OSError as exc:
        for aspect in ("worker memory", "worker processes"):
            conf.lack(aspect, f"could not enter the worker's cgroup ({exc.strerror})")
    except BaseException:
        os._exit(70)  # never back into the server's loop


def _clean_up(live: dict[int, tuple[str, str]], ended: list[int], groups: cgroups.Cgroups) -> None:
    """Remove the cgroups and working directories of workers that have ended."""
    for pid in ended:
        group, workdir = live.pop(pid, ("", ""))
        if group:
            groups.remove(group)
        if workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    groups.sweep()


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
