"""The worker server's memory in huge pages, so that forking it is cheap.

Every worker is three forks of the worker server (W, S and R in ``worker``), and each fork
copies the page tables of the server's private memory, then tears them down at exit: about
150 MB after ``import torch``, 37,000 page-table entries a fork. That was most of a worker's
cost (30-40 ms of kernel time a submission on this project's 2-core machines). Collapsed
into 2 MB pages once, the same memory takes 70 entries; a worker that writes to a page still
copies only 4 KB of it (the kernel splits a shared huge page on its first write).

``MADV_COLLAPSE`` (Linux 6.1) does this whatever the machine's transparent-huge-page
setting, except "never"; elsewhere it fails and nothing changes. It does not mark the
memory for huge pages, so what a worker allocates later is in ordinary pages.
"""

from __future__ import annotations

import ctypes
import re
import sys

MADV_COLLAPSE = 25
_ANONYMOUS = re.compile(r"([0-9a-f]+)-([0-9a-f]+) rw-p 0+ 00:00 0\s*(?:\[heap\])?\s*$")
_SMALLEST = 4 << 20  # a region smaller than two huge pages gains little


def collapse() -> int:
    """Collapse this process's large private anonymous regions; returns the bytes asked
    for (0 where the platform cannot)."""
    if not sys.platform.startswith("linux"):
        return 0
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        madvise = libc.madvise
        with open("/proc/self/maps") as maps:
            regions = [_ANONYMOUS.match(line) for line in maps]
    except (OSError, AttributeError):
        return 0
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    asked = 0
    for match in filter(None, regions):
        start, end = int(match.group(1), 16), int(match.group(2), 16)
        if end - start >= _SMALLEST and madvise(start, end - start, MADV_COLLAPSE) == 0:
            asked += end - start
    return asked
