"""Feedback a student can act on (issue 18): counterexamples as Python to paste, near
misses named, no internals and no colour codes in what a student reads."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.authoring import shown_as
from grader.grading.pytest_plugin import _counterexample


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
