"""Feedback a student can act on (issue 18): counterexamples as Python to paste, near
misses named, no internals and no colour codes in what a student reads."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.authoring import shown_as
from grader.grading.pytest_plugin import _counterexample
from grader.render.text import clean


def falsified(test) -> BaseException:
    try:
        test()
    except BaseException as exc:  # noqa: BLE001 - hypothesis raises what the test raised
        return exc
    raise AssertionError("the property held")


def test_a_counterexample_keeps_the_commas_inside_a_long_value_and_drops_the_ones_between_arguments():
    @settings(derandomize=True, database=None)
    @given(xs=st.lists(st.lists(st.integers(), min_size=13), min_size=3), n=st.integers(0, 3))
    def prop(xs, n):
        assert sum(map(len, xs)) < 40

    shown = _counterexample(falsified(prop))
    assert shown.startswith("xs=[[0, 0,") and shown.endswith("\nn=0")
    assert eval(shown.replace("\n", " ").replace(" n=0", "").removeprefix("xs="))  # the commas are there


def test_values_drawn_in_the_judge_are_named_by_their_label_and_data_is_left_out():
    @settings(derandomize=True, database=None)
    @given(k=st.integers(0, 3), data=st.data())
    def prop(k, data):
        weight = data.draw(st.sampled_from([torch.ones(1), torch.ones(2)]), label="weight")
        assert len(weight) < 2

    shown = _counterexample(falsified(prop))
    assert "data=" not in shown and "data(" not in shown
    assert shown.splitlines() == ["k=0", "weight=torch.tensor([1., 1.])"]


def test_a_spec_prints_as_the_python_that_builds_it_and_stays_equal():
    spec = shown_as(lambda s: f"nn.Linear({s[1]}, {s[2]})")(["linear", 3, 2])
    assert repr(spec) == "nn.Linear(3, 2)" and spec == ["linear", 3, 2] and isinstance(spec, list)
    as_dict = shown_as(lambda s: "()")({"kind": "tuple", "items": []})
    assert repr([as_dict]) == "[()]" and as_dict["kind"] == "tuple"


# -- near misses ------------------------------------------------------------------------


def test_a_misspelt_or_differently_cased_name_is_named_and_an_unrelated_one_is_not():
    from grader.grading.near_miss import did_you_mean, top_level_names

    source = ("import torch\nfrom torch import nn as tnn\nX = Y = 1\ndef try_all_gpu():\n    pass\n"
              "class Mylinear: ...\n")
    assert top_level_names(source) == ["torch", "tnn", "X", "Y", "try_all_gpu", "Mylinear"]
    assert "`try_all_gpu`: did you mean to name it `try_all_gpus`?" in did_you_mean("try_all_gpus", source)
    assert "`Mylinear`" in did_you_mean("MyLinear", source)
    assert did_you_mean("FourierHalf", source) == "" and did_you_mean("MyLinear", "def (") == ""


def test_another_frameworks_import_gets_a_word_about_the_edition_and_d2l_its_own():
    from grader.grading.near_miss import missing_module_note

    for module, name in (("mxnet", "MXNet"), ("tensorflow.keras", "TensorFlow"), ("jax", "JAX")):
        note = missing_module_note(f"No module named '{module}'")
        assert f"written for {name}, but this is the PyTorch edition of the book" in note
    assert "write what you need from it into your file" in missing_module_note("No module named 'd2l'")
    assert missing_module_note("No module named 'numpyy'") == ""


# -- hints from the evidence, on realistic wrong submissions ------------------------------


def _checks(report) -> dict:
    return {check.name: check for check in report.checks}


def test_hints_follow_the_evidence_not_the_check(grade_file):
    from grader.render import text
    from tests.conftest import SUBMISSIONS

    named = _checks(grade_file(SUBMISSIONS / "exercise3" / "mylinear_other_names.py", "exercise3"))
    hint = named["MyLinear: gradients reach weight and bias"].hint
    assert "self.weight and self.bias (nn.Parameter)" in hint and ".data" not in hint

    early = _checks(grade_file(SUBMISSIONS / "exercise4" / "materialize_init_before_forward.py", "exercise4"))
    assert "initializing comes after the forward" in early["materialize: biases are zero"].hint

    numpy = _checks(grade_file(SUBMISSIONS / "exercise5" / "checkpoint_numpy_rng.py", "exercise5"))
    save = "save_checkpoint: writes a file torch.load(path, weights_only=True) reads"
    assert "keep NumPy objects out" in numpy[save].hint

    raised = _checks(grade_file(SUBMISSIONS / "exercise4" / "lazy_guess_width.py", "exercise4"))
    error = raised["MyLazyLinear: output is X @ weight.T + bias"]
    assert "compare the weight's shape with X.shape[-1]" in text.failure(error).hint
    assert "raised by MyLazyLinear(1)(X) with X of shape (1,)" in error.message
    assert "lazy_guess_width.py, line 15, in forward" in error.message
    assert "uninitialized" not in raised["MyLazyLinear: an input of another width raises ValueError"].hint


def test_an_error_gets_a_hint_only_where_one_fits():
    from grader.grading.error_hints import hint_for
    from grader.statuses import ProblemKind

    assert "super().__init__() first" in hint_for(
        ProblemKind.RAISED, "AttributeError: cannot assign module before Module.__init__() call")
    stop = "StopIteration\n  f.py, line 3, in model_device: next(...)"
    assert "empty" in hint_for(ProblemKind.RAISED, stop)
    assert ".values()" in hint_for(ProblemKind.RAISED, "TypeError: 'str' object is not callable")
    assert hint_for(ProblemKind.RAISED, "ZeroDivisionError: division by zero") == ""
    assert hint_for(ProblemKind.MISSING, "StopIteration") == ""


# -- what crosses from the worker ---------------------------------------------------------


def _problem(reply: dict) -> str:
    import pytest

    from grader.grading.errors import StudentCodeProblem
    from grader.grading.submission import read_submission
    from grader.sandbox.client import Sandbox
    from tests.conftest import ROOT

    submission = read_submission(ROOT / "solutions" / "exercise3.py")
    sandbox = Sandbox(launcher=None, submission=submission)  # type: ignore[arg-type]
    with pytest.raises(StudentCodeProblem) as caught:
        sandbox._answer(reply, "while running the check")
    return caught.value.message


def test_the_call_that_raised_sits_between_the_error_and_the_students_lines():
    message = _problem({"status": "raised", "type": "RuntimeError", "message": "mat1 and mat2",
                        "frames": [[7, "forward", "return X @ w"]], "calls": ["raised by MyLinear(1, 2)(X)"]})
    assert message.splitlines() == ["RuntimeError: mat1 and mat2", "  raised by MyLinear(1, 2)(X)",
                                    "  exercise3.py, line 7, in forward: return X @ w"]
    forged = _problem({"status": "raised", "type": "E", "message": "m", "frames": [],
                       "calls": [1, "x" * 999]})
    assert forged.splitlines()[1] == "  " + "x" * 300  # only strings, capped
    assert "calls" not in _problem({"status": "raised", "type": "E", "message": "m", "calls": "not a list"})


def test_a_missing_name_names_the_one_the_file_defines():
    assert "the file defines `MyLinear`: did you mean to name it `Mylinear`?" in _problem(
        {"status": "missing", "name": "Mylinear"})


def test_addresses_in_reprs_are_masked_so_reports_repeat():
    text = "got generator <generator object to_device.<locals>.<genexpr> at 0x7fe6c31cbf10>"
    assert clean(text) == "got generator <generator object to_device.<locals>.<genexpr> at 0x…>"
    assert clean("X at 0x1f, shape (2, 3)") == "X at 0x1f, shape (2, 3)"  # not an address in a repr


def test_a_failure_message_is_made_once_and_only_when_read():
    """While hypothesis shrinks, a check fails on many inputs and only the last is reported:
    its message (tensors formatted) and figure are made when the report reads them."""
    from grader.authoring.judging import Fail, expect, expect_close

    made = []
    with pytest.raises(Fail) as raised:
        expect(False, lambda: made.append("message") or "the property broke",
               lambda: made.append("figure") or {"kind": "comparison"})
    failure = raised.value
    assert made == []
    assert str(failure) == "the property broke" and failure.args == ("the property broke",)
    assert failure.figure == {"kind": "comparison"} and made == ["message", "figure"]
    assert str(failure) == "the property broke" and made == ["message", "figure"]
    with pytest.raises(Fail) as raised:
        expect_close(torch.tensor([1.0, -2.0]), torch.tensor([1.0, 2.0]), "f(X)", X=torch.ones(2))
    assert str(raised.value).startswith("f(X) is wrong at index (1,): got tensor(-2.), expected tensor(2.)")
    assert "on input X = tensor([1., 1.])" in raised.value.args[0]


def test_a_message_that_cannot_be_made_still_fails_the_property():
    from grader.authoring.judging import Fail, expect

    with pytest.raises(Fail) as raised:
        expect(False, lambda: f"{ {}['shapes'] }")
    assert str(raised.value) == "the property does not hold (and its message failed: KeyError: 'shapes')"
