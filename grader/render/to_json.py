"""The JSON report: ``Report.to_dict`` with stable key order."""

from __future__ import annotations

import json

from grader.report import Report


def render(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
