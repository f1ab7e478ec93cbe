"""Where the grader's own files are: one name for each folder, used everywhere.

Torch-free and import-free, so that the worker side may use it too.
"""

from __future__ import annotations

from pathlib import Path

GRADER_DIR = Path(__file__).resolve().parent  # the installed `grader` package
PROJECT_ROOT = GRADER_DIR.parent  # the course checkout (or release) the package sits in
CHECKS_DIR = GRADER_DIR / "checks"  # one package of probes and judges per exercise
