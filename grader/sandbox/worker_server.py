"""The worker server: a clean process with torch and the probes imported, that forks workers.

Started by ``launchers.ServerLauncher`` with one end of a socket pair and a JSON argument
(modules to preload, paths to hide). After preloading it leaves the network and hides the
judges (``confine.isolate_server``), once for all its workers. No student code ever runs
here: each worker is a fork that confines itself further and only then imports a
submission. Requests are JSON lines; a spawn request carries the worker's socket.

    -> {"op": "spawn", "config": {...}} + fd     <- {"pid": 1234}   or {"error": "..."} (no fork)
    -> {"op": "poll", "pid": 1234}               <- {"pid": 1234, "exitcode": null}
    -> {"op": "wait", "pid": 1234}               <- {"pid": 1234, "exitcode": -9}
    -> {"op": "connect"} + fd                    <- {"connected": true}   (another link, same requests)
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import os
import secrets
import select
import shutil
import signal
import socket
import sys
import time
from collections.abc import Collection
from typing import Any

from grader.sandbox import cgroups, confine, huge_pages, rootfs
from grader.sandbox.confine import Confinement

# A forked worker's copy-on-write pages of the server (the heap its refcounts touch) are
# charged to its cgroup: room for them on top of the memory the submission may use.
CGROUP_HEADROOM_MB = 256


def main() -> None:
    fd, options = int(sys.argv[1]), json.loads(sys.argv[2])
    gc.disable()  # until what the imports made is frozen, below (grader/fast_start.py)
    import torch

    from grader import deferred_imports

    deferred_imports.install()  # what exercise5's code would otherwise import in every worker
    torch.set_num_threads(1)  # workers share the machine; one thread each is also deterministic
    os.environ["MPLBACKEND"] = "Agg"  # where matplotlib is preloaded: plots draw off-screen
    from grader.sandbox import worker  # what every worker runs, imported once here
    from grader.sandbox.limits import DEFAULT_LIMITS  # not client: the grading side's modules

    worker.seed(0)  # its first call imports numpy.random (8 ms), here rather than in every worker
    for name in options["preload"]:
        module = importlib.import_module(name)
        if name.startswith("grader.checks.") and callable(getattr(module, "warm_up", None)):
            module.warm_up()  # a probes module's first-use costs, paid here once (exercise5's JIT)
    groups = cgroups.prepare() if options["namespaces"] else cgroups.Cgroups()  # before /sys is gone
    server = confine.isolate_server(options["hidden"], allowed_paths(), options["tmp_mb"],
                                    options["namespaces"])
    # After the uid map (a non-dumpable process cannot write its own): every worker is a fork
    # of this process, so none may read or write its memory, whatever user it runs as.
    confine.keep_trusted_memory_private()
    workers = _Workers(groups, server, options)
    ctrl = socket.socket(fileno=fd)
    # What the imports made is never garbage: out of the collector's sight, a worker's
    # collections neither scan it nor copy the pages it lives on.
    gc.freeze()
    gc.enable()  # for the workers: a submission's garbage is collected as anywhere
    _send(ctrl, {"ready": True, "pid": os.getpid()})
    confine.set_parent_death_signal()  # the grader died: no server without it
    if "network" in server.in_force:  # namespaces work: each worker's pid 1 is what it adopts
        confine.become_subreaper()
    if options.get("huge_pages"):  # while the grader still imports: every fork after is cheaper
        huge_pages.collapse()
    wanted: dict[str, Any] = {key: getattr(DEFAULT_LIMITS, key) for key in CGROUP_SETTINGS}
    # The grader's connection, and any more it opens for processes it forks (a second
    # judging process): link -> what was read from it and not yet handled.
    links = {ctrl: b""}
    spawning: tuple[socket.socket, dict[str, Any], int] | None = None  # a request no spare fitted
    while True:
        # Every worker is forked here, as a spare, so that all carry the same stack:
        # torch.jit.trace writes the stack into the files it saves, and a student's saved
        # model must not depend on which spare (the first, a later one, one made to fit a
        # request) happened to serve it. Between requests: while the grader talks to a worker.
        workers.fork_spare(wanted)
        if spawning is not None:
            link, config, channel = spawning
            spawning = None
            pid = workers.start(config, channel)
            answer = {"pid": pid} if pid is not None else _started_afresh(workers, config, channel)
            _answer(links, link, answer)
            continue
        link = next((each for each, pending in links.items() if b"\n" in pending), None)
        if link is None:
            link = select.select(list(links), [], [])[0][0]
        try:
            line, fds, links[link] = _receive(link, links[link])
        except OSError:  # reset by a second judging process that was killed
            if link is ctrl:
                raise
            line, fds = None, []
        if line is None:
            if link is not ctrl:  # that process is done
                del links[link]
                link.close()
                continue
            workers.end_all()  # the grader is gone: so is every worker
            # Nothing left to flush, and tearing torch down would keep the grader waiting
            # (about half a second) in `launcher.close`.
            os._exit(0)
        workers.clean_up(_reap(workers.exited, workers.live))
        request = json.loads(line)
        if request["op"] == "spawn":
            wanted = request["config"]
            pid = workers.start(wanted, fds[0])
            if pid is None:  # the spare did not fit: one that does is forked first
                spawning = link, wanted, fds[0]
            else:
                _answer(links, link, {"pid": pid})
        elif request["op"] == "poll":
            _answer(links, link, {"pid": request["pid"], "exitcode": workers.poll(request["pid"])})
        elif request["op"] == "wait":
            _answer(links, link, {"pid": request["pid"], "exitcode": workers.wait(request["pid"])})
        elif request["op"] == "connect":
            links[socket.socket(fileno=fds[0])] = b""
            _answer(links, link, {"connected": True})


# What a worker's cgroup is made with: a spare fits a request that asks for the same.
CGROUP_SETTINGS = ("memory_mb", "max_processes")


class _Workers:
    """The server's workers: each in its own cgroup and working directory, removed when it
    ends; and one spare, forked ahead of the next request.

    A spare goes through the slow part of a start (the forks of a large process, the
    namespaces, the mounts) and then waits, before any of its confinement that depends on a
    request, for the request's settings and its channel. Only its cgroup's limits are fixed
    when it is made: a request that asks for other limits gets a worker made afresh.
    """

    def __init__(self, groups: cgroups.Cgroups, server: Confinement, options: dict[str, Any]) -> None:
        self.groups = groups
        self.server = server
        self.options = options
        self.private_tmp = "hidden files" in server.in_force
        self.work_base = rootfs.SHARED_WORK if confine.ALLOW_LIST in server.in_force else "/tmp"
        self.exited: dict[int, int] = {}
        self.live: dict[int, tuple[str, str]] = {}  # pid -> its cgroup and working directory
        self.spare: tuple[int, socket.socket, dict[str, Any]] | None = None  # pid, link, config

    def start(self, request: dict[str, Any], channel_fd: int) -> int | None:
        """The spare's pid, now serving ``request`` on ``channel_fd``; None where there is
        no spare or it does not fit (it is then ended, and ``channel_fd`` kept)."""
        pid = self._hand_over(self._config(request), channel_fd)
        if pid is not None:
            os.close(channel_fd)
        return pid

    def start_afresh(self, request: dict[str, Any], channel_fd: int) -> int:
        """A worker forked for ``request`` now: where no spare could be made (no process
        to spare)."""
        try:
            return self._fork(self._config(request), channel_fd)
        finally:
            os.close(channel_fd)

    def fork_spare(self, request: dict[str, Any]) -> None:
        if self.spare is not None:
            return
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        config = dict(self._config(request), spare=True)
        try:
            pid = self._fork(config, theirs.fileno())
        except OSError:
            ours.close()
            return  # no spare: the next request makes its worker itself
        finally:
            theirs.close()
        self.spare = pid, ours, config

    def poll(self, pid: int) -> int | None:
        return os.waitstatus_to_exitcode(self.exited.pop(pid)) if pid in self.exited else None

    def wait(self, pid: int) -> int:
        if pid not in self.exited:
            self.exited[pid] = os.waitpid(pid, 0)[1]
            self.clean_up([pid])
        return os.waitstatus_to_exitcode(self.exited.pop(pid))

    def clean_up(self, ended: list[int]) -> None:
        """Remove the cgroups and working directories of workers that have ended."""
        for pid in ended:
            self._discard(*self.live.pop(pid, ("", "")))
        self.groups.sweep()

    def _discard(self, group: str, workdir: str) -> None:
        """Remove a worker's cgroup and working directory (either may be "")."""
        if group:
            self.groups.remove(group)
        if workdir:
            shutil.rmtree(workdir, ignore_errors=True)

    def end_all(self, wait_s: float = 2.0) -> None:
        for pid in set(self.live) - set(self.exited):  # all at once, each whole (W, S and R)
            for kill in (os.killpg, os.kill):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    kill(pid, signal.SIGKILL)
        _reap_all(time.monotonic() + wait_s)  # them and their orphans: else their cgroups stay busy
        self.clean_up(list(self.live))
        self.groups.close()

    def _config(self, request: dict[str, Any]) -> dict[str, Any]:
        return dict(request, namespaces=self.options["namespaces"], tmp_mb=self.options["tmp_mb"])

    def _hand_over(self, config: dict[str, Any], channel_fd: int) -> int | None:
        """The spare's pid, now serving ``channel_fd``; None where there is no spare that
        fits (it is then ended)."""
        if self.spare is None:
            return None
        pid, link, made_with = self.spare
        self.spare = None
        fits = all(config[key] == made_with[key] for key in CGROUP_SETTINGS)
        try:
            if fits and pid not in self.exited:
                if self.private_tmp:  # the spare's own folder, made with it
                    config = dict(config, workdir=made_with["workdir"])
                socket.send_fds(link, [json.dumps(config).encode()], [channel_fd])
                return pid
        except OSError:
            pass  # it died: a new one
        finally:
            link.close()  # a spare not handed over reads the end of its link and exits
        return None

    def _fork(self, config: dict[str, Any], channel_fd: int) -> int:
        if self.private_tmp:  # in a folder of the server's, under a name nobody can guess
            config["workdir"] = f"{self.work_base}/worker-{secrets.token_hex(8)}"
            os.mkdir(config["workdir"], 0o700)
        group, conf = _worker_group(self.groups, config, self.server)
        try:
            pid = os.fork()
        except OSError:  # no process to spare: nothing made for it stays behind
            self._discard(group, config["workdir"] if self.private_tmp else "")
            raise
        if pid == 0:
            from grader.sandbox import worker

            _enter_group(self.groups, group, conf)
            worker.worker_process(channel_fd, channel_fd, config, conf.as_dict())
        self.live[pid] = (group, config["workdir"] if self.private_tmp else "")
        return pid


