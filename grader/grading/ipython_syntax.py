"""A notebook cell's IPython syntax, translated to Python by IPython's own input transformer.

``%magic``, ``%%cell_magic``, ``!cmd``, ``x = !cmd`` and ``obj?`` become calls on
``get_ipython()`` (which, in a worker, is ``sandbox.fake_ipython``'s stand-in that runs
no shell). Pure text: nothing here runs the cell. Two adjustments keep lines where the
student wrote them, so that notes and errors say the right "cell N, line M":

- a cell magic whose body is Python (``%%time``, ``%%capture``, ``%%timeit``, ``%%prun``)
  loses its first line and keeps its body, itself translated, in place (IPython would pass
  the body as a string to the magic, which then runs it);
- other cell magics (``%%bash``, ``%%writefile``) become one call, padded with blank lines.

A cell that already compiles is plain Python and left alone, which also spares most
notebooks the import of IPython.
"""

from __future__ import annotations

import ast
from functools import lru_cache
from typing import Any

# Cell magics whose body is Python and runs (once) in the notebook's namespace.
PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun"}


def translate_cell(source: str) -> str:
    """The cell as Python, with as many lines as ``source`` (or more, never fewer)."""
    if _is_python(source):
        return source
    lines = source.split("\n")
    lead = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    head = lines[lead].strip() if lead < len(lines) else ""
    if head.startswith("%%"):
        name = head[2:].split(maxsplit=1)[0] if len(head) > 2 else ""
        if name in PYTHON_CELL_MAGICS:
            body = translate_cell("\n".join(lines[lead + 1:]))
            return "\n" * (lead + 1) + body
    text = "\n".join(lines[lead:])
    try:
        translated = _transformer().transform_cell(text).rstrip("\n")
    except Exception:  # noqa: BLE001 - IPython gives up on some broken input: compile reports it
        return source
    padding = len(lines) - lead - translated.count("\n") - 1
    return "\n" * lead + translated + "\n" * max(padding, 0)


def _is_python(source: str) -> bool:
    try:
        ast.parse(source)
    except (SyntaxError, ValueError):
        return False
    return True


@lru_cache(maxsize=1)
def _transformer() -> Any:
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager()
