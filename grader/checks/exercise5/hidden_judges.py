"""Hidden judges for exercise5: they run when a submission is graded, and a student release
leaves this file out (it says only how many there are and their points). The public ones,
and the strategies and helpers both share, are in ``judges.py``.
"""

from __future__ import annotations

from hypothesis import given

from grader.authoring import budget, check
from grader.checks.exercise5 import training
from grader.checks.exercise5.judges import judge_resume, training_cases

# The public check resumes SGD with momentum; this one resumes Adam, so that a checkpoint
# that special-cases the momentum buffers, instead of saving optimizer.state_dict(), fails.


@check("save_checkpoint/load_checkpoint", "Adam resumes bit-for-bit", points=3, hidden=True,
       hint="save and restore the optimizer's state_dict too: it holds Adam's step counts and moments")
@budget(5)
@given(case=training_cases())
def test_resume_adam(submission, case):
    judge_resume(submission, training.ADAM, case)
