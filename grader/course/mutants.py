"""Wrong answers made from a reference solution, for ``grade audit``.

    solution source -> ast -> one edit at a time inside the API's definitions -> mutants
                           -> per API name, its body replaced by a degenerate answer

A mutant is named by where it is and what changed (``MyLinear.forward: return a + b ->
return a - b``), not by line numbers, so that the names marked equivalent in
``grader/checks/<exercise>/equivalent_mutants.json`` survive edits elsewhere in the file.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass

BINARY_SWAPS: dict[type, type] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.FloorDiv: ast.Div,
    ast.Mod: ast.FloorDiv,
    ast.Pow: ast.Mult,
    ast.MatMult: ast.Mult,
    ast.BitAnd: ast.BitOr,
    ast.BitOr: ast.BitAnd,
}
COMPARE_SWAPS: dict[type, type] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}
BOOL_SWAPS: dict[type, type] = {ast.And: ast.Or, ast.Or: ast.And}

# Degenerate answers, appended to the mutated module. A forward (or function) keeps its
# original as ``_audit_original_<name>`` and returns a trivial transform of what it gives.
HELPERS = """

def _audit_zeros(value):
    import torch
    if isinstance(value, torch.Tensor):
        return torch.zeros_like(value)
    if isinstance(value, torch.nn.Module):
        return torch.nn.Sequential()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return type(value)(0)
    if isinstance(value, (list, tuple)):
        return type(value)(_audit_zeros(v) for v in value)
    if isinstance(value, dict):
        return type(value)((k, _audit_zeros(v)) for k, v in value.items())
    return None


def _audit_write_zeros(args):
    import torch
    if args and isinstance(args[0], torch.nn.Module):
        with torch.no_grad():
            for p in args[0].parameters():
                p.zero_()


_audit_first = {}


def _audit_constant(name, compute):
    if name not in _audit_first:
        _audit_first[name] = compute()
    return _audit_first[name]


def _audit_unregister(module):
    for table in ("_parameters", "_modules"):
        for key, value in list(getattr(module, table).items()):
            del getattr(module, table)[key]
            object.__setattr__(module, key, value)
