"""The report as JUnit XML, for CI systems: one ``<testcase>`` per check.

It is valid against the windyroad JUnit schema (tests/data/junit.xsd), which CI tools read.
That schema allows ``<properties>`` only on the ``<testsuite>``, so the points of each check
are suite properties ("score:<check>", "max_score:<check>") beside the totals, and a failure's
body repeats them.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime

from grader.render import text
from grader.report import CheckResult, Report, Status

HIDDEN = text.HIDDEN


def render(report: Report, *, timestamp: datetime, hostname: str = "localhost") -> str:
    """JUnit XML for ``report``; ``timestamp`` is when it was graded (the schema needs one,
    and the report has none, so that a rendering stays a function of its arguments)."""
    checks = report.checks or (_no_checks(report),)
    root = ET.Element("testsuites")
    suite = ET.SubElement(root, "testsuite", _suite_attributes(report, checks, timestamp, hostname))
    suite.append(_properties(report))
    suite.extend(_testcase(report, check) for check in checks)
    # The schema requires both, in this order, after the test cases.
    ET.SubElement(suite, "system-out").text = text.problem(report)
    ET.SubElement(suite, "system-err")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _no_checks(report: Report) -> CheckResult:
    # A report without checks is a grader fault (the judges did not run); an empty suite
    # would look like a pass to CI, so it gets one errored test case that says why.
    return CheckResult(name="grading", target="grading", status=Status.ERROR, score=0.0, max_score=0.0,
                       message=report.problem or "grader error: no check ran", fault="grader")


def _suite_attributes(report: Report, checks: tuple[CheckResult, ...], timestamp: datetime,
                      hostname: str) -> dict[str, str]:
    def count(status: Status) -> str:
        return str(sum(check.status == status for check in checks))

    total_s = report.timings.get("total_s", sum(check.duration_s for check in checks))
    return {
        "name": _token(report.exercise),
        "package": _token(report.exercise),  # required inside <testsuites>
        "id": "0",
        "timestamp": timestamp.strftime("%Y-%m-%dT%H:%M:%S"),  # the schema forbids a time zone
        "hostname": _token(hostname, empty="localhost"),  # the schema's word for "unknown"
        "tests": str(len(checks)),
        "failures": count(Status.FAILED),
        "errors": count(Status.ERROR),
        "skipped": count(Status.NOT_RUN),
        "time": _seconds(total_s),
    }


def _properties(report: Report) -> ET.Element:
    values = {"max_score": text.number(report.max_score), "gradable": str(report.gradable).lower(),
              "grader_version": report.grader_version, "checks_version": report.checks_version,
              "isolation": report.isolation.level}
    if report.score is not None:  # no score is claimed when the grader failed
        values = {"score": text.number(report.score), **values}
    for check in report.checks:
        values[f"score:{_token(check.name)}"] = text.number(check.score)
        values[f"max_score:{_token(check.name)}"] = text.number(check.max_score)
    properties = ET.Element("properties")
    for name, value in values.items():
        ET.SubElement(properties, "property", name=_token(name), value=text.clean(value))
    return properties


def _testcase(report: Report, check: CheckResult) -> ET.Element:
    case = ET.Element("testcase", name=_token(check.name), classname=_token(report.exercise),
                      time=_seconds(check.duration_s))
    if check.status == Status.PASSED:
        return case
    shown = text.failure(check)  # each test case stands alone in a CI's test view
    summary = shown.withheld or text.first_line(shown.message) or str(check.status)
    if check.status == Status.NOT_RUN:
        ET.SubElement(case, "skipped", message=summary)
        return case
    failed = check.status == Status.FAILED
    tag, kind = ("failure", "property failed") if failed else ("error", _error_kind(check))
    ET.SubElement(case, tag, message=summary, type=kind).text = _body(check, shown)
    return case


def _error_kind(check: CheckResult) -> str:
    return "grader error" if check.fault == "grader" else "submission error"


def _body(check: CheckResult, shown: text.Failure) -> str:
    lines = [f"{check.name} ({text.points(check)} points)", shown.withheld, shown.message]
    if shown.counterexample:
        lines += ["shrunk input:", shown.counterexample]
    if shown.output:
        lines += ["your code printed:", shown.output]
    if shown.hint:
        lines.append(f"hint: {shown.hint}")
    return text.clean("\n".join(line for line in lines if line))


def _token(value: str, empty: str = "?") -> str:
    """An ``xs:token`` that is never empty: whitespace collapsed, control characters gone."""
    return " ".join(text.clean(value).split()) or empty


def _seconds(value: float) -> str:
    return f"{max(value, 0.0):.3f}"  # an xs:decimal: no exponent, no negative durations
