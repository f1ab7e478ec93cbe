"""The HTML pages in a real browser (headless Debian chromium, tests/browser.py).

``grade exercise2 --format html`` and ``grade batch --html-reports`` write the pages a
student and an instructor open; each must load without a console error (a script that
throws, a Content-Security-Policy violation, a resource it tried to fetch), draw every
figure at a nonzero size, and name every check. A class member whose name and messages
are HTML and script must not get either into the dashboard or a report page.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser import CHROMIUM, Browser
from tests.conftest import ROOT, SUBMISSIONS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (Debian: apt-get install chromium, "
                                                "as .ci/run does)"),
]

GRADE = [sys.executable, "-m", "grader"]
HOSTILE_NAME = '"><img src=x onerror="window.__pwned=1">'
HOSTILE_SUBMISSION = """
class CenteredLayer(nn.Module):
    def forward(self, X):
        print("<script>window.__pwned = 1</script>")
        raise ValueError('</svg><script>window.__pwned = 1</script>'
                         '"><img src=x onerror="window.__pwned = 1">')
"""
# What a page shows, measured in the browser: its figures' sizes, the checks it names, its
# scripts, and whether anything injected ran.
LOOK = """({
  figures: [...document.querySelectorAll("figure.plot svg")].map((svg) => {
    const box = svg.getBoundingClientRect();
    return [box.width, box.height, svg.querySelectorAll("path").length];
  }),
  checks: [...document.querySelectorAll("tr[data-check]")].map((row) => row.dataset.check),
  scripts: document.scripts.length,
  pwned: window.__pwned !== undefined,
  text: document.body.innerText,
})"""


def grade(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GRADE, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def browser():
    with Browser() as opened:
        yield opened


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    """A report.html from ``grade --format html`` and a batch with ``--html-reports``."""
    root = tmp_path_factory.mktemp("pages")
    one = grade(
        "exercise2",
        str(SUBMISSIONS / "exercise2" / "normal_std_one.py"),
        "--report",
        str(root / "one" / "exercise2.json"),
        "--format",
        "html",
        "--timeout",
        "2",
    )
    assert one.returncode == 0, one.stderr
    solution = (ROOT / "solutions" / "exercise3.py").read_text()
    for student, text in (
        ("alice", (SUBMISSIONS / "exercise3" / "mylinear_no_relu.py").read_text()),
        ("bob", solution),
        (HOSTILE_NAME, solution + HOSTILE_SUBMISSION),
    ):
        (root / "class" / student).mkdir(parents=True)
        (root / "class" / student / "exercise3.py").write_text(text)
    batch = grade(
        "batch",
        str(root / "class"),
        "--out",
        str(root / "out"),
        "-j",
        "2",
        "--timeout",
        "2",
        "--html-reports",
    )
    assert batch.returncode == 0, batch.stderr
    return root


def look(browser: Browser, page: Path) -> dict:
    browser.open(page)
    seen = browser.evaluate(LOOK)
    seen["errors"] = browser.console_errors()
    return seen


def assert_drawn(seen: dict, at_least: int) -> None:
    assert seen["errors"] == []
    assert len(seen["figures"]) >= at_least
    assert all(width > 50 and height > 50 and paths > 3 for width, height, paths in seen["figures"])
    assert not seen["pwned"]


def check_names(report: Path) -> list[str]:
    return [check["name"] for check in json.loads(report.read_text())["checks"]]


def test_the_harness_sees_console_errors_and_blocked_scripts(browser, tmp_path):
    page = tmp_path / "bad.html"
    page.write_text(
        '<!DOCTYPE html><meta http-equiv="Content-Security-Policy" content="script-src \'none\'">'
        '<body><script>window.__pwned = 1</script><img src="http://127.0.0.1:9/x.png"></body>'
    )
    seen = look(browser, page)
    assert not seen["pwned"]  # blocked by the policy, and reported:
    assert any("Content Security Policy" in error for error in seen["errors"])
    page.write_text("<!DOCTYPE html><body><script>console.error('boom'); null.x</script></body>")
    assert len(look(browser, page)["errors"]) == 2


def test_the_report_page_draws_the_weight_histogram_and_names_every_check(browser, graded):
    seen = look(browser, graded / "one" / "report.html")
    assert_drawn(seen, at_least=1)
    assert seen["checks"] == check_names(graded / "one" / "exercise2.json")
    assert seen["scripts"] == 0
    assert "Linear(300, 100).weight: yours against the expected" in seen["text"]


def test_each_students_page_opens_with_its_figures(browser, graded):
    reports = graded / "out" / "reports"
    pages = sorted(reports.glob("*/exercise3.html"))
    assert len(pages) == 3
    for page in pages:
        seen = look(browser, page)
        assert_drawn(seen, at_least=1 if page.parent.name == "alice" else 0)
        assert seen["checks"] == check_names(page.with_suffix(".json"))
    hostile = look(browser, reports / HOSTILE_NAME / "exercise3.html")
    assert "window.__pwned = 1</script>" in hostile["text"]  # shown as text, not run


def test_the_dashboard_draws_the_class_and_sorts_its_table(browser, graded):
    out = graded / "out"
    seen = look(browser, out / "dashboard.html")
    assert_drawn(seen, at_least=2)
    assert seen["scripts"] == 1
    assert set(seen["checks"]) == set(check_names(out / "reports" / "bob" / "exercise3.json"))
    assert HOSTILE_NAME in seen["text"] and "Infrastructure errors" in seen["text"]
    rows = """[...document.querySelectorAll("table.students tbody tr")]
                .map((row) => [row.cells[0].textContent, Number(row.cells[1].dataset.key)])"""
    press = """document.querySelectorAll("table.students th button")[1].click()"""  # "score"
    browser.evaluate(press)
    ascending = browser.evaluate(rows)
    browser.evaluate(press)
    descending = browser.evaluate(rows)
    assert [score for _, score in ascending] == sorted(score for _, score in ascending)
    assert [score for _, score in descending] == sorted((score for _, score in ascending), reverse=True)
    assert ascending[0][1] < ascending[-1][1] and descending[0][0] == "bob"  # the solution scores highest
    assert browser.console_errors() == []
