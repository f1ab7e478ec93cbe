"""A hint for an error, chosen from what raised: a check's own hint is written for a broken
property, and would mislead a student whose code raised (``hint_for``). Trusted side; reads
only the error's text."""

from __future__ import annotations

import re

from grader.statuses import ProblemKind

# (pattern in "Type: message", hint); the first that matches is the hint.
_HINTS: tuple[tuple[str, str], ...] = (
    (r"mat1 and mat2 shapes cannot be multiplied|size mismatch, got input",
     "a matrix product got shapes that do not fit: compare the weight's shape with X.shape[-1] "
     "(a weight of shape (out, in) goes with X @ weight.T, one of shape (in, out) with X @ weight)"),
    (r"The size of tensor a \(\d+\) must match|shape '\[.*\]' is invalid|not broadcastable",
     "two tensors' shapes do not fit together here: print their .shape just before this line"),
    (r"expected scalar type|to have the same dtype|dtype mismatch|found dtype \w+ but expected",
     "the tensors have different dtypes: compute in X's dtype (create or convert with .to(X.dtype))"),
    (r"cannot assign (?:module|parameter) before Module.__init__\(\) call|has no attribute '_modules'"
     r"|has no attribute '_parameters'",
     "call super().__init__() first in __init__, before assigning any layer or parameter"),
    (r"does not require grad and does not have a grad_fn",
     "the result is cut off from the graph: no .data, .detach(), .item() or new tensors made from values"),
    (r"^StopIteration",
     "next() found no item: the iterator was empty (a net without parameters?); check for that case"),
    (r"^TypeError: 'str' object is not callable",
     "a string was called: looping over a dict (such as self._modules) gives its keys; loop over "
     ".values()"),
    (r"^NameError: name '(\w+)' is not defined",
     "a name used here is defined nowhere in the file: import it (`import torch`, `from torch import nn`) "
     "or define it"),
    (r"^TypeError: .*(?:positional argument|unexpected keyword argument)",
     "the grader calls it as the exercise's contract says: compare its parameters with the contract"),
    (r"^AttributeError: '(\w+)' object has no attribute",
     "an attribute used here does not exist: check its spelling, and that __init__ sets it"),
    (r"Weights only load failed|weights_only",
     "torch.load(path, weights_only=True) reads tensors, numbers, strings, lists and dicts; save only "
     "those (state_dict()s are fine), or say why the file needs more"),
)


def hint_for(kind: ProblemKind, message: str) -> str:
    """The hint for an error of ``kind`` whose message is ``message``; "" where none fits."""
    if kind not in (ProblemKind.RAISED, ProblemKind.GARBAGE):
        return ""
    first = message.splitlines()[0] if message else ""
    for pattern, hint in _HINTS:
        if re.search(pattern, first):
            return hint
    return ""
