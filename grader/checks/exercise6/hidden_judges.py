"""Hidden judges for exercise6: they run when a submission is graded, and a student release
leaves this file out (it says only how many there are and their points). The public ones,
and the strategies and helpers both share, are in ``judges.py``.
"""

# As in judges.py: `expect` calls its message lambda at once, with the current loop values.

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from grader.authoring import budget, check, expect, paired
from grader.checks.exercise6 import probes
from grader.checks.exercise6.judges import _gpus, _listing, _texts, expect_value_error, nets

# The edge cases of device handling: no GPU at all, and a net whose parameters are not all
# on one device (looking at the first parameter only misses it).


@check("try_all_gpus", "is [cpu] when there is no GPU", points=1, hidden=True,
       hint="when torch.cuda.device_count() is 0, return [torch.device('cpu')], not an empty list")
def test_try_all_gpus_without_gpu(submission):
    results = submission.run(probes.try_all_gpus_results, [0, 2])
    for count, got in paired([0], results[:1]):
        expect(_texts(got) == ["cpu"],
               lambda: f"try_all_gpus() with {_gpus(count)} should be [torch.device('cpu')], got "
                       f"{_listing(got)}")
    # A function that always answers [cpu] is right here by itself: only when it asks.
    expect(_texts(results[1]) != ["cpu"],
           lambda: f"try_all_gpus() with {_gpus(2)} should list the GPUs, got {_listing(results[1])}: "
           "it answers [cpu] whatever the machine has")


@check("model_device", "raises ValueError for a net split across devices", points=2, hidden=True,
       hint="collect the set of p.device over all of net.parameters(), not just the first one")
@budget(10)
@given(specs=st.lists(nets(split=True), min_size=1, max_size=4))
def test_model_device_split_net(submission, specs):
    results = submission.run(probes.model_device_outcomes, specs)
    for spec, got in paired(specs, results):
        expect_value_error(got, spec, "its parameters sit on both cpu and meta")
