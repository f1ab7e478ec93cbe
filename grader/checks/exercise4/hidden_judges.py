"""Hidden judges for exercise4: they run when a submission is graded, and a student release
leaves this file out (it says only how many there are and their points). The public ones,
and the strategies and helpers both share, are in ``judges.py``.
"""

# As in judges.py: `expect` calls its message lambda at once, with the current loop values.

from __future__ import annotations

from hypothesis import given

from grader.authoring import budget, check, expect, paired
from grader.checks.exercise4 import probes
from grader.checks.exercise4.judges import _children, _describe_child, size_lists

# The off-by-one of building a network in a loop: a ReLU after the last layer.
RELU = "torch.nn.modules.activation.ReLU"


@check("lazy_mlp", "ReLU between the layers, none after the last", points=1, hidden=True,
       hint="an nn.ReLU() before every layer but the first")
@budget(6)
@given(cases=size_lists)
def test_lazy_mlp_activations(submission, cases):
    results = submission.run(probes.lazy_mlp_layers, cases)
    for sizes, result in paired(cases, results, "networks"):
        children = _children(sizes, result)
        kinds = ["relu" if RELU in c["classes"] else "layer" for c in children]
        count = kinds.count("layer")
        expected = (["layer", "relu"] * count)[:-1] if count else []
        names = [_describe_child(c) for c in children]
        expect(kinds == expected,
               lambda: f"lazy_mlp({sizes}) holds {names}: there should be exactly one nn.ReLU() between each two "  # noqa: E501
               "layers, none before the first and none after the last")