"""

# kind -> the return expression of a degenerate forward (``out``: the original's output).
FORWARD_DEGENERATES = {
    "returns zeros": "torch.zeros_like(out)",
    "returns zeros that carry gradients": "out - out.detach()",
    "returns a constant": "torch.full_like(out, 0.5)",
    "returns the input unchanged": "args[0]",
    "returns a detached copy": "out.detach().clone()",
}
# kind -> the body of a degenerate function (``original``: the function as written). Which
# apply depends on the function: see ``_function_degenerates``.
FUNCTION_DEGENERATES = {
    "returns None": "return None",
    "returns the input unchanged": "return args[0]",
    "returns zeros (an empty module for a module)": "return _audit_zeros(original(*args, **kwargs))",
    "writes zeros into its module": "return _audit_write_zeros(args)",
    "returns a constant (its first answer)": "return _audit_constant({name!r}, lambda: original(*args, **kwargs))",  # noqa: E501
}


@dataclass(frozen=True)
class Mutant:
    """One wrong answer: the API name whose code changed, a stable name, the full source."""

    target: str
    kind: str  # "operator", "constant", "statement dropped", ..., or "degenerate"
    name: str  # "<qualname>: <statement before> -> <after>", or "<API name>: <degenerate kind>"
    source: str
    affected: tuple[str, ...] = ()  # the API names whose code uses the changed one (itself first)


def api_names(judge_sources: list[str]) -> list[str]:
    """The API names the judges target: first arguments of ``@check(...)``, split at "/"."""
    names: list[str] = []
    for text in judge_sources:
        for node in ast.walk(ast.parse(text)):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "check"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                names += [n for n in node.args[0].value.split("/") if n not in names]
    return names


def mutants(source: str, targets: list[str]) -> list[Mutant]:
    """Every one-edit mutant of ``source`` inside the definitions of ``targets``, then the
    degenerate answers of each target; none twice, none equal to the original."""
    tree = ast.parse(source)
    original = ast.unparse(tree)
    users = _users(tree, targets)
    found: dict[str, Mutant] = {}
    names: dict[str, int] = {}
    for mutant in [*_edits(tree, targets), *_degenerates(tree, targets)]:
        if mutant.source == original or mutant.source in found:
            continue
        names[mutant.name] = names.get(mutant.name, 0) + 1
        name = mutant.name if names[mutant.name] == 1 else f"{mutant.name} (#{names[mutant.name]})"
        found[mutant.source] = Mutant(mutant.target, mutant.kind, name, mutant.source, users[mutant.target])
    return list(found.values())


def _users(tree: ast.Module, targets: list[str]) -> dict[str, tuple[str, ...]]:
    """API name -> itself and the API names whose definitions use it, directly or through
    other top-level definitions: the only checks a change to it can move."""
    defined = {node.name: node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    uses = {
        name: {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in defined} - {name}
        for name, node in defined.items()
    }

    def reaches(name: str, wanted: str, seen: set[str]) -> bool:
        if wanted in uses[name]:
            return True
        seen.add(name)
        return any(reaches(other, wanted, seen) for other in uses[name] - seen)

    return {
        t: (t, *(other for other in targets if other != t and other in defined and reaches(other, t, set())))
        for t in targets
    }


# -- one-edit mutants --------------------------------------------------------------------------


@dataclass
class _Site:
    """Where an edit can go: a node (by its index in ``ast.walk``) inside one API definition."""

    index: int
    target: str
    qualname: str
    statement: ast.stmt


def _sites(tree: ast.Module, targets: list[str]) -> list[_Site]:
    order = {id(node): i for i, node in enumerate(ast.walk(tree))}
    sites: list[_Site] = []

    def visit(node: ast.AST, target: str, qualname: str, statement: ast.stmt) -> None:
        for child in ast.iter_child_nodes(node):
            inner = qualname
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                inner = f"{qualname}.{child.name}"
            sites.append(
                _Site(order[id(child)], target, inner, child if isinstance(child, ast.stmt) else statement)
            )
            visit(child, target, inner, child if isinstance(child, ast.stmt) else statement)

    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in targets:
            sites.append(_Site(order[id(node)], node.name, node.name, node))
            visit(node, node.name, node.name, node)
    return sites


Edit = Callable[[ast.AST], bool]  # changes the node in place; False when it does not apply


def _edits(tree: ast.Module, targets: list[str]) -> Iterator[Mutant]:
    walked = list(ast.walk(tree))
    where = {id(node): i for i, node in enumerate(walked)}
    for site in _sites(tree, targets):
        before = _first_line(site.statement)
        for kind, edit, dropped in _edits_of(walked[site.index]):
            copied = copy.deepcopy(tree)
            nodes = list(ast.walk(copied))
            statement = nodes[where[id(site.statement)]]
            if not edit(nodes[site.index]):
                continue
            change = f"{dropped} -> (dropped)" if dropped else f"{before} -> {_first_line(statement)}"
            yield Mutant(site.target, kind, f"{site.qualname}: {change}", ast.unparse(copied))


def _edits_of(node: ast.AST) -> Iterator[tuple[str, Edit, str]]:
    """(kind, edit, the statement it drops or "") for each edit that applies to ``node``."""
    if isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in BINARY_SWAPS:
        yield "operator", lambda n: _set(n, "op", BINARY_SWAPS[type(n.op)]()), ""
    if isinstance(node, ast.BoolOp):
        yield "operator", lambda n: _set(n, "op", BOOL_SWAPS[type(n.op)]()), ""
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in COMPARE_SWAPS:
                yield "comparison", lambda n, i=i: _replace_at(n.ops, i, COMPARE_SWAPS[type(n.ops[i])]()), ""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool):
            yield "True/False flipped", lambda n: _set(n, "value", not n.value), ""
        elif isinstance(node.value, (int, float)):
            yield "constant nudged", lambda n: _set(n, "value", _nudge(n.value)), ""
    if isinstance(node, ast.Call):
        for i in range(len(node.keywords)):
            yield "keyword dropped", lambda n, i=i: bool(n.keywords.pop(i)) or True, ""
        positional = [a for a in node.args if not isinstance(a, ast.Starred)]
        for i in range(len(positional) - 1):
            yield "arguments swapped", lambda n, i=i: _swap(n.args, i), ""
    for field in ("body", "orelse", "finalbody"):
        body = getattr(node, field, None)
        if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
            for i in range(len(body)):
                if not _is_docstring(node, field, i) and not isinstance(
                    body[i], (ast.FunctionDef, ast.ClassDef)
                ):
                    yield (
                        "statement dropped",
                        lambda n, i=i, field=field: _drop(getattr(n, field), i),
                        _first_line(body[i]),
                    )


def _set(node: ast.AST, field: str, value: object) -> bool:
    setattr(node, field, value)
    return True


def _replace_at(items: list[ast.AST], i: int, value: ast.AST) -> bool:
    items[i] = value
    return True


def _nudge(value: int | float) -> int | float:
    if isinstance(value, int):
        return value + 1
    return value * 2 if value else 1.0


def _swap(args: list[ast.expr], i: int) -> bool:
    if ast.dump(args[i]) == ast.dump(args[i + 1]) or isinstance(args[i + 1], ast.Starred):
        return False
    args[i], args[i + 1] = args[i + 1], args[i]
    return True


def _drop(body: list[ast.stmt], i: int) -> bool:
    if len(body) == 1:
        body[0] = ast.Pass()
    else:
        del body[i]
    return True


def _is_docstring(node: ast.AST, field: str, i: int) -> bool:
    body = getattr(node, field)
    return (
        field == "body"
        and i == 0
        and isinstance(node, (ast.FunctionDef, ast.ClassDef))
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    )


def _first_line(statement: ast.stmt) -> str:
    text = ast.unparse(statement).splitlines()[0] if not isinstance(statement, ast.Pass) else "pass"
    return text if len(text) <= 100 else text[:97] + "..."


# -- degenerate answers ------------------------------------------------------------------------


def _degenerates(tree: ast.Module, targets: list[str]) -> Iterator[Mutant]:
    for i, node in enumerate(tree.body):
        if not (isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in targets):
            continue
        if isinstance(node, ast.FunctionDef):
            for kind in _function_degenerates(node):
                body = FUNCTION_DEGENERATES[kind]
                yield _degenerate(tree, node.name, kind, lambda t, i=i, body=body: _wrap_function(t, i, body))
            continue
        methods = {m.name: m for m in node.body if isinstance(m, ast.FunctionDef)}
        if "forward" in methods:
            for kind, expression in FORWARD_DEGENERATES.items():
                yield _degenerate(tree, node.name, kind, lambda t, i=i, e=expression: _wrap_forward(t, i, e))
        if "__init__" in methods:
            yield _degenerate(
                tree, node.name, "parameters and submodules not registered", lambda t, i=i: _unregister(t, i)
            )


def _function_degenerates(function: ast.FunctionDef) -> list[str]:
    """A function that returns a value gets zeros instead; one that returns nothing (it
    changes or writes what it is given) writes zeros into its module argument instead.
    Only a function of arguments has an input to return, or a constant answer to give."""
    returns = any(
        isinstance(n, ast.Return)
        and n.value is not None
        and not (isinstance(n.value, ast.Constant) and n.value.value is None)
        for n in ast.walk(function)
    )
    kinds = ["returns None"]
    kinds += ["returns zeros (an empty module for a module)"] if returns else ["writes zeros into its module"]
    if function.args.args:
        kinds += ["returns the input unchanged", "returns a constant (its first answer)"]
    return kinds


def _degenerate(tree: ast.Module, target: str, kind: str, change: Callable[[ast.Module], None]) -> Mutant:
    copied = copy.deepcopy(tree)
    change(copied)
    return Mutant(target, "degenerate", f"{target}: {kind}", ast.unparse(copied) + "\n" + HELPERS)


def _wrap_function(tree: ast.Module, i: int, body: str) -> None:
    function = tree.body[i]
    name = function.name
    function.name = f"_audit_original_{name}"
    wrapper = ast.parse(
        f"def {name}(*args, **kwargs):\n    original = {function.name}\n    {body.format(name=name)}\n"
    ).body[0]
    tree.body.insert(i + 1, wrapper)


def _wrap_forward(tree: ast.Module, i: int, expression: str) -> None:
    cls = tree.body[i]
    for j, method in enumerate(cls.body):
        if isinstance(method, ast.FunctionDef) and method.name == "forward":
            method.name = "_audit_original_forward"
            wrapper = ast.parse(
                "def forward(self, *args, **kwargs):\n    import torch\n"
                "    out = self._audit_original_forward(*args, **kwargs)\n"
                f"    return {expression}\n"
            ).body[0]
            cls.body.insert(j + 1, wrapper)
            return


def _unregister(tree: ast.Module, i: int) -> None:
    for method in tree.body[i].body:
        if isinstance(method, ast.FunctionDef) and method.name == "__init__":
            method.body.append(ast.parse("_audit_unregister(self)").body[0])
