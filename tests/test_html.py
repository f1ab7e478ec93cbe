"""The HTML pages (``--format html``'s report.html, the batch's dashboard.html) and the
figure data judges attach to a failure. The pages in a real browser: tests/test_browser.py."""

from __future__ import annotations

import json
import math
from html.parser import HTMLParser

import pytest
import torch

from grader.authoring import figure_data
from grader.authoring.judging import Fail, expect_close
from grader.batch import dashboard
from grader.batch.scheduler import Outcome
from grader.checks.exercise2 import judges as ex2
from grader.render import to_html
from grader.report import CheckResult, Report
from tests.test_formats import FAILED, HIDDEN, HOSTILE, MIXED, NASTY, PASSED, report

# What a student's text might try in a page an instructor opens.
INJECTIONS = ('<script>window.__pwned = 1</script>', '"><img src=x onerror="window.__pwned = 1">',
              "</svg><script>window.__pwned = 1</script>", "<!-- --><style>body{display:none}</style>",
              "javascript:window.__pwned=1")
HOSTILE_HTML = " ".join(INJECTIONS) + " " + HOSTILE


def comparison() -> dict:
    return figure_data.comparison(torch.tensor([[1.0, -2.0, 3.0]]), torch.tensor([[1.0, 2.0, 3.0]]),
                                  title="MyLinear(3, 1)(X): got against expected")


def histogram() -> dict:
    wrong = torch.randn(100, 300, generator=torch.Generator().manual_seed(0))  # std 1, not 0.01
    cdf, support = ex2.normal_expected([300, 100])
    return figure_data.histogram(wrong, cdf, support=support, title="Linear(300, 100).weight")


def hostile_check(figure: dict | None = None) -> CheckResult:
    return CheckResult(
        f"Nasty{INJECTIONS[1]}: {HOSTILE_HTML}",
        f"Nasty{INJECTIONS[1]}",
        FAILED.status,
        0.0,
        1.0,
        message=HOSTILE_HTML,
        counterexample=f"X={HOSTILE_HTML}",
        hint=HOSTILE_HTML,
        output=HOSTILE_HTML,
        figure=figure,
    )


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text of the scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False


def elements(page: str) -> Elements:
    parser = Elements()
    parser.feed(page)
    return parser


def assert_nothing_injected(page: str, scripts: int) -> None:
    found = elements(page)
    names = [tag for tag, _ in found.tags]
    assert names.count("script") == scripts and "img" not in names
    assert names.count("style") == 1 + names.count("svg")  # the page's own, and one in each figure
    assert not [attrs for _, attrs in found.tags if any(name.startswith("on") for name in attrs)]
    assert not [attrs for _, attrs in found.tags if "javascript:" in (attrs.get("href") or "")]
    assert "window.__pwned" not in "".join(found.scripts)


# -- figure data ---------------------------------------------------------------------------


def test_a_histogram_bins_the_values_against_the_expected_counts():
    figure = histogram()
    assert figure_data.checked(figure) == figure
    assert len(figure["edges"]) == len(figure["observed"]) + 1 == figure_data.BINS + 1
    assert sum(figure["observed"]) == pytest.approx(30000)
    assert sum(figure["expected"]) == pytest.approx(30000, rel=1e-4)
    # std 1 against 0.01: the bins span the wide values, and the expected mass sits in the middle
    assert figure["edges"][0] < -3 and figure["edges"][-1] > 3
    assert max(figure["expected"]) == pytest.approx(30000, rel=1e-3)
    json.dumps(figure, allow_nan=False)


def test_a_comparison_is_flattened_and_capped_and_none_where_there_is_nothing_to_compare():
    assert comparison()["observed"] == [1.0, -2.0, 3.0] and comparison()["expected"] == [1.0, 2.0, 3.0]
    big = figure_data.comparison(torch.arange(1000.0), torch.zeros(1000), title="big")
    assert len(big["observed"]) == figure_data.MAX_VALUES and "first 256 of 1000" in big["note"]
    nan = figure_data.comparison(torch.tensor([math.nan, math.inf]), torch.zeros(2), title="nan")
    assert nan["observed"] == [None, None]
    assert figure_data.comparison(torch.ones(1, 1), torch.zeros(1, 1), title="one")["observed"] == [1.0]
    assert figure_data.comparison(torch.ones(0), torch.zeros(0), title="none") is None
    assert figure_data.comparison(torch.ones(2), torch.zeros(3), title="sizes") is None
    assert figure_data.comparison(torch.ones(2, dtype=torch.complex64), torch.zeros(2), title="c") is None


