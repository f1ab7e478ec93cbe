"""A generated class for batch tests and the batch benchmark: exercise3 submissions made
from the fixtures (correct, wrong, broken, hostile), each made unique, with the score each
must get (the fixture's expected.json), plus a fork bomb and a file that is not Python.

Correct answers are the most common, as in a real class; every kind of fault appears.
"""

from __future__ import annotations

import json
from itertools import cycle
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "submissions" / "exercise3"
# How often each fixture appears in one round of the class (default 1).
# About half the class correct, a third partly wrong, a tenth broken, one in twelve hostile.
WEIGHTS = {"alt_loops.py": 8, "alt_styles.py": 8, "solution_notebook.ipynb": 6, "magics.ipynb": 2,
           "centered_sum.py": 3, "fourier_off_by_one.py": 3, "centered_per_column.py": 2,
           "mylinear_data.py": 2, "tensorreduction_diagonal.py": 2, "mylinear_no_relu.py": 2,
           "fourier_dc_only.py": 2, "centered_scalar_zero.py": 2, "missing_name.py": 2, "stub.py": 2}
EXTRA = {
    # A fork bomb: the worker's process limit and PID namespace contain it.
    "fork_bomb.py": ("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        "
                     "pass\n", 0.0),
    # Not a Python file at all.
    "not_python.py": ("\x00\x01PK\x03\x04 binary junk \xff\n", 0.0),
}


def templates(weighted: bool = True) -> list[tuple[str, bytes, float]]:
    """(name, content, expected score) of every kind of submission, weighted or once each."""
    expected = json.loads((FIXTURES / "expected.json").read_text())
    found = []
    for name, entry in sorted(expected.items()):
        copies = WEIGHTS.get(name, 1) if weighted else 1
        found += [(name, (FIXTURES / name).read_bytes(), float(entry["score"]))] * copies
    found += [(name, text.encode("utf-8", "surrogateescape"), score) for name, (text, score) in EXTRA.items()]
    return found


def make_class(folder: Path, students: int | None = None, weighted: bool = True) -> dict[str, float]:
    """``students`` folders ``folder/student-NNN/exercise3.py|.ipynb`` (default: one for each
    kind of submission); returns each student's expected score."""
    scores = {}
    kinds = templates(weighted)
    for number, (name, content, score) in zip(range(students or len(kinds)), cycle(kinds), strict=False):
        student = f"student-{number:03d}"
        suffix = Path(name).suffix
        target = folder / student / f"exercise3{suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(_unique(content, suffix, student))
        scores[student] = score
    return scores


def _unique(content: bytes, suffix: str, student: str) -> bytes:
    """The same answer in a file of its own: no two students' files hash alike."""
    if suffix == ".py":
        return content + f"\n# {student}\n".encode()
    try:
        notebook = json.loads(content)
    except ValueError:  # the broken-JSON fixture stays broken
        return content + f" {student}".encode()
    notebook.setdefault("metadata", {})["student"] = student
    return json.dumps(notebook).encode()
