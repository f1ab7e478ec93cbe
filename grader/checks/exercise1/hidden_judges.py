"""Hidden judges for exercise1: they run when a submission is graded, and a student release
leaves this file out (it says only how many there are and their points). The public ones,
and the strategies and helpers both share, are in ``judges.py``.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from grader.authoring import budget, check, paired
from grader.checks.exercise1 import probes
from grader.checks.exercise1.judges import chain_cases, describe, expect_chain_output, run_chain

# A module given twice is the trap of writing MySequential with self.children(): kept back,
# so that it is found by understanding registration, not by rerunning the grader.


@check("MySequential", "a module given twice runs at each of its places", points=2, hidden=True,
       hint="loop over self._modules.values(): self.children() lists a repeated module only once")
@budget(10)
@given(cases=st.lists(chain_cases(repeating=True), min_size=1, max_size=4))
def test_sequential_repeated_module(submission, cases):
    results = submission.run(probes.sequential_outputs, cases)
    for (chain, xs), result in paired(cases, results, "cases"):
        for x, y in paired(xs, result["outputs"]):
            expect_chain_output(y, run_chain(chain, x, result["layers"]),
                                f"{describe(chain)}(X), where each shared Linear is one object,", X=x)
