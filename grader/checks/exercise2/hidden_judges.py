"""Hidden judges for exercise2: they run when a submission is graded, and a student release
leaves this file out (it says only how many there are and their points). The public ones,
and the strategies and helpers both share, are in ``judges.py``.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from grader.authoring import budget, check
from grader.checks.exercise2 import probes
from grader.checks.exercise2.judges import _judge_counts, nets

# Tied parameters are the edge case of counting: net.parameters() lists a shared tensor once,
# a sum over state_dict() or over modules counts it again.


@check("count_params", "counts a tied parameter once", points=1, hidden=True,
       hint="a module used twice holds one set of parameters; net.parameters() lists each once")
@budget(8)
@given(specs=st.lists(nets(tied=True), min_size=1, max_size=4))
def test_count_params_tied(submission, specs):
    _judge_counts(specs, submission.run(probes.count_params_of, specs))
