"""Batch grading replays the inputs of passing checks instead of generating them again
(grader.grading.replay). It must reach exactly the verdicts of plain hypothesis."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from grader.grading.engine import grade
from grader.grading.exercises import all_exercises
from grader.grading.replay import Tapes
from grader.grading.warm_judges import WarmJudges
from grader.sandbox import client, wire
from tests.conftest import ROOT, SUBMISSIONS, TEST_LIMITS, without_timings
from tests.test_fixtures import EXERCISES, assert_as_expected, expectations


@pytest.fixture(scope="module")
def tapes(launcher) -> Tapes:
    """Tapes recorded from the reference solutions, as a batch's first submissions would."""
    recorded = Tapes()
    for name in EXERCISES:
        grade(ROOT / "solutions" / f"{name}.py", all_exercises()[name], limits=TEST_LIMITS, launcher=launcher,
              tapes=recorded)
    return recorded


@pytest.mark.parametrize("exercise", EXERCISES)
def test_recording_and_replaying_send_the_probes_what_plain_hypothesis_sends(launcher, monkeypatch, exercise):
    calls: list[str] = []
    real_call = client.Sandbox._call

    def spy(self, probe, args, timeout):
        calls.append(probe.__name__ + hashlib.sha256(wire.dumps(list(args))).hexdigest())
        return real_call(self, probe, args, timeout)

    monkeypatch.setattr(client.Sandbox, "_call", spy)
    solution, own = ROOT / "solutions" / f"{exercise}.py", Tapes()
    runs = []
    for tapes in (None, own, own):  # plain, recording, replaying
        calls.clear()
        report = grade(solution, all_exercises()[exercise], limits=TEST_LIMITS, launcher=launcher,
                       tapes=tapes)
        runs.append((without_timings(report), list(calls)))
    assert len(runs[0][1]) > 20
    assert runs[0] == runs[1] == runs[2]


@pytest.mark.parametrize(("exercise", "name", "expected"), expectations(),
                         ids=[f"{e}/{n}" for e, n, _ in expectations()])
def test_replayed_fixtures_score_as_expected(launcher, tapes, exercise, name, expected):
    report = grade(SUBMISSIONS / exercise / name, all_exercises()[exercise], limits=TEST_LIMITS,
                   launcher=launcher, tapes=tapes)
    assert_as_expected(report, expected)



def test_hypothesis_draws_no_constants_from_the_graders_own_source():
    """Hypothesis mixes constants from "local" modules into its draws: the grader's own when
    it is installed from a checkout, as here, but not in a release or on Gradescope, and
    more or fewer depending on the command. Examples must depend on the checks alone."""
    from hypothesis.internal.conjecture import providers

    import grader.batch.command  # noqa: F401 - loaded, as in a batch
    import grader.checks.exercise3.judges  # noqa: F401

    assert len(providers._get_local_constants()) == 0


def test_tapes_copy_values_as_deepcopy_does():
    """Tensors are cloned directly, but what comes back must be what ``copy.deepcopy`` gives:
    same values, dtypes, strides and grad flags, no storage shared with the tape, and a
    storage shared within the value still shared (views and tied tensors go to deepcopy)."""
    import copy

    import torch

    from grader.grading.replay import copied

    x = torch.arange(6.0).reshape(2, 3)
    leaf = torch.ones(2, requires_grad=True)
    value = {"xs": [x, x.t().contiguous(), torch.zeros(0, 4)], "pair": (leaf, 3, "s"), "n": None}
    twin = copied(value)
    expected = copy.deepcopy(value)
    for got, want in zip(twin["xs"] + [twin["pair"][0]], expected["xs"] + [expected["pair"][0]], strict=True):
        assert torch.equal(got, want) and got.dtype == want.dtype and got.stride() == want.stride()
        assert got.requires_grad == want.requires_grad and got.is_leaf
    assert twin["pair"][1:] == (3, "s") and type(twin["pair"]) is tuple and twin["n"] is None
    twin["xs"][0].add_(1)
    assert torch.equal(x, torch.arange(6.0).reshape(2, 3)), "the copy shares the tape's storage"
    tied = copied([x, x])
    assert tied[0] is tied[1], "a tensor twice in a value is one tensor in its copy, as with deepcopy"
    view = copied([x, x[0]])
    assert view[1].untyped_storage().data_ptr() == view[0].untyped_storage().data_ptr()
    strided = x.t()
    assert copied(strided).stride() == strided.stride()
    roomy = copy.deepcopy(torch.zeros(3, 4)[:1, :2])  # no view any more, but a storage of 12
    assert copied(roomy).untyped_storage().nbytes() == roomy.untyped_storage().nbytes()


# A reviewer's attack (round 2): an answer that changes from call to call.
_EX3 = all_exercises()["exercise3"]
_SOLUTION_TEXT = (ROOT / "solutions" / "exercise3.py").read_text(encoding="utf-8")

# FourierHalf answers wrongly on the first call its worker sees, rightly after that.
RIGHT = "        return torch.fft.fft(X, dim=-1)[..., : (n + 1) // 2]\n"
WRONG_FIRST = ("        _calls.append(1)\n"
               "        if len(_calls) == 1:\n"
               "            return torch.fft.fft(X, dim=-1)[..., : (n + 1) // 2] + 1\n" + RIGHT)


def _verdicts(report) -> list[tuple[str, str, float]]:
    return [(check.name, check.status, check.score) for check in report.checks]


def test_a_wrong_answer_on_a_replayed_input_is_not_forgotten(launcher, tmp_path: Path):
    """A batch replays the inputs a classmate passed; where the replay fails it runs
    hypothesis afresh in the same worker. A submission that is wrong once (on its first
    call) and right afterwards then passed in a batch the check it fails when graded alone:
    the failure the replay found was dropped."""
    assert _SOLUTION_TEXT.count(RIGHT) == 1
    flaky = tmp_path / "exercise3.py"
    flaky.write_text(_SOLUTION_TEXT.replace(RIGHT, WRONG_FIRST) + "\n_calls = []\n", encoding="utf-8")
    alone = grade(flaky, _EX3, limits=TEST_LIMITS, launcher=launcher)
    assert alone.score < alone.max_score  # the first call's answer is wrong

    tapes, judges = Tapes(), WarmJudges()
    try:
        for path in (ROOT / "solutions" / "exercise3.py", flaky):  # a classmate, then this one
            batch = grade(path, _EX3, limits=TEST_LIMITS, launcher=launcher, tapes=tapes,
                          judges=judges)
    finally:
        judges.close()
    assert _verdicts(batch) == _verdicts(alone)
    assert batch.score == alone.score
