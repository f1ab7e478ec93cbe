"""Confining workers before they import a submission, as far as this machine allows.

Each step records what it put in force, or why it could not, in a ``Confinement``; the
trusted side copies that into the report as the isolation level, so nothing is ever
silently weaker than it says. The steps come in two stages:

Once, in the worker server, before it forks any worker (``isolate_server``; its cgroups,
``cgroups.prepare``, are found just before):
  new network namespace (no network) and mount namespace, then pivot_root into the
  allow-list root (``rootfs``): only the Python installation, the grader without its
  judges, /usr and a minimal /dev, all read-only. Where that root cannot be built: every
  file read-only, a private /tmp, judges, solutions and submissions covered (a deny-list).
Per worker, in the forked chain (``worker.worker_process``):
  W  enters its own cgroup (done by the server right after the fork: memory and process
     count of everything below), unshare(PID, IPC, mount) and fork S
  S  pid 1 of the new PID namespace: mounts its own /proc and a fresh /tmp; forks R and
     waits; when S ends, the kernel kills every process left in the namespace, so nothing
     the submission starts outlives its worker, and its IPC and /tmp go with it
  R  working directory, resource limits, unprivileged user (``nobody`` when started as
     root; no capabilities inside a user namespace), scrubbed environment (GPUs hidden), stdin
     closed,
     and last the seccomp filter (``seccomp``)
Without namespaces the same chain runs with what is possible, and says what is not.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from grader.sandbox import rootfs, seccomp
from grader.sandbox.syscalls import (
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWUSER,
    MS_BIND,
    MS_NODEV,
    MS_NOSUID,
    MS_PRIVATE,
    MS_RDONLY,
    MS_REC,
    call,
    libc,
    mount,
    read_only_recursively,
)

try:  # POSIX only; on Windows the worker runs without these limits and says so
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None  # type: ignore[assignment]

LINUX = sys.platform.startswith("linux")
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_SECUREBITS, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = \
    1, 4, 28, 36, 38
# SECBIT_NOROOT, _NO_SETUID_FIXUP, _KEEP_CAPS_LOCKED and _NO_CAP_AMBIENT_RAISE, with locks:
# uid 0 inside a user namespace then gains no capabilities from exec.
SECUREBITS_UNPRIVILEGED = 0x1 | 0x2 | 0x4 | 0x8 | 0x20 | 0x40 | 0x80
ALLOW_LIST = "allow-list file system"


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


# -- once, in the worker server ------------------------------------------------------


def isolate_server(
    hidden: list[str], exposed: list[str], tmp_mb: int, namespaces: bool = True
) -> Confinement:
    """Leave the network and pivot into the workers' allow-list root (``rootfs``), once
    for every worker forked later.

    ``exposed`` is what workers must still read (the Python installation, the grader);
    ``hidden`` is covered even inside that (the judges). Where the root cannot be built,
    the host's file system stays, read-only, with ``hidden`` covered (a deny-list).
    ``namespaces=False`` skips all this, as on a system without namespaces (for tests).
    """
    conf = Confinement()
    if LINUX:
        libc()  # load it now: after the mounts, finding it may be impossible
        nobody()  # and look up the unprivileged user while /etc is still there
    if not (LINUX and namespaces):
        why = f"not available on {sys.platform}" if not LINUX else "namespaces turned off"
        for aspect in ("network", "hidden files", "read-only files", "process lifetime", ALLOW_LIST):
            conf.lack(aspect, why)
        return conf
    # Try in a throwaway child first: a kernel may allow unshare() and then refuse the
    # uid map (Ubuntu's AppArmor does), which would leave this process half-confined.
    why = _fails_in_child(_enter_namespaces)
    if why:
        for aspect in ("network", "hidden files", "read-only files", ALLOW_LIST):
            conf.lack(aspect, f"namespaces not permitted here ({why})")
        return conf
    _enter_namespaces()
    conf.have("network", "none (a new, empty network namespace)")
    try:
        mount("none", "/", None, MS_REC | MS_PRIVATE)
    except OSError as exc:
        for aspect in ("hidden files", "read-only files", ALLOW_LIST):
            conf.lack(aspect, f"could not make private mounts ({exc.strerror})")
        return conf
    why = _fails_in_child(lambda: _build_root_in_new_namespace(exposed, hidden))
    if not why:
        bound = rootfs.build_root(exposed, hidden)
        # Folders for workers that cannot mount their own /tmp.
        mount("tmpfs", rootfs.SHARED_WORK, "tmpfs", MS_NOSUID | MS_NODEV, f"size={tmp_mb}m,mode=1777")
        conf.have(ALLOW_LIST, "a root built from only: " + ", ".join(bound) + ", a minimal /dev")
        conf.have("hidden files", "nothing of the machine outside that list exists for workers")
        conf.have("read-only files", "every file is read-only but the worker's own /tmp")
        return conf
    conf.lack(ALLOW_LIST, f"could not build the allow-list root ({why}); the machine's files stay "
                          "visible, read-only, with the judges, solutions and submissions covered")
    return _deny_list(conf, hidden, exposed, tmp_mb)


def _build_root_in_new_namespace(exposed: list[str], hidden: list[str]) -> None:
    call("unshare", CLONE_NEWNS)
    rootfs.build_root(exposed, hidden)


def _deny_list(conf: Confinement, hidden: list[str], exposed: list[str], tmp_mb: int) -> Confinement:
    """The fallback: the host's files read-only, a private /tmp, ``hidden`` covered."""
    try:
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
    call("unshare", CLONE_NEWNET | CLONE_NEWNS | (0 if root else CLONE_NEWUSER))
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
        code = 1
        try:
            action()
            code = 0
        except OSError as exc:
            os.write(write_end, (exc.strerror or str(exc)).encode()[:200])
        except BaseException as exc:  # noqa: BLE001 - the child must never return
            os.write(write_end, repr(exc).encode()[:200])
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        message = reader.read().decode(errors="replace")
    status = os.waitpid(pid, 0)[1]
    return "" if os.waitstatus_to_exitcode(status) == 0 else (message or "refused")


