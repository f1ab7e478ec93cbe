"""The few Linux calls the sandbox makes through the C library (ctypes), and their flags."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from typing import Any

CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWUSER = 0x00020000, 0x08000000, 0x10000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_BIND, MS_REC, MS_PRIVATE = 4096, 0x4000, 1 << 18
MNT_DETACH = 2
SYS_MOUNT_SETATTR, AT_FDCWD, AT_RECURSIVE, MOUNT_ATTR_RDONLY = 442, -100, 0x8000, 0x1
_LIBC: Any = None


def libc() -> Any:
    """The C library, loaded once (finding it runs a subprocess)."""
    global _LIBC
    if _LIBC is None:
        _LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    return _LIBC


def call(name: str, *args: Any) -> None:
    """Call libc's ``name``; a non-zero result raises OSError with errno."""
    if getattr(libc(), name)(*args) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{name}: {os.strerror(errno)}")


def mount(source: str, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    call("mount", source.encode(), target.encode(), fstype.encode() if fstype else None,
         ctypes.c_ulong(flags), data.encode() if data else None)


def read_only_recursively(path: str) -> None:
    """Every mount at and under ``path`` read-only, in one call (Linux 5.12+)."""
    attr = (ctypes.c_uint64 * 4)(MOUNT_ATTR_RDONLY, 0, 0, 0)  # set, clear, propagation, userns
    result = libc().syscall(ctypes.c_long(SYS_MOUNT_SETATTR), ctypes.c_int(AT_FDCWD), path.encode(),
                            ctypes.c_uint(AT_RECURSIVE), attr, ctypes.c_size_t(ctypes.sizeof(attr)))
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"mount_setattr: {os.strerror(errno)}")
