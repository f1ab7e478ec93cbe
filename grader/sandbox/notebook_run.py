"""Executing a notebook top to bottom with nbclient, inside a confined worker.

Worker side: the kernel is a child of the worker, so it inherits every confinement (no
network, read-only files, limits, unprivileged user, the worker's PID namespace). It talks
to nbclient over unix sockets in the worker's own directory (``transport="ipc"``), since
the worker has no network, not even loopback.

Each cell's time limit is enforced here, by killing the kernel, not by nbclient's own
``timeout``, which never stopped a busy cell, for two reasons:

- Handed a blocking ``KernelManager``, nbclient's concurrent pollers are coroutines around
  blocking calls, and the IOPub poller's ``get_msg(timeout=None)`` holds the whole event
  loop until the kernel publishes something. A cell that computes (or sleeps) without
  printing publishes nothing, so the shell poller that owns the timeout (and the poller
  that notices a dead kernel) never ran.
- Even with an asyncio client, ``interrupt_on_timeout`` only sends SIGINT and goes on
  waiting, re-sending it every ``timeout`` seconds and never raising: a cell that catches
  KeyboardInterrupt, ignores SIGINT, or sits in native code that does not check for
  signals runs on forever.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any


def execute(notebook_json: str, cell_timeout: float) -> dict[str, Any]:
    """Run every code cell in order; where one fails, which and why (plain data)."""
    import nbformat

    notebook = nbformat.reads(notebook_json, as_version=4)
    return asyncio.run(_execute(notebook, cell_timeout))


async def _execute(notebook: Any, cell_timeout: float) -> dict[str, Any]:
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, DeadKernelError

    # ipc: unix sockets in the worker's own folder; Windows has none, so loopback TCP there.
    manager = (AsyncKernelManager(kernel_name="python3", transport="ipc",
                                  ip=os.path.join(os.getcwd(), "kernel"))
               if os.name == "posix" else AsyncKernelManager(kernel_name="python3"))
    # timeout=None: the deadline below is the limit (nbclient's is a whole number of seconds).
    client = NotebookClient(notebook, km=manager, timeout=None, allow_errors=False,
                            record_timing=False, shutdown_kernel="immediate")
    # cleanup_kc: leaving the block kills the kernel whatever it is doing (nbclient would
    # leave running a kernel it was handed), as SIGKILL to its process group.
    async with client.async_setup_kernel(cleanup_kc=True):
        for number, cell in enumerate(notebook.cells, start=1):
            running = asyncio.ensure_future(client.async_execute_cell(
                cell, number - 1, execution_count=client.code_cells_executed + 1))
            done, _ = await asyncio.wait({running}, timeout=cell_timeout)
            if not done:
                # Kill at once (SIGKILL to the kernel's process group, then reaped), with no
                # wait on an interrupt: the run stops here either way, and SIGKILL is the
                # one signal a cell cannot catch, ignore or defer.
                await manager.shutdown_kernel(now=True)
                running.cancel()
                await asyncio.gather(running, return_exceptions=True)  # nbclient: "Kernel died"
                return {"ok": False, "cell": number, "kind": "timeout",
                        "error": f"the cell ran longer than {cell_timeout:g} s"}
            try:
                running.result()
            except DeadKernelError as exc:
                return {"ok": False, "cell": number, "kind": "died", "error": str(exc)[:500]}
            except CellExecutionError as exc:
                return {"ok": False, "cell": number, "kind": "raised",
                        "error": f"{exc.ename}: {exc.evalue}"[:1000]}
    return {"ok": True}
