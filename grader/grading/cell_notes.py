"""The notes a worker sends about a notebook's cells, read as untrusted data, and the message
for a graded name that a failed cell left undefined.

The worker runs the cells (``sandbox.cells``) and reports, for each cell that raised, timed
out or skipped something, ``{cell, line, kind, message, defines}``; anything of another
form, or beyond the caps, is dropped: the submission may have tampered with it.
"""

from __future__ import annotations

from typing import Any

from grader.report import Note

MAX_NOTES = 100  # one notebook's worth; more would only bury the first ones
MAX_TEXT = 300
KINDS = {"raised", "syntax", "timeout", "import", "network", "skipped"}


def read(raw: Any, cells: tuple[tuple[int, int, int], ...]) -> tuple[tuple[Note, ...], dict[str, Note]]:
    """The notes, and for each name a failed cell would have bound, that cell's note."""
    if not isinstance(raw, list):
        return (), {}
    numbers = {span[0] for span in cells}
    notes: list[Note] = []
    undefined: dict[str, Note] = {}
    for item in raw[:MAX_NOTES]:
        note = _note(item, numbers)
        if note is None:
            continue
        notes.append(note)
        defines = item.get("defines")
        if note.kind != "skipped" and isinstance(defines, list):
            for name in defines[:100]:
                if isinstance(name, str) and name.isidentifier():
                    undefined[name] = note  # a later failed cell is the one that last tried
    if len(raw) > MAX_NOTES:
        notes.append(Note(cell=notes[-1].cell if notes else 0, line=0, kind="skipped",
                          message=f"… and {len(raw) - MAX_NOTES} more notes"))
    return tuple(notes), undefined


def _note(item: Any, numbers: set[int]) -> Note | None:
    if not isinstance(item, dict):
        return None
    cell, line, kind, message = (item.get(key) for key in ("cell", "line", "kind", "message"))
    if type(cell) is not int or cell not in numbers or type(line) is not int or not 0 <= line < 10**6:
        return None
    if kind not in KINDS or not isinstance(message, str):
        return None
    text = message.encode("utf-8", "replace").decode("utf-8").splitlines()[0] if message.strip() else kind
    return Note(cell=cell, line=line, kind=kind, message=text[:MAX_TEXT])


def missing_name(name: str, notes: tuple[Note, ...], undefined: dict[str, Note]) -> str:
    """Why ``name`` is missing: the cell that would have defined it failed, or it never was."""
    note = undefined.get(name)
    if note is not None:
        what = {"timeout": "ran out of time", "syntax": f"does not parse: {note.message}"}.get(
            note.kind, f"raised {note.message}")
        at = f" (line {note.line})" if note.line else ""
        return f"`{name}` is not defined: cell {note.cell}{at} {what}"
    failed = sorted({n.cell for n in notes if n.kind != "skipped"})
    also = f" (cells that failed: {', '.join(map(str, failed))}; see the notes)" if failed else ""
    return f"missing name: the submission defines no `{name}`{also}"