@pytest.mark.parametrize(
    "figure",
    [
        None,
        "svg",
        {"kind": "pie"},
        {"kind": "comparison", "observed": [1, 2], "expected": [1]},
        {"kind": "comparison", "observed": ["<svg>"], "expected": [1]},
        {"kind": "comparison", "observed": [True], "expected": [1]},
        {"kind": "histogram", "edges": [0, 1], "observed": [1, 2], "expected": [1, 2]},
        {"kind": "comparison", "observed": list(range(300)), "expected": list(range(300))},
    ],
)
def test_a_malformed_figure_is_left_out(figure):
    assert figure_data.checked(figure) is None


def test_expect_close_attaches_the_comparison_of_a_wrong_output():
    with pytest.raises(Fail) as failure:
        expect_close(torch.tensor([1.0, -2.0]), torch.tensor([1.0, 2.0]), "f(X)", X=torch.ones(2))
    assert failure.value.figure["kind"] == "comparison"
    assert failure.value.figure["observed"] == [1.0, -2.0]


def test_a_point_mass_is_expected_in_the_bin_that_holds_it():
    zeros = torch.zeros(1000)
    cdf, support = ex2.my_init_expected([300, 100])
    figure = figure_data.histogram(zeros, cdf, support=support, title="all zeros")
    assert figure["observed"].index(1000) == figure["expected"].index(500)


def test_a_figure_that_cannot_be_drawn_leaves_the_failure_as_it_is():
    from grader.authoring import expect

    with pytest.raises(Fail, match="the property") as failure:
        expect(False, "the property broke", lambda: 1 / 0)
    assert failure.value.figure is None


def test_an_initializer_check_pictures_the_first_wrong_layer_only():
    def layers(std: float) -> dict:
        generator = torch.Generator().manual_seed(1)
        return {
            "linear": [
                {"weight": torch.randn(size[1], size[0], generator=generator) * std} for size in ex2.SIZES
            ]
        }

    assert ex2.weight_figure(layers(0.01), ex2.SIZES, ex2.normal_weight_problem, ex2.normal_expected) is None
    figure = ex2.weight_figure(layers(1.0), ex2.SIZES, ex2.normal_weight_problem, ex2.normal_expected)
    assert figure["kind"] == "histogram" and figure["title"].startswith("Linear(300, 100).weight")


# -- report.html ---------------------------------------------------------------------------


def test_the_report_page_names_every_check_and_details_each_failure():
    page = to_html.render(report(*MIXED, HIDDEN))
    for check in (*MIXED, HIDDEN):
        assert f'data-check="{check.name}"' in page
    assert "CenteredLayer()(X).mean() should be 0" in page and "X=tensor([[1., 6.]])" in page
    assert "subtract X.mean() from X" in page and "debug print" in page
    assert "Score: 2/12 (17%)" in page
    assert "the secret answer" not in page and "secret hint" not in page and "secret-input" not in page
    assert "<svg" not in page  # no check supplied a figure


def test_a_failure_with_a_figure_is_drawn_and_a_hidden_one_is_not():
    drawn = CheckResult(**{**FAILED.__dict__, "figure": comparison()})
    hidden = CheckResult(**{**HIDDEN.__dict__, "figure": histogram()})
    page = to_html.render(report(PASSED, drawn, hidden))
    assert page.count("<svg") == 1 and "MyLinear(3, 1)(X): got against expected" in page


def test_the_figure_survives_the_json_report():
    data = json.loads(json.dumps(report(CheckResult(**{**FAILED.__dict__, "figure": histogram()})).to_dict()))
    assert data["checks"][0]["figure"]["kind"] == "histogram"
    assert Report.from_dict(data).checks[0].figure == data["checks"][0]["figure"]


def test_the_report_page_is_the_same_for_the_same_report():
    rep = report(CheckResult(**{**FAILED.__dict__, "figure": histogram()}))
    assert to_html.render(rep) == to_html.render(rep)


