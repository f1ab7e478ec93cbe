"""A seccomp filter for the calls no grading needs, hand-built as classic BPF (no dependency).

Denied with EPERM: mounting and namespaces (mount, pivot_root, unshare, setns, clone with a
namespace flag, the new mount API), tracing other processes (ptrace, process_vm_*, and
pidfd_getfd, which copies another process's file descriptor), the kernel keyrings
(add_key, request_key, keyctl: keys would carry messages between students
running as the same user), bpf, perf events, io_uring (its operations bypass seccomp),
userfaultfd, kernel modules, kexec, swap, reboot, clock setting, and changing CPU affinity
(``grade batch`` pins each slot, its workers included, to a core of its own: a submission
that spread its spinning threads over every core would starve the classmates graded beside
it). clone3 answers ENOSYS, since its flags sit behind a pointer a filter cannot read; the
C library then falls back to clone, whose flags it can. Any other architecture's calls
(32-bit ones on x86-64) are refused outright.
"""

from __future__ import annotations

import ctypes
import errno
import platform
import struct

from grader.sandbox.syscalls import libc

PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
RET_ALLOW, RET_ERRNO = 0x7FFF0000, 0x00050000
LD_ABS, JEQ, JGE, JSET, RET = 0x20, 0x15, 0x35, 0x45, 0x06
X32_BIT = 0x40000000
# CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET and NEWTIME.
NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 \
    | 0x40000000 | 0x00000080

DENIED = ("mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "ptrace",
          "process_vm_readv", "process_vm_writev", "pidfd_getfd", "add_key", "request_key", "keyctl", "bpf",
          "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
          "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
          "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
          "swapon", "swapoff", "reboot", "acct", "quotactl", "syslog", "settimeofday",
          "adjtimex", "clock_adjtime", "open_by_handle_at", "name_to_handle_at", "sched_setaffinity")
# (audit arch, {name: number}) per machine; the new calls (>= 424) share numbers everywhere.
_COMMON = {"pidfd_send_signal": 424, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
           "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432,
           "fspick": 433, "clone3": 435, "pidfd_getfd": 438, "mount_setattr": 442}
TABLES = {
    "x86_64": (0xC000003E, {
        "clone": 56, "ptrace": 101, "syslog": 103, "chroot": 161, "mount": 165, "umount2": 166,
        "pivot_root": 155, "unshare": 272, "setns": 308, "process_vm_readv": 310,
        "process_vm_writev": 311, "add_key": 248, "request_key": 249, "keyctl": 250, "bpf": 321,
        "perf_event_open": 298, "userfaultfd": 323, "init_module": 175, "finit_module": 313,
        "delete_module": 176, "kexec_load": 246, "kexec_file_load": 320, "swapon": 167,
        "swapoff": 168, "reboot": 169, "acct": 163, "quotactl": 179, "settimeofday": 164,
        "adjtimex": 159, "clock_adjtime": 305, "open_by_handle_at": 304, "name_to_handle_at": 303,
        "sched_setaffinity": 203, **_COMMON}),
    "aarch64": (0xC00000B7, {
        "clone": 220, "ptrace": 117, "syslog": 116, "chroot": 51, "mount": 40, "umount2": 39,
        "pivot_root": 41, "unshare": 97, "setns": 268, "process_vm_readv": 270,
        "process_vm_writev": 271, "add_key": 217, "request_key": 218, "keyctl": 219, "bpf": 280,
        "perf_event_open": 241, "userfaultfd": 282, "init_module": 105, "finit_module": 273,
        "delete_module": 106, "kexec_load": 104, "kexec_file_load": 294, "swapon": 224,
        "swapoff": 225, "reboot": 142, "acct": 89, "quotactl": 60, "settimeofday": 170,
        "adjtimex": 171, "clock_adjtime": 266, "open_by_handle_at": 265, "name_to_handle_at": 264,
        "sched_setaffinity": 122, **_COMMON}),
}


def program(machine: str) -> list[tuple[int, int, int, int]]:
    """The filter for ``machine`` as (code, jump if true, jump if false, k) instructions."""
    arch, numbers = TABLES[machine]
    deny, enosys = RET_ERRNO | errno.EPERM, RET_ERRNO | errno.ENOSYS
    # Written with labels ("deny", "clone", ...) then resolved to relative jumps.
    body: list[tuple[int, object, object, int]] = [
        (LD_ABS, 0, 0, 4), (JEQ, 1, 0, arch), (RET, 0, 0, deny),  # arch
        (LD_ABS, 0, 0, 0),  # the call's number
    ]
    if machine == "x86_64":
        body.append((JGE, "deny", 0, X32_BIT))
    body += [(JEQ, "deny", 0, numbers[name]) for name in DENIED]
    body += [(JEQ, "enosys", 0, numbers["clone3"]), (JEQ, "clone", 0, numbers["clone"]),
             (RET, 0, 0, RET_ALLOW)]
    labels = {"clone": len(body)}
    body += [(LD_ABS, 0, 0, 16), (JSET, "deny", 0, NAMESPACE_FLAGS), (RET, 0, 0, RET_ALLOW)]
    labels["deny"] = len(body)
    body.append((RET, 0, 0, deny))
    labels["enosys"] = len(body)
    body.append((RET, 0, 0, enosys))

    def jump(at: int, to: object) -> int:
        return labels[to] - at - 1 if isinstance(to, str) else int(to)  # type: ignore[call-overload]

    return [(code, jump(i, jt), jump(i, jf), k) for i, (code, jt, jf, k) in enumerate(body)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install() -> str:
    """Install the filter on this process (and all it starts); returns why not, or ""."""
    machine = platform.machine()
    if machine not in TABLES:
        return f"no filter written for {machine}"
    code = b"".join(struct.pack("=HBBI", *insn) for insn in program(machine))
    buffer = ctypes.create_string_buffer(code, len(code))
    fprog = _SockFprog(len(code) // 8, ctypes.addressof(buffer))
    if libc().prctl(PR_SET_SECCOMP, ctypes.c_ulong(SECCOMP_MODE_FILTER), ctypes.byref(fprog),
                    ctypes.c_ulong(0), ctypes.c_ulong(0)) != 0:
        return f"the kernel refused the filter ({errno.errorcode.get(ctypes.get_errno(), '?')})"
    return ""
