"""Python's scopes, for the cell walk: a scope's kind and names, and which names a function
body makes local (any assignment does, before the body runs; ``global``/``nonlocal`` redirect)."""

from __future__ import annotations

import ast

from nb2pipe.analysis.facts import children

COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


class Scope:
    __slots__ = ("kind", "locals", "globals", "nonlocals", "parent")

    def __init__(self, kind: str, parent: Scope | None, local: set[str] | None = None,
                 globals_: set[str] | None = None, nonlocals: set[str] | None = None) -> None:
        self.kind = kind
        self.parent = parent
        self.locals = local if local is not None else set()
        self.globals = globals_ or set()
        self.nonlocals = nonlocals or set()


def is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and \
        isinstance(stmt.value.value, str)


def parameters(args: ast.arguments) -> set[str]:
    names = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)}
    if args.vararg is not None:
        names.add(args.vararg.arg)
    if args.kwarg is not None:
        names.add(args.kwarg.arg)
    return names


def local_names(body: list[ast.stmt]) -> tuple[set[str], set[str], set[str]]:
    """The names a function body binds, declares ``global`` and declares ``nonlocal``."""
    local: set[str] = set()
    globals_: set[str] = set()
    nonlocals: set[str] = set()
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is ast.Name:
            if not isinstance(node.ctx, ast.Load):
                local.add(node.id)
            continue
        if kind in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef):
            local.add(node.name)
            stack.extend(node.decorator_list)
            if kind is not ast.ClassDef:
                stack.extend(node.args.defaults)
                stack.extend(d for d in node.args.kw_defaults if d is not None)
            continue
        if kind is ast.Lambda:
            continue
        if kind in COMPREHENSIONS:
            # Only a walrus inside a comprehension binds here.
            stack.extend(n.target for n in ast.walk(node) if isinstance(n, ast.NamedExpr))
            stack.append(node.generators[0].iter)
            continue
        if kind is ast.Global:
            globals_.update(node.names)
            continue
        if kind is ast.Nonlocal:
            nonlocals.update(node.names)
            continue
        if kind is ast.Import or kind is ast.ImportFrom:
            for alias in node.names:
                if alias.name != "*":
                    local.add(alias.asname or alias.name.partition(".")[0])
            continue
        if kind is ast.ExceptHandler and node.name:
            local.add(node.name)
        elif kind.__name__ in ("MatchAs", "MatchStar") and node.name:
            local.add(node.name)
        elif kind.__name__ == "MatchMapping" and node.rest:
            local.add(node.rest)
        stack.extend(children(node))
    return local, globals_, nonlocals


def statement_locals(body: list[ast.stmt]) -> tuple[set[str], set[str], set[str]]:
    """:func:`local_names` for code without ``:=``: then only statements bind, and the
    expressions need not be walked."""
    local: set[str] = set()
    globals_: set[str] = set()
    nonlocals: set[str] = set()
    stack: list[ast.stmt] = list(body)
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is ast.Assign:
            for target in node.targets:
                target_names(target, local)
        elif kind is ast.AugAssign or kind is ast.AnnAssign:
            target_names(node.target, local)
        elif kind is ast.For or kind is ast.AsyncFor:
            target_names(node.target, local)
            stack.extend(node.body)
            stack.extend(node.orelse)
        elif kind is ast.If or kind is ast.While:
            stack.extend(node.body)
            stack.extend(node.orelse)
        elif kind is ast.With or kind is ast.AsyncWith:
            for item in node.items:
                if item.optional_vars is not None:
                    target_names(item.optional_vars, local)
            stack.extend(node.body)
        elif kind in TRIES:
            stack.extend(node.body)
            for handler in node.handlers:
                if handler.name:
                    local.add(handler.name)
                stack.extend(handler.body)
            stack.extend(node.orelse)
            stack.extend(node.finalbody)
        elif kind in DEFINITIONS:
            local.add(node.name)
        elif kind is ast.Import or kind is ast.ImportFrom:
            for alias in node.names:
                if alias.name != "*":
                    local.add(alias.asname or alias.name.partition(".")[0])
        elif kind is ast.Global:
            globals_.update(node.names)
        elif kind is ast.Nonlocal:
            nonlocals.update(node.names)
        elif kind is ast.Delete:
            for target in node.targets:
                target_names(target, local)
        elif kind.__name__ == "Match":
            for case in node.cases:
                for child in ast.walk(case.pattern):
                    name = getattr(child, "rest" if type(child).__name__ == "MatchMapping"
                                   else "name", None)
                    if isinstance(name, str):
                        local.add(name)
                stack.extend(case.body)
    return local, globals_, nonlocals


def target_names(node: ast.expr, local: set[str]) -> None:
    """The names an assignment target binds (``a``, ``b`` in ``a, *b = …``; none in
    ``a[i] = …``)."""
    kind = type(node)
    if kind is ast.Name:
        local.add(node.id)
    elif kind is ast.Tuple or kind is ast.List:
        for element in node.elts:
            target_names(element, local)
    elif kind is ast.Starred:
        target_names(node.value, local)


TRIES = tuple(getattr(ast, name) for name in ("Try", "TryStar") if hasattr(ast, name))
DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