def test_hostile_text_cannot_inject_into_the_report_page():
    page = to_html.render(
        report(
            hostile_check(comparison()), NASTY, problem=HOSTILE_HTML, submission=f"work/{INJECTIONS[0]}.py"
        )
    )
    assert_nothing_injected(page, scripts=0)
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in page


# -- dashboard.html ------------------------------------------------------------------------


def outcome(student: str, rep: Report | None, error: str = "") -> Outcome:
    path = f"reports/{student}/exercise3.json"
    return Outcome(
        student,
        "exercise3",
        f"{student}.py",
        "0" * 64,
        "error" if error else "graded",
        report="" if rep is None else path,
        error=error,
    )


def class_of_three() -> tuple[list[Outcome], dict]:
    reports = {
        ("alice", "exercise3"): report(*MIXED),
        ("bob", "exercise3"): report(PASSED, FAILED, *MIXED[2:]),
        (INJECTIONS[1], "exercise3"): report(hostile_check(), *MIXED[1:]),
    }
    outcomes = [outcome(student, rep) for (student, _), rep in reports.items()]
    outcomes.append(outcome(f"eve{INJECTIONS[0]}", None, error=f"grading process died: {HOSTILE_HTML}"))
    return outcomes, reports


def test_the_dashboard_has_each_check_lowest_pass_rate_first_and_the_errors_apart():
    outcomes, reports = class_of_three()
    page = dashboard.render(outcomes, reports, linked=True)
    checks = [
        attrs["data-check"] for tag, attrs in elements(page).tags if tag == "tr" and "data-check" in attrs
    ]
    assert checks[-1] == PASSED.name  # passed by alice and bob: the highest rate
    assert set(checks) >= {check.name for check in MIXED}
    assert page.count("<svg") == 2  # the score distribution and the pass rates
    assert '<section id="infrastructure-errors">' in page and "grading process died" in page
    assert 'href="reports/alice/exercise3.html"' in page


def test_hostile_text_cannot_inject_into_the_dashboard():
    outcomes, reports = class_of_three()
    page = dashboard.render(outcomes, reports, linked=True)
    assert_nothing_injected(page, scripts=1)
    assert "%22%3E%3Cimg" in page  # the hostile student's link, quoted


def test_student_pages_are_written_beside_their_reports_and_kept_while_unchanged(tmp_path):
    from grader.batch import aggregate
    from grader.render import to_json

    reports = {("alice", "exercise3"): report(*MIXED), ("bob", "exercise3"): report(PASSED, FAILED)}
    outcomes = [outcome(student, rep) for (student, _), rep in reports.items()]
    outcomes.append(outcome("eve", None, error="grading process died"))
    for (student, _), rep in reports.items():
        path = tmp_path / "reports" / student / "exercise3.json"
        path.parent.mkdir(parents=True)
        path.write_text(to_json.render(rep))
    aggregate.write_all(tmp_path, outcomes, student_pages=True)
    pages = sorted(tmp_path.glob("reports/*/exercise3.html"))
    assert len(pages) == 2 and (tmp_path / "dashboard.html").exists()
    assert 'href="reports/bob/exercise3.html"' in (tmp_path / "dashboard.html").read_text()
    bob = tmp_path / "reports" / "bob" / "exercise3.html"
    bob.write_text(bob.read_text().replace("Score:", "Kept:"))  # a rerun keeps an unchanged page
    aggregate.write_all(tmp_path, outcomes, student_pages=True)
    assert "Kept:" in bob.read_text()
    (tmp_path / "reports" / "bob" / "exercise3.json").write_text(to_json.render(report(PASSED)))
    aggregate.write_all(tmp_path, outcomes, student_pages=True)
    assert "Kept:" not in bob.read_text() and "Score: 2/2 (100%)" in bob.read_text()


def test_format_html_writes_report_html(tmp_path):
    from grader.render import files

    notes = files.write(report(*MIXED), ["html"], tmp_path, student="exercise3")
    assert "report.html" in notes[0]
    assert f'data-check="{FAILED.name}"' in (tmp_path / "report.html").read_text(encoding="utf-8")
