"""Near misses a student can act on, read from the submission's source on the trusted side
(nothing here runs student code):

- ``did_you_mean``: a misspelt or differently cased API name (``try_all_gpu``, ``Mylinear``)
  among the names the file defines at top level;
- ``other_framework``: code written for another edition of the book (MXNet, TensorFlow,
  JAX), which fails to import with "No module named 'mxnet'".
"""

from __future__ import annotations

import ast
import difflib
import re

# The book's other editions, and the import names that give them away.
FRAMEWORKS = {"mxnet": "MXNet", "tensorflow": "TensorFlow", "keras": "Keras", "jax": "JAX", "flax": "JAX",
              "paddle": "PaddlePaddle"}
_NO_MODULE = re.compile(r"No module named '([\w.]+)'")


def top_level_names(source: str) -> list[str]:
    """The names a module binds at top level (functions, classes, assignments, imports), in
    order; none where the source does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names += [(a.asname or a.name).split(".")[0] for a in node.names if a.name != "*"]
    return list(dict.fromkeys(names))


def did_you_mean(name: str, source: str) -> str:
    """`` (did you mean `try_all_gpus`? …)`` for the top-level name closest to ``name``, or ""."""
    names = [n for n in top_level_names(source) if n != name]
    same_case = [n for n in names if n.lower() == name.lower()]
    close = same_case or difflib.get_close_matches(name, names, n=1, cutoff=0.75)
    if not close:
        return ""
    return f"; the file defines `{close[0]}`: did you mean to name it `{name}`? (names must match exactly)"


def framework_of(message: str) -> str:
    """The other framework an import error's message names ("MXNet"); "" for none."""
    match = _NO_MODULE.search(message)
    return FRAMEWORKS.get(match.group(1).split(".")[0], "") if match else ""


def missing_module_note(message: str) -> str:
    """A word on a module the graded code cannot import, where there is one to say, or ""."""
    framework = framework_of(message)
    if framework:
        return (f"\n  this code is written for {framework}, but this is the PyTorch edition of the book: "
                "use torch and torch.nn (`import torch`, `from torch import nn`) instead")
    match = _NO_MODULE.search(message)
    if match and match.group(1).split(".")[0] == "d2l":
        return ("\n  the d2l package is not installed where your code is graded: write what you need "
                "from it into your file, with torch alone")
    return ""
