"""Bounding each worker as a whole: memory (shared memory included) and process count.

The worker server makes one group of its own under the cgroup it was started in, and a
sub-group per worker inside that; the worker moves itself in before anything else, so
everything it starts is counted with it, and the sub-group is removed once it has ended.

    cgroup v2: <own>/d2l-grader-<server pid>/w<random>/{memory.max, memory.swap.max, pids.max}
               (needs memory and pids in <own>/cgroup.subtree_control: a delegated cgroup)
    cgroup v1: <memory mount>/<own>/d2l-grader-<pid>/w<random>/memory.limit_in_bytes (+ memsw)
               <pids mount>/<own>/d2l-grader-<pid>/w<random>/pids.max

Directories are held open (``dir_fd``), so all of this keeps working after the server has
pivoted into the workers' root, where /sys does not exist.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import time
from dataclasses import dataclass, field

PREFIX = "d2l-grader-"
# Passes over a v1 group's processes before the group is left for a later sweep: a process
# forked meanwhile is found on the next pass (the group's pids.max bounds how many).
KILL_ROUNDS = 20


@dataclass
class Hierarchy:
    """One cgroup tree the server may use: where its group is, and how to write limits."""

    controllers: tuple[str, ...]  # ("memory", "pids") on v2; one of them on v1
    fd: int  # the server's group, held open
    version: int
    parent_fd: int  # the group it was made in, to remove it from at the end


@dataclass
class Cgroups:
    """The hierarchies in use, and what could not be set up (controller -> why)."""

    hierarchies: list[Hierarchy] = field(default_factory=list)
    missing: dict[str, str] = field(default_factory=dict)
    pending: list[str] = field(default_factory=list)  # worker groups still to remove

    def has(self, controller: str) -> bool:
        return any(controller in h.controllers for h in self.hierarchies)

    def create(self, memory_bytes: int, max_processes: int) -> str:
        """A new worker group with these limits; returns its name."""
        name = "w" + secrets.token_hex(8)
        for hierarchy in self.hierarchies:
            os.mkdir(name, 0o755, dir_fd=hierarchy.fd)
            for file, value in _limits(hierarchy, memory_bytes, max_processes):
                with contextlib.suppress(FileNotFoundError):  # memsw without swap accounting
                    _write_at(hierarchy.fd, f"{name}/{file}", str(value))
        return name

    def enter(self, name: str) -> None:
        """Move the calling process into group ``name`` (the worker, before anything else)."""
        for hierarchy in self.hierarchies:
            _write_at(hierarchy.fd, f"{name}/cgroup.procs", "0")

    def remove(self, name: str) -> None:
        """Remove a worker's group, now or (while its processes are still exiting) later."""
        self.pending.append(name)
        self.sweep()

    def sweep(self) -> None:
        for name in list(self.pending):
            self._kill(name)
            if all(_rmdir_at(h.fd, name) for h in self.hierarchies):
                self.pending.remove(name)

    def _kill(self, name: str) -> None:
        """End whatever is still in a worker's group. With PID namespaces nothing is: the
        worker's end ends everything it started. Without them, a submission's detached
        daemon would live on, keep the group busy and the server waiting at its end."""
        for hierarchy in self.hierarchies:
            try:  # cgroup v2 (Linux 5.14): the kernel kills the whole group at once
                _write_at(hierarchy.fd, f"{name}/cgroup.kill", "1")
                continue
            except OSError:
                pass
            for _ in range(KILL_ROUNDS):  # v1: whoever is there, until none is (forks race it)
                pids = _pids_at(hierarchy.fd, name)
                if not pids:
                    break
                for pid in pids:
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)

    def close(self, wait_s: float = 2.0) -> None:
        """Remove every group made, waiting up to ``wait_s`` for killed workers to finish
        exiting, and let go of the hierarchies."""
        deadline = time.monotonic() + wait_s
        self.sweep()
        while self.pending and time.monotonic() < deadline:
            time.sleep(0.005)  # killed processes take milliseconds; the grader waits for this
            self.sweep()
        for hierarchy in self.hierarchies:
            with contextlib.suppress(OSError):
                os.rmdir(f"{PREFIX}{os.getpid()}", dir_fd=hierarchy.parent_fd)
            os.close(hierarchy.fd)
            os.close(hierarchy.parent_fd)
        self.hierarchies.clear()


def _limits(hierarchy: Hierarchy, memory_bytes: int, max_processes: int) -> list[tuple[str, int]]:
    limits = []
    if "memory" in hierarchy.controllers:
        if hierarchy.version == 2:
            limits += [("memory.max", memory_bytes), ("memory.swap.max", 0)]
        else:
            limits += [("memory.limit_in_bytes", memory_bytes), ("memory.memsw.limit_in_bytes", memory_bytes)]
    if "pids" in hierarchy.controllers:
        limits.append(("pids.max", max_processes))
    return limits


def _write_at(dir_fd: int, path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY, dir_fd=dir_fd)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _pids_at(dir_fd: int, name: str) -> list[int]:
    try:
        fd = os.open(f"{name}/cgroup.procs", os.O_RDONLY, dir_fd=dir_fd)
    except OSError:
        return []
    try:
        with os.fdopen(fd, "rb") as file:
            return [int(line) for line in file.read().split()]
    except (OSError, ValueError):
        return []


