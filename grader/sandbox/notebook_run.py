"""Executing a notebook top to bottom with nbclient, inside a confined worker.

Worker side: the kernel is a child of the worker, so it inherits every confinement (no
network, read-only files, limits, unprivileged user, the worker's PID namespace). It talks
to nbclient over unix sockets in the worker's own directory (``transport="ipc"``), since
the worker has no network, not even loopback.
"""

from __future__ import annotations

import os
from typing import Any


def execute(notebook_json: str, cell_timeout: float) -> dict[str, Any]:
    """Run every code cell in order; where one fails, which and why (plain data)."""
    import nbformat
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    notebook = nbformat.reads(notebook_json, as_version=4)
    manager = KernelManager(kernel_name="python3", transport="ipc",
                            ip=os.path.join(os.getcwd(), "kernel"))
    # On a time-out, interrupt the kernel: a kernel busy in a loop never answers the
    # shutdown request that nbclient would otherwise send and wait on.
    client = NotebookClient(notebook, timeout=cell_timeout, km=manager, allow_errors=False,
                            record_timing=False, interrupt_on_timeout=True, shutdown_kernel="immediate")
    try:
        client.execute()
    except CellTimeoutError:
        return {"ok": False, "cell": _running_cell(notebook), "kind": "timeout",
                "error": f"the cell ran longer than {cell_timeout:g} s"}
    except DeadKernelError as exc:
        return {"ok": False, "cell": _running_cell(notebook), "kind": "died", "error": str(exc)[:500]}
    except CellExecutionError as exc:
        if exc.ename == "KeyboardInterrupt":  # our interrupt, at the time-out
            return {"ok": False, "cell": _failed_cell(notebook), "kind": "timeout",
                    "error": f"the cell ran longer than {cell_timeout:g} s"}
        return {"ok": False, "cell": _failed_cell(notebook), "kind": "raised",
                "error": f"{exc.ename}: {exc.evalue}"[:1000]}
    return {"ok": True}


def _failed_cell(notebook: Any) -> int:
    """The 1-based number of the first cell with an error output."""
    for number, cell in enumerate(notebook.cells, start=1):
        if any(out.get("output_type") == "error" for out in cell.get("outputs", [])):
            return number
    return 0


def _running_cell(notebook: Any) -> int:
    """The 1-based number of the first code cell that did not finish (no execution count)."""
    for number, cell in enumerate(notebook.cells, start=1):
        if cell.cell_type == "code" and cell.get("execution_count") is None and cell.source.strip():
            return number
    return 0