def _make_read_only(conf: Confinement) -> None:
    try:
        read_only_recursively("/")
    except OSError as exc:
        conf.lack("read-only files", f"could not make the file system read-only ({exc.strerror})")
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
        mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k,mode=555")
    elif os.path.exists(path):
        mount("/dev/null", path, None, MS_BIND)
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
    mount("tmpfs", directory, "tmpfs", MS_NOSUID | MS_NODEV, tmpfs_options)
    for step, fd in steps.items():
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            os.mkdir(step)
        else:
            open(step, "w").close()
        mount(f"/proc/self/fd/{fd}", step, None, MS_BIND | MS_REC)
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


def enter_worker_namespaces(conf: Confinement, namespaces: bool = True) -> bool:
    """Unshare PID, IPC and network namespaces (and mounts, over an allow-list root): the next
    child is pid 1 of the new PID namespace. False where no PID namespace is permitted.

    The network namespace is the worker's own, not only the worker server's: abstract unix
    sockets belong to a network namespace, and would otherwise carry messages between
    workers running side by side (IPC by another name)."""
    if not (LINUX and namespaces):
        conf.lack("own IPC", "namespaces turned off" if LINUX else f"not available on {sys.platform}")
        return False
    own_mounts = CLONE_NEWNS if ALLOW_LIST in conf.in_force else 0
    wanted = CLONE_NEWPID | CLONE_NEWIPC | own_mounts
    for flags in (wanted | CLONE_NEWNET, wanted, CLONE_NEWPID):
        try:
            call("unshare", flags)
            break
        except OSError as exc:
            why = exc.strerror
    else:
        conf.lack("process lifetime",
                  f"no PID namespace ({why}); the worker's process group is killed instead")
        conf.lack("own IPC", f"no IPC namespace ({why})")
        return False
    conf.have("process lifetime", "new PID namespace: every process it starts ends with it")
    if flags & CLONE_NEWIPC and flags & CLONE_NEWNET:
        conf.have("own IPC", "new IPC and network namespaces: System V and POSIX IPC and abstract "
                             "unix sockets end with the worker")
    elif flags & CLONE_NEWIPC:
        conf.lack("own IPC", "a new IPC namespace, but abstract unix sockets are shared by the workers "
                             "of one worker server (no network namespace per worker)")
    else:
        conf.lack("own IPC", f"no IPC namespace ({why})")
    if not flags & CLONE_NEWNS:
        conf.lack("own /proc", "the worker shares the worker server's mounts: "
                  + ("no mount namespace" if own_mounts else "no allow-list root"))
    return True


def mount_worker_filesystems(conf: Confinement, tmp_mb: int) -> bool:
    """As pid 1 of the worker's namespaces: its own /proc and a fresh /tmp (its working
    directory). True when /tmp is the worker's own."""
    if "own /proc" in conf.missing:
        return False
    problems = rootfs.worker_mounts(tmp_mb)
    if any(p.startswith("/proc") for p in problems):
        conf.lack("own /proc", f"could not mount a fresh /proc ({problems[0]}); other processes are visible")
    else:
        conf.have("own /proc", "a fresh /proc: only the worker's own processes")
    return not any(p.startswith("/tmp") for p in problems)


