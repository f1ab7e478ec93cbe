"""Confining a worker before it imports a submission, as far as this machine allows.

Runs in the worker process, before any student code. Each step records what it put in
force, or why it could not, in a ``Confinement``; the trusted side copies that into the
report as the isolation level, so nothing is ever silently weaker than it says.

Linux order (the zygote's child W):
  W  unshare(net, pid, mount[, user])  -> forks S
  S  pid 1 of the new PID namespace: private mounts, fresh /proc and /tmp, hidden paths;
     forks R and waits; when S ends the kernel kills every process left in the namespace
  R  resource limits, unprivileged user, fresh working directory, scrubbed environment,
     stdin closed -> serves probes (``worker.serve``)
Without namespaces W itself becomes R.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

try:  # POSIX only; on Windows the worker runs without these limits and says so
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None  # type: ignore[assignment]

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_BIND, MS_REC, MS_PRIVATE = 4096, 0x4000, 1 << 18
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38

# The names a report can list, in the order a reader expects them.
ASPECTS = (
    "process",
    "forkserver",
    "resource limits",
    "working directory",
    "environment",
    "stdio",
    "network",
    "process lifetime",
    "hidden files",
    "user",
)


@dataclass
class Confinement:
    """What the worker put in force (aspect -> detail) and what it could not (-> why)."""

    in_force: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    def have(self, aspect: str, detail: str) -> None:
        self.in_force[aspect] = detail
        self.missing.pop(aspect, None)

    def lack(self, aspect: str, why: str) -> None:
        self.missing[aspect] = why

    def as_dict(self) -> dict[str, Any]:
        return {"in_force": dict(self.in_force), "missing": dict(self.missing)}


def _libc() -> Any:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _call(name: str, *args: Any) -> None:
    libc = _libc()
    if getattr(libc, name)(*args) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{name}: {os.strerror(errno)}")


def close_inherited_fds(keep: set[int]) -> None:
    """Close every descriptor but stdio and ``keep`` (the zygote's socket, above all)."""
    highest = 4096
    low = 3
    for fd in sorted(keep) + [highest]:
        if fd >= low:
            os.closerange(low, fd)
            low = fd + 1


def enter_namespaces(conf: Confinement) -> bool:
    """Unshare network, PID and mount namespaces (with a user namespace when not root).

    Returns whether the next child will be pid 1 of a new PID namespace.
    """
    if not sys.platform.startswith("linux"):
        why = f"not available on {sys.platform}"
        for aspect in ("network", "process lifetime", "hidden files"):
            conf.lack(aspect, why)
        return False
    root = os.geteuid() == 0
    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWNS | (0 if root else CLONE_NEWUSER)
    try:
        _call("unshare", flags)
    except OSError as exc:
        why = f"namespaces not permitted here ({exc.strerror})"
        conf.lack("network", why)
        conf.lack("process lifetime", why + "; the worker's process group is killed instead")
        conf.lack("hidden files", why)
        return False
    if not root:
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"0 {uid} 1")
        _write("/proc/self/gid_map", f"0 {gid} 1")
    conf.have("network", "none (a new, empty network namespace)")
    conf.have("process lifetime", "new PID namespace: every process it starts ends with it")
    return True


def _write(path: str, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)


def set_parent_death_signal() -> None:
    if sys.platform.startswith("linux"):
        _libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def private_mounts(
    conf: Confinement, hidden: list[str], exposed: list[str], tmp_mb: int
) -> str | None:
    """In a new mount namespace: fresh /proc and /tmp, empty mounts over ``hidden``.

    ``exposed`` are the directories the worker must still read after it drops to
    ``nobody`` (the Python installation, which may sit under a private home directory).

    Returns the working directory made inside the fresh /tmp, or None on failure.
    """
    def mount(source: str, target: str, fstype: str | None, flags: int, data: str = "") -> None:
        _call(
            "mount",
            source.encode(),
            target.encode(),
            fstype.encode() if fstype else None,
            ctypes.c_ulong(flags),
            data.encode() if data else None,
        )

    try:
        mount("none", "/", None, MS_REC | MS_PRIVATE)
        mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={tmp_mb}m,mode=1777")
    except OSError as exc:
        conf.lack("hidden files", f"could not make private mounts ({exc.strerror})")
        return None
    with contextlib.suppress(OSError):  # else /proc shows the host's processes; nothing needs it
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    try:
        _expose(mount, exposed)
    except OSError as exc:
        conf.lack("hidden files", f"could not expose the Python installation ({exc.strerror})")
        return None
    hidden_now = []
    for path in hidden:
        try:
            if os.path.isdir(path):
                mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k,mode=555")
            elif os.path.exists(path):
                mount("/dev/null", path, None, MS_BIND)
            else:
                continue
            hidden_now.append(path)
        except OSError as exc:
            conf.lack("hidden files", f"could not hide {path} ({exc.strerror})")
            return _fresh_workdir()
    conf.have("hidden files", "judges, solutions and submissions hidden: " + ", ".join(hidden_now))
    return _fresh_workdir()


