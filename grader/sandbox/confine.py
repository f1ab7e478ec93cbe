"""Confining workers before they import a submission, as far as this machine allows.

Each step records what it put in force, or why it could not, in a ``Confinement``; the
trusted side copies that into the report as the isolation level, so nothing is ever
silently weaker than it says. The steps come in two stages:

Once, in the worker server, before it forks any worker (``isolate_server``):
  new network namespace (no network) and mount namespace: every file read-only, a private
  /tmp, judges, solutions and submissions covered by empty mounts, the Python installation
  left readable to an unprivileged user. The server itself needs neither network nor files.
Per worker, in the forked chain (``worker.worker_process``):
  W  unshare(PID) and fork S
  S  pid 1 of the new PID namespace; forks R and waits; when S ends, the kernel kills every
     process left in the namespace, so nothing the submission starts outlives its worker
  R  fresh working directory, resource limits, unprivileged user (``nobody`` when started
     as root; no capabilities inside a user namespace), scrubbed environment (GPUs hidden),
     stdin closed
Without namespaces the same chain runs with what is possible, and says what is not.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

try:  # POSIX only; on Windows the worker runs without these limits and says so
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None  # type: ignore[assignment]

LINUX = sys.platform.startswith("linux")
CLONE_NEWNS, CLONE_NEWUSER = 0x00020000, 0x10000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_BIND, MS_REC, MS_PRIVATE = 4096, 0x4000, 1 << 18
PR_SET_PDEATHSIG, PR_SET_SECUREBITS, PR_SET_NO_NEW_PRIVS = 1, 28, 38
SYS_MOUNT_SETATTR, AT_FDCWD, AT_RECURSIVE, MOUNT_ATTR_RDONLY = 442, -100, 0x8000, 0x1
# SECBIT_NOROOT, _NO_SETUID_FIXUP, _KEEP_CAPS_LOCKED and _NO_CAP_AMBIENT_RAISE, with locks:
# uid 0 inside a user namespace then gains no capabilities from exec.
SECUREBITS_UNPRIVILEGED = 0x1 | 0x2 | 0x4 | 0x8 | 0x20 | 0x40 | 0x80
_LIBC: Any = None


@dataclass
class Confinement:
    """What the worker put in force (aspect -> detail) and what it could not (-> why)."""

    in_force: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    def have(self, aspect: str, detail: str) -> None:
        self.in_force[aspect] = detail
        self.missing.pop(aspect, None)

    def lack(self, aspect: str, why: str) -> None:
        self.in_force.pop(aspect, None)
        self.missing[aspect] = why

    def as_dict(self) -> dict[str, Any]:
        return {"in_force": dict(self.in_force), "missing": dict(self.missing)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Confinement:
        return cls(dict(data.get("in_force", {})), dict(data.get("missing", {})))


def libc() -> Any:
    """The C library, loaded once (finding it runs a subprocess)."""
    global _LIBC
    if _LIBC is None:
        _LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    return _LIBC


def _call(name: str, *args: Any) -> None:
    if getattr(libc(), name)(*args) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{name}: {os.strerror(errno)}")


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    _call("mount", source.encode(), target.encode(), fstype.encode() if fstype else None,
          ctypes.c_ulong(flags), data.encode() if data else None)


# -- once, in the worker server ------------------------------------------------------


def isolate_server(
    hidden: list[str], exposed: list[str], tmp_mb: int, namespaces: bool = True
) -> Confinement:
    """Leave the network, make private mounts; what every worker forked later inherits.

    ``exposed`` are the directories workers must still read (the Python installation).
    ``namespaces=False`` skips all this, as on a system without namespaces (for tests).
    """
    conf = Confinement()
    if LINUX:
        libc()  # load it now: after the mounts, finding it may be impossible
    if not (LINUX and namespaces):
        why = f"not available on {sys.platform}" if not LINUX else "namespaces turned off"
        for aspect in ("network", "hidden files", "read-only files", "process lifetime"):
            conf.lack(aspect, why)
        return conf
    # Try in a throwaway child first: a kernel may allow unshare() and then refuse the
    # uid map (Ubuntu's AppArmor does), which would leave this process half-confined.
    why = _fails_in_child(_enter_namespaces)
    if why:
        for aspect in ("network", "hidden files", "read-only files"):
            conf.lack(aspect, f"namespaces not permitted here ({why})")
        return conf
    _enter_namespaces()
    conf.have("network", "none (a new, empty network namespace)")
    try:
        _mount("none", "/", None, MS_REC | MS_PRIVATE)
        _make_read_only(conf)
        _replace_keeping("/tmp", [p for p in exposed if _is_under(p, "/tmp")],
                         f"size={tmp_mb}m,mode=1777")
        _expose(exposed)
        # /tmp (and what holds it) is already fresh: covering it would leave no workspace.
        covered = [path for path in hidden if not _is_under("/tmp", path) and _cover(path)]
    except OSError as exc:
        conf.lack("hidden files", f"could not make private mounts ({exc.strerror})")
        return conf
    conf.have("hidden files", "judges, solutions and submissions out of sight: " + ", ".join(covered))
    return conf


def _enter_namespaces() -> None:
    root = os.geteuid() == 0
    uid, gid = os.getuid(), os.getgid()
    _call("unshare", CLONE_NEWNET | CLONE_NEWNS | (0 if root else CLONE_NEWUSER))
    if not root:
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"0 {uid} 1")
        _write("/proc/self/gid_map", f"0 {gid} 1")


def _fails_in_child(action: Callable[[], None]) -> str:
    """Why ``action`` fails when a forked child runs it; empty when it works."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        try:
            action()
            code = 0
        except OSError as exc:
            os.write(write_end, (exc.strerror or str(exc)).encode()[:200])
            code = 1
        os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        message = reader.read().decode(errors="replace")
    status = os.waitpid(pid, 0)[1]
    return "" if os.waitstatus_to_exitcode(status) == 0 else (message or "refused")


