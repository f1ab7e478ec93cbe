"""The workers' file system: an allow-list root, built once in the worker server.

    host /  --(open O_PATH fds to what is allowed)-->  tmpfs over /tmp (private namespace)
            --(bind each allowed path in, read-only)--> pivot_root into the tmpfs
            --(detach the old root)-->                   nothing else of the host is left

What a worker sees: the Python installation and its packages, the grader's package (with
the judges covered), /usr (the system's programs and libraries), two dynamic-linker files
of /etc, a minimal /dev, the host's /proc (which each worker mounts over with its own, see
``worker_mounts``) and an empty /tmp (each worker mounts its own). Course copies,
classmates' files, /home, /srv, /root and every other folder of the host do not exist there.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from grader.sandbox.syscalls import (
    MNT_DETACH,
    MS_BIND,
    MS_NODEV,
    MS_NOEXEC,
    MS_NOSUID,
    MS_RDONLY,
    MS_REC,
    call,
    mount,
    read_only_recursively,
)

BUILD_AT = "/tmp"  # mounted over in the server's private namespace, so the host never sees it
OLD_ROOT = ".old-root"
# Where workers that cannot mount their own /tmp get a folder (the server mounts a tmpfs).
SHARED_WORK = "/.workers"
# The system's programs and libraries (the C library, the dynamic linker), and the files of
# /etc that loading shared libraries reads: nothing that names the machine's users.
SYSTEM = ("/usr", "/etc/ld.so.cache", "/etc/ld.so.conf")
DEVICES = ("null", "zero", "full", "random", "urandom")


def build_root(allowed: Iterable[str], hidden: Iterable[str]) -> list[str]:
    """Pivot into a root made of ``allowed`` (read-only) minus ``hidden``; returns what was bound.

    Must run in a private mount namespace with the power to mount (root, or root of a user
    namespace). Raises OSError when the kernel refuses a step.
    """
    sources = _minimal(os.path.realpath(p) for p in [*allowed, *SYSTEM] if os.path.exists(p))
    held = {path: os.open(path, os.O_PATH) for path in sources}  # reachable after the cover
    dev = {name: os.open(f"/dev/{name}", os.O_PATH) for name in DEVICES if os.path.exists(f"/dev/{name}")}
    proc = os.open("/proc", os.O_PATH | os.O_DIRECTORY)
    links = _root_links()
    mount("tmpfs", BUILD_AT, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=755")
    try:
        for path, fd in held.items():
            _bind_in(fd, path)
        _make_dev(dev)
        _bind_in(proc, "/proc", recursive=True)
        os.makedirs(_inside("/tmp"), mode=0o755, exist_ok=True)
        os.mkdir(_inside(SHARED_WORK), 0o755)
        for name, target in links.items():
            if not os.path.lexists(_inside(name)):
                os.symlink(target, _inside(name))
        covered = [path for path in map(os.path.realpath, hidden)
                   if any(_is_under(path, s) for s in sources) and _cover(_inside(path))]
    finally:
        for fd in [*held.values(), *dev.values(), proc]:
            os.close(fd)
    os.mkdir(_inside(OLD_ROOT))
    read_only_recursively(BUILD_AT)
    _pivot()
    return [*sources, *(f"(covered) {p}" for p in covered)]


def _minimal(paths: Iterable[str]) -> list[str]:
    """The paths without those already inside another one (bound along with it), and
    without the host's root itself (a "/" on sys.path would otherwise bind everything)."""
    kept: list[str] = []
    for path in sorted(set(paths), key=lambda p: (len(p), p)):  # the same order every run
        if path != "/" and not any(_is_under(path, outer) for outer in kept):  # never all of it
            kept.append(path)
    return kept


def _is_under(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def _inside(path: str) -> str:
    return os.path.join(BUILD_AT, path.lstrip("/"))


def _bind_in(fd: int, path: str, recursive: bool = True) -> None:
    """Bind what ``fd`` holds at ``path`` of the new root, creating the way to it."""
    target = _inside(path)
    os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
    if os.path.isdir(f"/proc/self/fd/{fd}"):
        os.makedirs(target, mode=0o755, exist_ok=True)
    elif not os.path.exists(target):
        open(target, "w").close()
    mount(f"/proc/self/fd/{fd}", target, None, MS_BIND | (MS_REC if recursive else 0))


def _make_dev(devices: dict[str, int]) -> None:
    os.makedirs(_inside("/dev"), mode=0o755)
    mount("tmpfs", _inside("/dev"), "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,mode=755")
    os.makedirs(_inside("/dev/shm"), mode=0o755, exist_ok=True)
    for name, fd in devices.items():
        _bind_in(fd, f"/dev/{name}", recursive=False)
    for name, target in {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0",
                         "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"}.items():
        os.symlink(target, _inside(f"/dev/{name}"))


def _root_links() -> dict[str, str]:
    """The links at the top of the host's root (/bin -> usr/bin, /lib64 -> usr/lib64, ...)."""
    links = {}
    for name in os.listdir("/"):
        if os.path.islink(f"/{name}"):
            links[f"/{name}"] = os.readlink(f"/{name}")
    return links


def _cover(path: str) -> bool:
    """An empty read-only mount over ``path`` of the new root; False when nothing is there."""
    if os.path.isdir(path):
        mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k,mode=555")
    elif os.path.exists(path):
        mount("/dev/null", path, None, MS_BIND)
    else:
        return False
    return True


def _pivot() -> None:
    os.chdir(BUILD_AT)
    call("pivot_root", b".", OLD_ROOT.encode())
    os.chdir("/")
    call("umount2", f"/{OLD_ROOT}".encode(), MNT_DETACH)


def worker_mounts(tmp_mb: int) -> list[str]:
    """In a worker's own mount and PID namespaces: a fresh /proc, a fresh /tmp, and no
    ``SHARED_WORK`` (the folder shared by workers that cannot have their own /tmp).

    What the root holds under /tmp (an allowed path there, such as a checkout or packages
    under /tmp) is bound back into the fresh one. Returns what it could not do, as
    reasons (empty when all is done).
    """
    problems = []
    try:
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    except OSError as exc:
        problems.append(f"/proc: {exc.strerror}")
    try:
        _fresh_keeping("/tmp", f"size={tmp_mb}m,mode=700")
        # The server's folder for workers without a /tmp of their own is one tmpfs for all
        # its workers, writable by all: what one student left there, the next would find.
        # A worker with its own /tmp does without it.
        call("umount2", SHARED_WORK.encode(), MNT_DETACH)
    except OSError as exc:
        problems.append(f"/tmp: {exc.strerror}")
    return problems


def _fresh_keeping(directory: str, options: str) -> None:
    """A tmpfs over ``directory``, with what was in it bound back in (read-only as before)."""
    kept = {name: os.open(os.path.join(directory, name), os.O_PATH) for name in os.listdir(directory)}
    try:
        mount("tmpfs", directory, "tmpfs", MS_NOSUID | MS_NODEV, options)
        for name, fd in kept.items():
            target = os.path.join(directory, name)
            if os.path.isdir(f"/proc/self/fd/{fd}"):
                os.mkdir(target, 0o755)
            else:
                open(target, "w").close()
            mount(f"/proc/self/fd/{fd}", target, None, MS_BIND | MS_REC)
    finally:
        for fd in kept.values():
            os.close(fd)
