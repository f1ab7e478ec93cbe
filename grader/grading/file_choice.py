"""Which of exercise3.py and exercise3.ipynb is the student's work.

Both ship in the course; a student works in one. File times cannot tell them apart in a
fresh clone (CI, GitHub Classroom), where both files get the time of the checkout. The
untouched stub can: its bytes are the ones released. So the file that differs from its
stub is the student's; only when both (or neither) differ does the more recently saved one
win, and on a tie the .py.

The released stubs' hashes are in ``grader/checks/<exercise>/stubs.json`` (written by
``grade release``); in the course's own checkout they are computed from ``exercises/``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from grader.grading.submission import file_sha256
from grader.paths import CHECKS_DIR, PROJECT_ROOT

STUBS_MANIFEST = "stubs.json"
SAME_TIME_S = 2.0  # saved within this of each other: neither is more recent


@cache
def stub_hashes(exercise: str) -> frozenset[str]:
    manifest = CHECKS_DIR / exercise / STUBS_MANIFEST
    if manifest.exists():
        return frozenset(json.loads(manifest.read_text(encoding="utf-8")))
    stubs = (PROJECT_ROOT / "exercises" / f"{exercise}{suffix}" for suffix in (".py", ".ipynb"))
    return frozenset(file_sha256(stub) for stub in stubs if stub.is_file())


def write_manifest(folder: Path, stubs: Sequence[Path]) -> None:
    """Record the released stubs' hashes in ``folder`` (an exercise's checks folder)."""
    (folder / STUBS_MANIFEST).write_text(json.dumps(sorted(file_sha256(p) for p in stubs)) + "\n",
                                         encoding="utf-8")


def choose(candidates: Sequence[Path], exercise: str) -> tuple[Path, list[Path], str]:
    """The file to grade among ``candidates`` (one exercise's .py and .ipynb), the others,
    and why that one, for the user ("" when there was no choice)."""
    if len(candidates) == 1:
        return candidates[0], [], ""
    stubs = stub_hashes(exercise)
    changed = [path for path in candidates if file_sha256(path) not in stubs]
    if len(changed) == 1:
        others = [p for p in candidates if p != changed[0]]
        return changed[0], others, f"the others ({', '.join(p.name for p in others)}) are the unchanged stub"
    times = {path: path.stat().st_mtime for path in candidates}
    newest = max(candidates, key=lambda p: (times[p], p.suffix == ".py"))
    others = [p for p in candidates if p != newest]
    if all(times[newest] - times[p] >= SAME_TIME_S for p in others):
        return newest, others, f"the more recently saved of {', '.join(p.name for p in candidates)}"
    chosen = next((p for p in candidates if p.suffix == ".py"), candidates[0])
    others = [p for p in candidates if p != chosen]
    return chosen, others, (f"{', '.join(p.name for p in others)} also exists, saved at the same time; "
                            "give a PATH to grade it instead")