def _make_read_only(conf: Confinement) -> None:
    """Every mount read-only, recursively, in one call (Linux 5.12+)."""
    attr = (ctypes.c_uint64 * 4)(MOUNT_ATTR_RDONLY, 0, 0, 0)  # set, clear, propagation, userns
    result = libc().syscall(ctypes.c_long(SYS_MOUNT_SETATTR), ctypes.c_int(AT_FDCWD), b"/",
                            ctypes.c_uint(AT_RECURSIVE), attr, ctypes.c_size_t(ctypes.sizeof(attr)))
    if result != 0:
        errno = ctypes.get_errno()
        conf.lack("read-only files", f"could not make the file system read-only ({os.strerror(errno)})")
        return
    conf.have("read-only files", "every file is read-only but the worker's own directory")


def _write(path: str, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)


def _is_under(path: str, directory: str) -> bool:
    return os.path.commonpath([os.path.abspath(path), directory]) == directory


def _cover(path: str) -> bool:
    """An empty read-only mount over ``path``; False when there is nothing there."""
    if os.path.isdir(path):
        _mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k,mode=555")
    elif os.path.exists(path):
        _mount("/dev/null", path, None, MS_BIND)
    else:
        return False
    return True


def _expose(paths: list[str]) -> None:
    """Make ``paths`` reachable by any user, covering what blocks them.

    A directory on the way that others may not search (``/root`` holding a pyenv, say) is
    covered with an empty searchable tmpfs, and only the next step towards each path is
    bound back in: the rest of that directory stays out of sight.
    """
    through: dict[str, list[str]] = {}
    for path in paths:
        blocker = _first_unsearchable(path)
        if blocker:
            through.setdefault(blocker, []).append(path)
    for blocker, kept in through.items():
        _replace_keeping(blocker, kept, "size=16k,mode=755")


def _replace_keeping(directory: str, kept: list[str], tmpfs_options: str) -> None:
    """Mount an empty tmpfs over ``directory``, then bind back the way to each ``kept`` path."""
    steps: dict[str, int] = {}
    for path in kept:
        step = os.path.join(directory, os.path.relpath(os.path.abspath(path), directory).split(os.sep)[0])
        if step not in steps:
            steps[step] = os.open(step, os.O_PATH)  # reachable after the cover, through the fd
    _mount("tmpfs", directory, "tmpfs", MS_NOSUID | MS_NODEV, tmpfs_options)
    for step, fd in steps.items():
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            os.mkdir(step)
        else:
            open(step, "w").close()
        _mount(f"/proc/self/fd/{fd}", step, None, MS_BIND | MS_REC)
        os.close(fd)


def _first_unsearchable(path: str) -> str | None:
    """The first directory above ``path`` that other users cannot search, if any."""
    current = "/"
    for part in os.path.abspath(path).split(os.sep)[1:]:
        try:
            if not os.stat(current).st_mode & 0o001:
                return current
        except OSError:
            return None
        current = os.path.join(current, part)
    return None


# -- per worker ----------------------------------------------------------------------


def close_inherited_fds(keep: set[int]) -> None:
    """Close every descriptor but stdio and ``keep`` (the worker server's socket, above all)."""
    low = 3
    for fd in [*sorted(keep), 4096]:
        if fd >= low:
            os.closerange(low, fd)
            low = fd + 1


def enter_pid_namespace(conf: Confinement, namespaces: bool = True) -> bool:
    """Unshare the PID namespace: the next child is its pid 1. False where not permitted."""
    if not (LINUX and namespaces):
        return False
    try:
        _call("unshare", CLONE_NEWPID)
    except OSError as exc:
        conf.lack("process lifetime",
                  f"no PID namespace ({exc.strerror}); the worker's process group is killed instead")
        return False
    conf.have("process lifetime", "new PID namespace: every process it starts ends with it")
    return True


def set_parent_death_signal() -> None:
    if LINUX:
        libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def enter_workdir(conf: Confinement, path: str) -> None:
    os.chdir(path)
    conf.have("working directory", "a fresh temporary directory, removed afterwards")