def _expose(mount: Callable[..., None], paths: list[str]) -> None:
    """Make ``paths`` reachable by any user, covering what blocks them.

    A directory on the way that others may not search (``/root`` holding a pyenv, say) is
    covered with an empty searchable tmpfs, and only the next step towards each path is
    bound back in: the rest of that directory stays out of sight.
    """
    bindings: dict[str, dict[str, int]] = {}
    for path in paths:
        blocker, child = _first_unsearchable(path)
        if blocker and child not in bindings.get(blocker, {}):
            bindings.setdefault(blocker, {})[child] = os.open(child, os.O_PATH)
    for blocker, children in bindings.items():
        mount("tmpfs", blocker, "tmpfs", MS_NOSUID | MS_NODEV, "size=16k,mode=755")
        for child, fd in children.items():
            os.mkdir(child) if not os.path.isfile(f"/proc/self/fd/{fd}") else open(child, "w").close()
            mount(f"/proc/self/fd/{fd}", child, None, MS_BIND | MS_REC)
            os.close(fd)


def _first_unsearchable(path: str) -> tuple[str | None, str]:
    """The first directory above ``path`` that others cannot search, and its next step."""
    parts = os.path.abspath(path).split(os.sep)[1:]
    current = "/"
    for part in parts:
        nxt = os.path.join(current, part)
        try:
            mode = os.stat(current).st_mode
        except OSError:
            return None, ""
        if not mode & 0o001:
            return current, nxt
        current = nxt
    return None, ""


def _fresh_workdir() -> str:
    path = "/tmp/submission"
    os.mkdir(path, 0o700)
    return path


def apply_limits(conf: Confinement, memory_mb: int, cpu_s: int, file_mb: int) -> None:
    if resource is None:  # pragma: no cover - Windows
        conf.lack("resource limits", "not available on this platform")
        return
    address_space = _address_space_bytes() + memory_mb * 2**20
    limits = {
        resource.RLIMIT_AS: address_space,
        resource.RLIMIT_CPU: cpu_s,
        resource.RLIMIT_FSIZE: file_mb * 2**20,
        resource.RLIMIT_NOFILE: 256,
        resource.RLIMIT_CORE: 0,
    }
    for which, value in limits.items():
        _lower(which, value)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-large write fails, not the worker
    conf.have(
        "resource limits",
        f"memory {memory_mb} MiB above the worker's baseline, CPU {cpu_s} s, "
        f"files {file_mb} MiB, 256 open files",
    )


def _lower(which: int, value: int) -> None:
    _, hard = resource.getrlimit(which)
    # CPU: the soft limit sends SIGXCPU, the hard one (2 s later) SIGKILL.
    new_hard = value + 2 if which == resource.RLIMIT_CPU else value
    if hard != resource.RLIM_INFINITY:
        value, new_hard = min(value, hard), min(new_hard, hard)
    resource.setrlimit(which, (value, new_hard))


def _address_space_bytes() -> int:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def drop_privileges(conf: Confinement, max_processes: int, workdir: str) -> None:
    """As root: become ``nobody`` (owning ``workdir``), with a process cap."""
    if not hasattr(os, "geteuid"):  # pragma: no cover - Windows
        conf.lack("user", "runs as you (no user switch on this platform)")
        return
    if os.geteuid() != 0 or _in_user_namespace():
        conf.have("user", "your own user, not root")
        _no_new_privileges()
        return
    import pwd

    nobody = pwd.getpwnam("nobody")
    os.chown(workdir, nobody.pw_uid, nobody.pw_gid)
    os.setgroups([])
    os.setgid(nobody.pw_gid)
    os.setuid(nobody.pw_uid)
    if resource is not None:
        _lower(resource.RLIMIT_NPROC, max_processes)
    _no_new_privileges()
    conf.have("user", f"nobody (uid {nobody.pw_uid}), at most {max_processes} processes")


def _in_user_namespace() -> bool:
    try:
        with open("/proc/self/uid_map") as handle:
            first = handle.read().split()
        return first[:3] != ["0", "0", "4294967295"]
    except OSError:
        return False


def _no_new_privileges() -> None:
    if sys.platform.startswith("linux"):
        _libc().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)


def enter_workdir(conf: Confinement, path: str) -> None:
    os.chdir(path)
    conf.have("working directory", f"a fresh temporary directory ({path})")


SAFE_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


def scrub_environment(conf: Confinement, home: str) -> None:
    os.environ.clear()
    os.environ.update(SAFE_ENV, HOME=home, TMPDIR=home)
    conf.have("environment", "scrubbed: no variables of the grader's environment")


def close_stdio(conf: Confinement) -> None:
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    sys.stdin = open(os.devnull)  # noqa: SIM115 - lives as long as the worker
    conf.have("stdio", "stdin closed; printed output captured up to a cap")
