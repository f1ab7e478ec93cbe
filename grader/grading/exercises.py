"""The exercises the grader knows: one package under ``grader/checks`` each."""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from grader.paths import CHECKS_DIR, GRADER_DIR
from grader.report import HiddenChecks

# Hidden checks live in files of their own, so that a student release can leave them out
# whole: hidden_judges.py, and hidden_probes.py for probes only they call (any hidden_* file
# stays behind). The release writes the manifest in their place (see grader/course/release.py).
HIDDEN_PREFIX = "hidden_"
PUBLIC_JUDGES = "judges.py"
HIDDEN_JUDGES, HIDDEN_PROBES = f"{HIDDEN_PREFIX}judges.py", f"{HIDDEN_PREFIX}probes.py"
HIDDEN_MANIFEST = "hidden.json"


@dataclass(frozen=True)
class Exercise:
    name: str  # "exercise3"
    title: str  # "Custom layers"

    @property
    def folder(self) -> Path:
        return CHECKS_DIR / self.name

    @property
    def judges(self) -> Path:
        """The public judges: every check a student's copy of the grader runs."""
        return self.folder / PUBLIC_JUDGES

    @property
    def hidden_judges(self) -> Path:
        """The hidden judges (the file may be absent: no hidden checks, or a release)."""
        return self.folder / HIDDEN_JUDGES

    @property
    def judge_files(self) -> list[Path]:
        """The judge files a grading run collects: public first, then hidden where present."""
        return [path for path in (self.judges, self.hidden_judges) if path.exists()]

    @property
    def withheld(self) -> HiddenChecks | None:
        """The hidden checks this copy of the grader lacks (a student release), from the
        manifest the release wrote; None in the full grader, which runs them all."""
        return withheld_checks(self.name)

    @property
    def probes_module(self) -> str:
        return f"grader.checks.{self.name}.probes"

    @property
    def probes_modules(self) -> list[str]:
        """The probe modules the worker server preloads: public, and hidden where present."""
        has_hidden = (self.folder / HIDDEN_PROBES).exists()
        hidden = [f"grader.checks.{self.name}.hidden_probes"] if has_hidden else []
        return [self.probes_module, *hidden]


@lru_cache(maxsize=1)
def all_exercises() -> dict[str, Exercise]:
    found = {}
    for folder in sorted(CHECKS_DIR.glob("exercise*/")):
        if (folder / "judges.py").exists() and (folder / "probes.py").exists():
            package = importlib.import_module(f"grader.checks.{folder.name}")
            found[folder.name] = Exercise(folder.name, getattr(package, "TITLE", folder.name))
    return found


@cache
def withheld_checks(name: str) -> HiddenChecks | None:
    """How many hidden checks of exercise ``name``, worth how many points, this copy of the
    grader lacks: the release's manifest, where the hidden judges are not."""
    if not name.isidentifier():  # a name read back from a report, not a path
        return None
    folder = CHECKS_DIR / name
    manifest = folder / HIDDEN_MANIFEST
    if (folder / HIDDEN_JUDGES).exists() or not manifest.exists():
        return None  # the hidden judges are here, and run
    data = json.loads(manifest.read_text(encoding="utf-8"))
    return HiddenChecks(count=int(data["count"]), points=float(data["points"]))


def probes_modules(exercises: Iterable[Exercise] | None = None) -> list[str]:
    """The probe modules a worker server imports before any submission: the shared ones and
    those of ``exercises`` (default: all)."""
    chosen = all_exercises().values() if exercises is None else exercises
    return ["grader.checks.common_probes", *(module for e in chosen for module in e.probes_modules)]


# Where verdicts come from: the check author's kit, the checks, the grading pipeline, the
# sandbox, and the shared models at the top of the package. Everything else only presents,
# schedules or packages reports (render, batch, platforms, course, cli) and is left out of
# checks_version, so that a change there does not make a batch's cache regrade everything.
VERDICT_CODE = ("authoring", "checks", "grading", "sandbox", "report.py", "statuses.py", "compat.py",
                "paths.py", "deferred_imports.py")


@lru_cache(maxsize=1)
def checks_version() -> str:
    """A hash of the code a report's verdicts depend on (``VERDICT_CODE``)."""
    digest = hashlib.sha256()
    for path in sorted(GRADER_DIR.rglob("*")):
        relative = path.relative_to(GRADER_DIR)
        if relative.parts[0] not in VERDICT_CODE:
            continue
        if path.suffix in (".py", ".ini") and "__pycache__" not in path.parts:
            digest.update(str(relative).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]