def keep_trusted_memory_private() -> None:
    """For the grader's own processes (the judges, the course secret) and the worker server
    (which forks every student's worker): not dumpable, so that processes of the same user
    cannot read or write their memory, or read their environment (``GRADER_SECRET``) or
    file descriptors, through /proc, ptrace or pidfd_getfd. Workers cannot see them where
    they get namespaces; without namespaces they may run as the grader's user (found by
    reviewers: a submission read ``/proc/<grader>/environ`` and ``/proc/<server>/mem``).
    Workers forked after this inherit it."""
    if LINUX:
        libc().prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def set_parent_death_signal() -> None:
    if LINUX:
        libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def become_subreaper() -> None:
    """Orphans among this process's descendants come to it, not to the machine's init.

    For the worker server: when a worker is killed, the pid 1 of its namespace (S) outlives
    it for a moment and is orphaned. A zombie still counts in the worker's cgroup until it is
    reaped, and some inits (a container's, a VM's agent) reap late, so the server could not
    remove the cgroup; reaping S itself, it can. Only where workers get PID namespaces:
    without them, what a submission detached from its worker would be adopted instead, and
    the server would wait for it at its end."""
    if LINUX:
        libc().prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


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


def drop_privileges(
    conf: Confinement, max_processes: int | None, workdir: str, python_dirs: list[str]
) -> None:
    """As root: become ``nobody`` (owning ``workdir``), with a process cap unless
    ``max_processes`` is None (a pids cgroup bounds the worker instead: RLIMIT_NPROC counts
    every process of the user, so all workers running as ``nobody`` would share it). Any
    other user keeps the limit it had: lowered, it would count the user's other processes
    too (the grader's, the desktop's). The report then says there is no process cap.

    Inside a user namespace (started without root): give up every capability, so that the
    namespace's mounts cannot be undone. Otherwise the worker already runs as the user.
    ``python_dirs`` must stay readable after the switch (the worker imports lazily).
    """
    if not hasattr(os, "geteuid"):  # pragma: no cover - Windows
        conf.lack("user", "runs as you (no user switch on this platform)")
        return
    uncapped = "" if max_processes is None else ", with no cap on its processes"
    if os.geteuid() != 0:
        conf.have("user", "your own user, not root" + uncapped)
    elif _in_user_namespace():
        libc().prctl(PR_SET_SECUREBITS, SECUREBITS_UNPRIVILEGED, 0, 0, 0)
        _drop_all_capabilities()
        conf.have("user", "your own user, with no capabilities" + uncapped)
    elif blocked := [p for p in python_dirs if _first_unsearchable(p)]:
        conf.lack("user", f"runs as root{uncapped}: other users cannot read the Python installation "
                          f"({blocked[0]}) and no mount namespace could expose it")
    else:
        uid, gid = nobody()
        os.chown(workdir, uid, gid)
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
        cap = ""
        if resource is not None and max_processes is not None:
            _lower(resource.RLIMIT_NPROC, max_processes)
            cap = f", at most {max_processes} processes of that user (shared by all workers)"
        conf.have("user", f"nobody (uid {uid}){cap}")
    if LINUX:
        libc().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)


@cache
def nobody() -> tuple[int, int]:
    """The uid and gid of ``nobody``, looked up once (workers have no /etc/passwd)."""
    import pwd

    try:
        entry = pwd.getpwnam("nobody")
    except KeyError:
        return 65534, 65534
    return entry.pw_uid, entry.pw_gid


def install_seccomp(conf: Confinement) -> None:
    """The last step before the submission: deny the calls no grading needs."""
    why = seccomp.install() if LINUX else f"not available on {sys.platform}"
    if why:
        conf.lack("seccomp", why)
    else:
        conf.have("seccomp", "denied: mount, namespaces, ptrace, keyrings, bpf, perf events, io_uring, "
                             "modules, CPU affinity and the like")


def _in_user_namespace() -> bool:
    try:
        with open("/proc/self/uid_map") as handle:
            return handle.read().split()[:3] != ["0", "0", "4294967295"]
    except OSError:
        return False


def _drop_all_capabilities() -> None:
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this thread
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable (two words each): none
    call("capset", header, data)


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