def _started_afresh(workers: _Workers, config: dict[str, Any], channel_fd: int) -> dict[str, Any]:
    """The answer to a spawn request no spare could serve: the new worker's pid, or why none
    could be forked (the server itself goes on)."""
    try:
        return {"pid": workers.start_afresh(config, channel_fd)}
    except OSError as exc:
        return {"error": f"the worker server could not fork a worker ({exc.strerror or exc})"}


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
                         "; no count of its own (see user)"))
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


MAX_UNCLAIMED = 1024  # exit statuses kept for the grader to ask for; a batch abandons many


def _reap(exited: dict[int, int], live: Collection[int]) -> list[int]:
    """Collect finished workers, and orphans of killed ones (``confine.become_subreaper``),
    so that none lingers as a zombie; returns the workers' pids."""
    reaped = []
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return reaped
        if pid == 0:
            return reaped
        if pid not in live:  # an orphan: nobody will ask how it ended
            continue
        exited[pid] = status
        reaped.append(pid)
        if len(exited) > MAX_UNCLAIMED:  # workers the grader killed and never asked about
            del exited[next(iter(exited))]


def _reap_all(deadline: float) -> None:
    """Reap every child until none is left, or until ``deadline``."""
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.002)


def _send(ctrl: socket.socket, message: dict[str, Any]) -> None:
    ctrl.sendall(json.dumps(message).encode() + b"\n")


def _answer(links: dict[socket.socket, bytes], link: socket.socket, message: dict[str, Any]) -> None:
    """Reply on ``link``. A second judging process that went away before its answer (killed
    when the grader was interrupted) is forgotten; the grader's own connection (the first
    link) is the server's life."""
    try:
        _send(link, message)
    except OSError:
        if link is next(iter(links)):
            raise
        del links[link]
        link.close()


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