def _rmdir_at(dir_fd: int, name: str) -> bool:
    try:
        os.rmdir(name, dir_fd=dir_fd)
    except FileNotFoundError:
        return True
    except OSError:  # EBUSY while its processes finish exiting: tried again later
        return False
    return True


# -- finding and preparing the hierarchies --------------------------------------------


def prepare(proc: str = "/proc/self", root: str = "/") -> Cgroups:
    """The server's own group in every hierarchy that offers memory or pids.

    ``proc`` and ``root`` are for tests, which build a fake tree.
    """
    found = Cgroups()
    mounts = _cgroup_mounts(f"{proc}/mountinfo")
    own = _own_groups(f"{proc}/cgroup")
    wanted = {"memory", "pids"}
    if "" in own and "cgroup2" in mounts:  # v2 first: the one systemd and containers delegate
        _try_v2(found, _group_dir(root, mounts["cgroup2"], own[""]), wanted)
    for controller in sorted(wanted - {c for h in found.hierarchies for c in h.controllers}):
        if controller in mounts and controller in own:
            _open_group(found, _group_dir(root, mounts[controller], own[controller]), (controller,), 1)
        else:
            found.missing.setdefault(controller, f"no cgroup hierarchy offers the {controller} controller")
    return found


def _group_dir(root: str, mount: tuple[str, str], own: str) -> str:
    """The folder of group ``own`` in a hierarchy mounted at ``mount`` (point, root)."""
    point, mount_root = mount
    relative = os.path.relpath(own, mount_root) if _is_under(own, mount_root) else "."
    return os.path.normpath(os.path.join(root, point.lstrip("/"), relative))


def _is_under(path: str, directory: str) -> bool:
    return directory == "/" or path == directory or path.startswith(directory + "/")


def _try_v2(found: Cgroups, group: str, wanted: set[str]) -> None:
    """Worker groups go under the server's own group, or beside it (its parent), wherever
    memory and pids are delegated: v2 lets only a group without processes hand them on."""
    for candidate in (group, os.path.dirname(group)):
        delegated = _subtree_control(candidate) & wanted
        if delegated == wanted:
            _open_group(found, candidate, tuple(sorted(delegated)), 2)
            return
    for controller in wanted:
        found.missing[controller] = (f"cgroup v2: {controller} is not delegated to {group} or its parent "
                                     "(not in cgroup.subtree_control)")


def _subtree_control(group: str) -> set[str]:
    try:
        with open(os.path.join(group, "cgroup.subtree_control")) as handle:
            return set(handle.read().split())
    except OSError:
        return set()


def _open_group(found: Cgroups, parent: str, controllers: tuple[str, ...], version: int) -> None:
    """Make the server's own group under ``parent`` (clearing those of dead servers)."""
    _sweep_stale(parent)
    path = os.path.join(parent, f"{PREFIX}{os.getpid()}")
    try:
        os.mkdir(path, 0o755)
        if version == 2:  # its worker groups get the controllers the parent delegated
            with open(os.path.join(path, "cgroup.subtree_control"), "w") as handle:
                handle.write(" ".join(f"+{c}" for c in controllers))
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        parent_fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.rmdir(path)
        for controller in controllers:
            found.missing[controller] = (f"cgroup v{version}: cannot create a group under {parent} "
                                         f"({exc.strerror})")
        return
    found.hierarchies.append(Hierarchy(controllers, fd, version, parent_fd))
    for controller in controllers:
        found.missing.pop(controller, None)


def _sweep_stale(parent: str) -> None:
    """Remove the empty groups of worker servers that were killed before they cleaned up."""
    with contextlib.suppress(OSError), os.scandir(parent) as entries:
        for entry in entries:
            pid = entry.name.removeprefix(PREFIX)
            if entry.name.startswith(PREFIX) and pid.isdigit() and not _alive(int(pid)):
                with contextlib.suppress(OSError), os.scandir(entry.path) as workers:
                    for worker in workers:
                        if worker.is_dir():
                            os.rmdir(worker.path)
                with contextlib.suppress(OSError):
                    os.rmdir(entry.path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _cgroup_mounts(mountinfo: str) -> dict[str, tuple[str, str]]:
    """Controller (or "cgroup2") -> where that hierarchy is mounted, and its root there."""
    mounts: dict[str, tuple[str, str]] = {}
    with contextlib.suppress(OSError), open(mountinfo) as handle:
        for line in handle:
            fields = line.split()
            if " - " not in line:
                continue
            after = line.split(" - ", 1)[1].split()
            fstype, options = after[0], after[2].split(",") if len(after) > 2 else []
            if fstype == "cgroup2":
                mounts.setdefault("cgroup2", (fields[4], fields[3]))
            elif fstype == "cgroup":
                for option in options:
                    mounts.setdefault(option, (fields[4], fields[3]))
    return mounts


def _own_groups(cgroup_file: str) -> dict[str, str]:
    """Controller ("" for v2) -> the group this process is in."""
    own: dict[str, str] = {}
    with contextlib.suppress(OSError), open(cgroup_file) as handle:
        for line in handle:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for controller in controllers.split(",") if controllers else [""]:
                own[controller] = path
    return own