def apply_limits(conf: Confinement, memory_mb: int, cpu_s: int, file_mb: int) -> None:
    if resource is None:  # pragma: no cover - Windows
        conf.lack("resource limits", "not available on this platform")
        return
    limits = {
        # Data, not address space: CUDA reserves vast inaccessible address ranges that an
        # address-space limit would count; allocations (malloc, tensors) all count as data.
        resource.RLIMIT_DATA: _data_bytes() + memory_mb * 2**20,
        resource.RLIMIT_CPU: cpu_s,
        resource.RLIMIT_FSIZE: file_mb * 2**20,
        resource.RLIMIT_NOFILE: 256,
        resource.RLIMIT_CORE: 0,
    }
    refused = []
    for which, value in limits.items():
        try:
            _lower(which, value)
        except (ValueError, OSError):  # a platform may not support or allow one of them
            refused.append(which)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-large write fails, not the worker
    if refused:
        conf.lack("resource limits", f"the system refused {len(refused)} of {len(limits)} limits")
        return
    conf.have("resource limits", f"memory {memory_mb} MiB above the worker's baseline, CPU {cpu_s} s, "
                                 f"files {file_mb} MiB, 256 open files")


def _lower(which: int, value: int) -> None:
    _, hard = resource.getrlimit(which)
    # CPU: the soft limit sends SIGXCPU, the hard one (2 s later) SIGKILL.
    new_hard = value + 2 if which == resource.RLIMIT_CPU else value
    if hard != resource.RLIM_INFINITY:
        value, new_hard = min(value, hard), min(new_hard, hard)
    resource.setrlimit(which, (value, new_hard))


def _data_bytes() -> int:
    with contextlib.suppress(OSError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmData:"):
                return int(line.split()[1]) * 1024
    return 0


def drop_privileges(conf: Confinement, max_processes: int, workdir: str, python_dirs: list[str]) -> None:
    """As root: become ``nobody`` (owning ``workdir``), with a process cap.

    Inside a user namespace (started without root): give up every capability, so that the
    namespace's mounts cannot be undone. Otherwise the worker already runs as the user.
    ``python_dirs`` must stay readable after the switch (the worker imports lazily).
    """
    if not hasattr(os, "geteuid"):  # pragma: no cover - Windows
        conf.lack("user", "runs as you (no user switch on this platform)")
        return
    if os.geteuid() != 0:
        conf.have("user", "your own user, not root")
    elif _in_user_namespace():
        libc().prctl(PR_SET_SECUREBITS, SECUREBITS_UNPRIVILEGED, 0, 0, 0)
        _drop_all_capabilities()
        conf.have("user", "your own user, with no capabilities")
    elif blocked := [p for p in python_dirs if _first_unsearchable(p)]:
        conf.lack("user", f"runs as root: other users cannot read the Python installation "
                          f"({blocked[0]}) and no mount namespace could expose it")
    else:
        import pwd

        nobody = pwd.getpwnam("nobody")
        os.chown(workdir, nobody.pw_uid, nobody.pw_gid)
        os.setgroups([])
        os.setgid(nobody.pw_gid)
        os.setuid(nobody.pw_uid)
        if resource is not None:
            _lower(resource.RLIMIT_NPROC, max_processes)
        conf.have("user", f"nobody (uid {nobody.pw_uid}), at most {max_processes} processes")
    if LINUX:
        libc().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)


def _in_user_namespace() -> bool:
    try:
        with open("/proc/self/uid_map") as handle:
            return handle.read().split()[:3] != ["0", "0", "4294967295"]
    except OSError:
        return False


def _drop_all_capabilities() -> None:
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this thread
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable (two words each): none
    _call("capset", header, data)


SAFE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
            "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


# The student's code sees no GPU, on every machine: CUDA reads this variable when it first
# starts in a process, which the worker server never does (nothing there touches CUDA), so a
# GPU count is only ever the one a probe simulates. A probe that needs the real GPUs lifts
# the veil with ``real_gpus``.
GPU_VEIL = "CUDA_VISIBLE_DEVICES"
_machine_gpus: str | None = None  # the worker server's setting, for ``real_gpus``


def scrub_environment(conf: Confinement, home: str) -> None:
    global _machine_gpus
    _machine_gpus = os.environ.get(GPU_VEIL)
    os.environ.clear()
    os.environ.update(SAFE_ENV, HOME=home, TMPDIR=home)
    os.environ[GPU_VEIL] = ""
    conf.have("environment", "scrubbed: no variables of the grader's environment")


@contextlib.contextmanager
def real_gpus() -> Iterator[None]:
    """While inside, CUDA in this worker finds the machine's GPUs: only if it has not started
    yet (the student's code may have started it, finding none), so ask it inside."""
    os.environ.pop(GPU_VEIL, None)
    if _machine_gpus is not None:
        os.environ[GPU_VEIL] = _machine_gpus
    try:
        yield
    finally:
        os.environ[GPU_VEIL] = ""


def close_stdio(conf: Confinement) -> None:
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    sys.stdin = open(os.devnull)  # noqa: SIM115 - lives as long as the worker
    conf.have("stdio", "stdin closed; printed output captured up to a cap")
