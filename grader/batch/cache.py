"""The content-addressed cache of reports: what a submission scored under given checks.

The key is what a verdict depends on: the submission's bytes (sha256), the exercise, the
checks version (a hash of the judges, probes and grader code), the time limit and the
grading seed's fingerprint (which inputs the checks draw). So a
rerun regrades only changed submissions, or everything when the checks changed, and an
interrupted run resumes where it stopped. Reports the grader could not finish (an
infrastructure error) are never stored, so a rerun retries them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grader.atomic import write_text_atomic


class ReportCache:
    def __init__(self, folder: Path, checks_version: str, timeout_s: float, seed: str = "public") -> None:
        self.folder = folder / checks_version / f"timeout-{timeout_s:g}" / f"seed-{seed}"
        self.seed = seed

    def _entry(self, exercise: str, sha256: str) -> Path:
        return self.folder / exercise / f"{sha256}.json"

    def get(self, exercise: str, sha256: str) -> dict[str, Any] | None:
        try:
            return json.loads(self._entry(exercise, sha256).read_text(encoding="utf-8"))
        except (OSError, ValueError):  # absent, or damaged: grade again
            return None

    def put(self, exercise: str, sha256: str, report: dict[str, Any]) -> None:
        if (report.get("gradable") and report.get("submission_sha256") == sha256
                and report.get("seed", "public") == self.seed):
            write_text_atomic(self._entry(exercise, sha256), json.dumps(report, indent=1))
