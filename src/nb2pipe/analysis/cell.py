"""Scope-aware facts about one cell, gathered in a single walk of its syntax tree.

For each code cell this answers: which notebook-level (global) names the cell binds and reads, in
what order; which names are read only inside function, lambda or method bodies (and so are read
when those are *called*, not when they are defined); which names are mutated through attributes,
subscripts or mutating methods (``df["x"] = …``, ``model.fit(…)``); and the calls, imports,
string literals and assignments that the lint rules look at. One walk serves every rule, which
keeps a median notebook well under the 5 ms budget.

Python's scoping rules are followed: a function's locals are known before its body runs (any
assignment makes a name local), ``global``/``nonlocal`` redirect bindings, class bodies are not
visible from methods, comprehensions have their own scope except that their first iterable is
evaluated outside and a walrus binds in the enclosing scope, and ``except … as e`` and ``match``
captures bind. At notebook level, bindings are positional: a read that comes before any binding of
the name in the same cell needs the name from an earlier cell.

Limitations: code run through ``exec``, ``globals()[...]`` or ``%run`` is not followed (the cell is
marked ``dynamic`` instead); attribute access on modules and objects is not resolved.
"""

from __future__ import annotations

import ast

from nb2pipe.analysis.expressions import Expressions
from nb2pipe.analysis.facts import (
    Assignment,
    CellFacts,
    Deferred,
    ImportFact,
    Read,
    StringFact,
    base_name,
    dotted_name,
    shared_objects_of,
)
from nb2pipe.analysis.scopes import (
    Scope,
    is_docstring,
    local_names,
    parameters,
    statement_locals,
)

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)

_HANDLERS: dict[type, object] = {}


def python3_truth(test: ast.expr) -> bool | None:
    """Whether a version test is always true (``True``) or always false (``False``) on
    Python 3, or ``None`` when it is not such a test: ``sys.version_info < (3, 0)``,
    ``sys.version_info[0] == 2``, ``sys.version_info.major >= 3``, ``six.PY2``, ``PY3``."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = python3_truth(test.operand)
        return None if inner is None else not inner
    name = dotted_name(test)
    if name in ("six.PY2", "PY2"):
        return False
    if name in ("six.PY3", "PY3"):
        return True
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return None
    left, op, right = test.left, test.ops[0], test.comparators[0]
    major = None
    if dotted_name(left) == "sys.version_info" and isinstance(right, ast.Tuple) and \
            right.elts and isinstance(right.elts[0], ast.Constant):
        major = right.elts[0].value
        version = tuple(e.value for e in right.elts if isinstance(e, ast.Constant))
        if major == 3 and any(v != 0 for v in version[1:]):
            return None  # `< (3, 8)`: depends on the minor version
    elif (dotted_name(left) == "sys.version_info.major" or
          isinstance(left, ast.Subscript) and dotted_name(left.value) == "sys.version_info" and
          isinstance(left.slice, ast.Constant) and left.slice.value == 0) and \
            isinstance(right, ast.Constant):
        major = right.value
    if not isinstance(major, int) or isinstance(major, bool):
        return None
    here = 3
    if isinstance(op, ast.Lt):
        return here < major
    if isinstance(op, ast.LtE):
        return here <= major if major != 3 else None
    if isinstance(op, ast.Gt):
        return here > major if major != 3 else None
    if isinstance(op, ast.GtE):
        return here >= major
    if isinstance(op, ast.Eq):
        return here == major if major != 3 else None
    if isinstance(op, ast.NotEq):
        return here != major if major != 3 else None
    return None


def _positional(args: ast.arguments) -> list[str]:
    return [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]


def analyse_cell(tree: ast.Module, col_shift: dict[int, int] | None = None,
                 source: str | None = None, lazy_annotations: bool = False) -> CellFacts:
    """Gather the facts of one parsed cell. With its ``source``, a cell without ``:=`` is
    analysed faster (only statements can then bind a function's locals). With
    ``lazy_annotations`` (an earlier cell ran ``from __future__ import annotations``, which
    IPython keeps for the cells after it), annotations read nothing."""
    visitor = _Visitor(col_shift or {}, source is None or ":=" in source, lazy_annotations)
    visitor.run(tree)
    return visitor.facts


class _Visitor(Expressions):
    def __init__(self, col_shift: dict[int, int], walrus: bool = True,
                 lazy_annotations: bool = False) -> None:
        self.facts = CellFacts()
        self.lazy_annotations = lazy_annotations
        self.walrus = walrus  # whether an expression may bind a name (`(n := len(a))`)
        self.col_shift = col_shift
        self.scope = Scope("module", None)
        self.owner: Deferred | None = None
        self.on_call = False
        self.loop = 0
        self.string_context: str | None = None
        self.changed: list[str] = []  # every name changed in place, in order (any scope)
        self.guarded = 0  # inside `try:` bodies whose handlers catch NameError

    # -- entry -----------------------------------------------------------------------------

    def run(self, tree: ast.Module) -> None:
        facts = self.facts
        facts.statements = len(tree.body)
        for index, stmt in enumerate(tree.body):
            if index == 0 and is_docstring(stmt):
                facts.strings.append(StringFact(stmt.value.value, stmt.value, None, True))
                continue
            self.stmt(stmt, top=True)
        bound = facts.binds
        # A read inside a loop is satisfied by a binding later in the same loop's cell.
        facts.external = [r for r in facts.external if not (r.loop and r.name in bound)]

    # -- bindings and reads ----------------------------------------------------------------

    def col(self, node: ast.AST) -> int:
        return node.col_offset + 1 + self.col_shift.get(node.lineno, 0)

    def at_module(self) -> bool:
        """Whether code here runs now, at notebook level (not deferred in a body)."""
        return self.owner is None and self.scope.kind != "function"

    def bind(self, name: str, node: ast.AST) -> None:
        scope = self.scope
        if scope.kind == "module" or (scope.kind != "class" and name in scope.globals):
            if self.owner is not None:
                self.owner.global_binds.add(name)
            else:
                facts = self.facts
                facts.binds.setdefault(name, node.lineno)
                facts.bind_counts[name] = facts.bind_counts.get(name, 0) + 1
                if facts.deleted:
                    facts.deleted.discard(name)
            return
        if scope.kind == "comprehension" and name not in scope.locals:
            # A walrus inside a comprehension binds in the enclosing scope.
            outer = scope.parent
            while outer is not None and outer.kind == "comprehension":
                outer = outer.parent
            if outer is not None and outer.kind == "module" and self.owner is None:
                self.facts.binds.setdefault(name, node.lineno)
            return
        scope.locals.add(name)

    def read(self, name: str, node: ast.AST) -> None:
        if self.scope.kind != "module" and not self.is_global(name):
            return
        shift = self.col_shift
        line = node.lineno
        read = Read(name, line, node.col_offset + 1 + (shift.get(line, 0) if shift else 0),
                    self.loop > 0)
        owner = self.owner
        if owner is not None:
            owner.free.append(read)
            if self.on_call:
                owner.on_call.append(read)
            return
        facts = self.facts
        facts.reads.append(read)
        if name not in facts.binds and not self.guarded:
            facts.external.append(read)

    def is_global(self, name: str) -> bool:
        scope = self.scope
        first = True
        while scope is not None and scope.kind != "module":
            if scope.kind == "class":
                if first and name in scope.locals:
                    return False
            elif name in scope.globals:
                return True
            elif name in scope.locals or name in scope.nonlocals:
                return False
            first = False
            scope = scope.parent
        return True

    def mutate(self, node: ast.AST) -> None:
        name = base_name(node)
        if name is None:
            return
        self.changed.append(name)
        owner = self.owner
        if owner is not None and self.scope.kind == "function":
            if name in self.scope.locals:
                owner.mutated_params |= {name} if name in owner.params or name == "self" \
                    else owner.aliases.get(name, set())
        if not self.is_global(name):
            return
        if self.owner is not None:
            self.owner.mutates.add(name)
        else:
            self.facts.mutated.setdefault(name, node.lineno)

    # -- statements ------------------------------------------------------------------------

    def body(self, stmts: list[ast.stmt]) -> None:
        for stmt in stmts:
            self.stmt(stmt, top=False)

    def stmt(self, node: ast.stmt, top: bool = False) -> None:
        kind = type(node)
        method = _HANDLERS.get(kind)
        if method is None:
            method = _HANDLERS[kind] = getattr(_Visitor, "stmt_" + kind.__name__,
                                               _Visitor.generic_stmt)
        method(self, node, top)

    def generic_stmt(self, node: ast.stmt, top: bool) -> None:
        self.generic(node)

    def stmt_Expr(self, node: ast.Expr, top: bool) -> None:
        self.expr(node.value)

    def local_alias(self, targets: list[ast.expr], value: ast.expr | None) -> None:
        """Inside a notebook function: a local bound to (or holding) a parameter's object
        changes the caller's argument when it is changed."""
        owner = self.owner
        if owner is None or value is None or self.scope.kind != "function":
            return
        held: set[str] = set()
        for name in shared_objects_of(value):
            held |= owner.aliases.get(name, {name} if name in owner.params or name == "self"
                                      else set())
        if not held:
            return
        for target in targets:
            for node in ast.walk(target):
                if isinstance(node, ast.Name):
                    owner.aliases[node.id] = owner.aliases.get(node.id, set()) | held

    def stmt_Assign(self, node: ast.Assign, top: bool) -> None:
        self.local_alias(node.targets, node.value)
        context = None
        if len(node.targets) == 1:
            context = _target_label(node.targets[0])
        self.expr(node.value, context)
        if isinstance(node.value, ast.Call):
            self.facts.call_targets[id(node.value)] = node.targets
        for target in node.targets:
            self.target(target)
        if self.at_module() and self.scope.kind == "module":
            for target in node.targets:
                if isinstance(target, ast.Name):
                    self.facts.assignments.append(Assignment(target.id, node.value, node, top))
                elif isinstance(target, (ast.Attribute, ast.Subscript)):
                    holder = base_name(target)
                    if holder is not None:
                        self.facts.stores.append((holder, node.value))

    def stmt_AnnAssign(self, node: ast.AnnAssign, top: bool) -> None:
        if node.value is not None:
            self.expr(node.value, _target_label(node.target))
        if self.scope.kind != "function":
            self.annotation(node.annotation)
        if node.value is not None or not isinstance(node.target, ast.Name):
            self.target(node.target)
            if (node.value is not None and isinstance(node.target, ast.Name)
                    and self.at_module() and self.scope.kind == "module"):
                self.facts.assignments.append(Assignment(node.target.id, node.value, node, top))

    def stmt_AugAssign(self, node: ast.AugAssign, top: bool) -> None:
        self.expr(node.value)
        target = node.target
        if isinstance(target, ast.Name):
            self.read(target.id, target)
            self.bind(target.id, target)
        else:
            self.expr(target)
            self.mutate(target)

    def stmt_Delete(self, node: ast.Delete, top: bool) -> None:
        for target in node.targets:
            if isinstance(target, ast.Name):
                self.read(target.id, target)
                if self.at_module():
                    self.facts.deleted.add(target.id)
            else:
                self.expr(target)
                self.mutate(target)

    def stmt_For(self, node: ast.For | ast.AsyncFor, top: bool) -> None:
        self.facts.loops.append(node)
        self.expr(node.iter)
        self.loop += 1
        self.target(node.target)
        start = len(self.changed)
        self.body(node.body)
        self.loop -= 1
        # Changing the loop variable in place changes an element of what is iterated:
        # `for row in rows: row.append(0)`, `for x in np.nditer(a, op_flags=["readwrite"])`.
        targets = {n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)}
        if targets & set(self.changed[start:]):
            for name in _iterated(node.iter):
                self.mutate(ast.Name(id=name, lineno=node.lineno, col_offset=node.col_offset))
        self.body(node.orelse)

    stmt_AsyncFor = stmt_For

    def stmt_While(self, node: ast.While, top: bool) -> None:
        self.facts.loops.append(node)
        self.loop += 1
        self.expr(node.test)
        self.body(node.body)
        self.loop -= 1
        self.body(node.orelse)

    def stmt_If(self, node: ast.If, top: bool) -> None:
        self.expr(node.test)
        # a version guard that cannot hold on Python 3 (`if sys.version_info < (3, 0):`)
        # guards dead code: no rule and no step sees its reads and bindings
        holds = python3_truth(node.test)
        if holds is not False:
            self.body(node.body)
        if holds is not True:
            self.body(node.orelse)

    def stmt_With(self, node: ast.With | ast.AsyncWith, top: bool) -> None:
        for item in node.items:
            self.expr(item.context_expr)
            if item.optional_vars is not None:
                self.target(item.optional_vars)
        self.body(node.body)

    stmt_AsyncWith = stmt_With

    def stmt_Try(self, node: ast.Try, top: bool) -> None:
        # `try: model` / `except NameError: model = train()`: reads in such a body are
        # guarded; a name missing there is expected, not a bug.
        guarded = any(handler.type is None or any(
            isinstance(n, ast.Name) and n.id in ("NameError", "Exception", "BaseException")
            for n in ast.walk(handler.type)) for handler in node.handlers)
        self.guarded += guarded
        self.body(node.body)
        self.guarded -= guarded
        for handler in node.handlers:
            if handler.type is not None:
                self.expr(handler.type)
            fresh = handler.name and handler.name not in self.facts.binds
            if handler.name:
                self.bind(handler.name, handler)
            self.body(handler.body)
            if fresh and self.at_module():
                # Python deletes the name when the handler ends.
                self.facts.binds.pop(handler.name, None)
                self.facts.bind_counts.pop(handler.name, None)
        self.body(node.orelse)
        self.body(node.finalbody)

    stmt_TryStar = stmt_Try

    def stmt_Import(self, node: ast.Import, top: bool) -> None:
        for alias in node.names:
            bound = alias.asname or alias.name.partition(".")[0]
            module = alias.name if alias.asname else bound
            self.facts.imports.append(ImportFact(alias.name if alias.asname else module, None,
                                                 bound, node, self.scope.kind == "module"))
            self.bind(bound, node)

    def stmt_ImportFrom(self, node: ast.ImportFrom, top: bool) -> None:
        module = "." * (node.level or 0) + (node.module or "")
        if module == "__future__" and any(a.name == "annotations" for a in node.names):
            self.lazy_annotations = self.facts.future_annotations = True
        for alias in node.names:
            if alias.name == "*":
                self.facts.imports.append(ImportFact(module, "*", "*", node,
                                                     self.scope.kind == "module"))
                if self.at_module():
                    self.facts.wildcard = True
                continue
            bound = alias.asname or alias.name
            self.facts.imports.append(ImportFact(module, alias.name, bound, node,
                                                 self.scope.kind == "module"))
            self.bind(bound, node)

    def stmt_Global(self, node: ast.Global, top: bool) -> None:
        pass  # collected by the pre-pass of the enclosing function

    stmt_Nonlocal = stmt_Global

    def stmt_Return(self, node: ast.Return, top: bool) -> None:
        if node.value is not None:
            self.expr(node.value)

    def stmt_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef, top: bool) -> None:
        self.facts.definitions += 1
        for decorator in node.decorator_list:
            self.expr(decorator)
        self.arguments(node.args)
        if node.returns is not None:
            self.annotation(node.returns)
        self.bind(node.name, node)
        self.function_body(node.name, node, node.args, node.body, "function")

    stmt_AsyncFunctionDef = stmt_FunctionDef

    def stmt_ClassDef(self, node: ast.ClassDef, top: bool) -> None:
        self.facts.definitions += 1
        for decorator in node.decorator_list:
            self.expr(decorator)
        for base in node.bases:
            self.expr(base)
        for keyword in node.keywords:
            self.expr(keyword.value)
        outer_scope = self.scope
        owner = None
        if self.owner is None and outer_scope.kind == "module":
            owner = Deferred(node.name, "class", node.lineno)
        self.scope = Scope("class", outer_scope)
        for stmt in node.body:
            if isinstance(stmt, _FUNCTIONS) and owner is not None:
                for decorator in stmt.decorator_list:
                    self.expr(decorator)
                self.arguments(stmt.args)
                self.scope.locals.add(stmt.name)
                saved = self.owner, self.on_call
                self.owner, self.on_call = owner, stmt.name == "__init__"
                if stmt.name == "__init__":
                    owner.params = _positional(stmt.args)[1:]
                self.facts.definitions += 1
                self.function_scope(stmt.args, stmt.body)
                self.owner, self.on_call = saved
            elif is_docstring(stmt):
                self.facts.strings.append(StringFact(stmt.value.value, stmt.value, None, True))
            else:
                self.stmt(stmt)
        self.scope = outer_scope
        self.bind(node.name, node)
        if owner is not None:
            self.facts.deferred[node.name] = owner

    def function_body(self, name: str, node: ast.AST, args: ast.arguments,
                      body: list[ast.stmt], kind: str) -> None:
        if self.owner is None and self.scope.kind == "module":
            owner = Deferred(name, kind, node.lineno)
            owner.params = _positional(args)
            saved = self.owner, self.on_call
            self.owner, self.on_call = owner, True
            self.function_scope(args, body)
            self.owner, self.on_call = saved
            existing = self.facts.deferred.get(name)
            if existing is not None:  # redefined in the same cell: either body may run
                owner.free = existing.free + owner.free
                owner.on_call = existing.on_call + owner.on_call
                owner.global_binds |= existing.global_binds
                owner.mutates |= existing.mutates
                owner.mutated_params |= existing.mutated_params
                owner.calls = existing.calls + owner.calls
            self.facts.deferred[name] = owner
        else:
            self.function_scope(args, body)

    def function_scope(self, args: ast.arguments, body: list[ast.stmt] | ast.expr) -> None:
        stmts = body if isinstance(body, list) else [ast.Expr(body)]
        local, globals_, nonlocals = local_names(stmts) if self.walrus else \
            statement_locals(stmts)
        local |= parameters(args)
        local -= globals_
        local -= nonlocals
        outer = self.scope
        self.scope = Scope("function", outer, local, globals_, nonlocals)
        loop, self.loop = self.loop, 0
        if isinstance(body, list):
            for index, stmt in enumerate(body):
                if index == 0 and is_docstring(stmt):
                    self.facts.strings.append(StringFact(stmt.value.value, stmt.value, None, True))
                    continue
                self.stmt(stmt)
        else:
            self.expr(body)
        self.loop = loop
        self.scope = outer

    def arguments(self, args: ast.arguments) -> None:
        for default in args.defaults:
            self.expr(default)
        for default in args.kw_defaults:
            if default is not None:
                self.expr(default)
        for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
            if arg is not None and arg.annotation is not None:
                self.annotation(arg.annotation)

    def annotation(self, node: ast.expr) -> None:
        if not self.lazy_annotations:
            self.expr(node)

    def stmt_Match(self, node: ast.AST, top: bool) -> None:
        self.expr(node.subject)
        for case in node.cases:
            self.pattern(case.pattern)
            if case.guard is not None:
                self.expr(case.guard)
            self.body(case.body)

    def pattern(self, node: ast.AST) -> None:
        for child in ast.walk(node):
            name = getattr(child, "name", None) if type(child).__name__ in ("MatchAs", "MatchStar") \
                else getattr(child, "rest", None) if type(child).__name__ == "MatchMapping" else None
            if name:
                self.bind(name, child)
            if type(child).__name__ == "MatchValue":
                self.expr(child.value)
            elif type(child).__name__ == "MatchClass":
                self.expr(child.cls)

    def generic(self, node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                self.stmt(child)
            elif isinstance(child, ast.expr):
                self.expr(child)


def _iterated(node: ast.expr) -> set[str]:
    """The names whose elements a loop over ``node`` visits: ``rows``, ``a`` in
    ``np.nditer(a)``, ``a`` and ``b`` in ``zip(a, b)``, ``d`` in ``d.values()``."""
    if isinstance(node, (ast.List, ast.Tuple)):
        return set().union(*(_iterated(e) for e in node.elts)) if node.elts else set()
    if isinstance(node, ast.Call):
        found = set().union(*(_iterated(a) for a in node.args)) if node.args else set()
        if isinstance(node.func, ast.Attribute) and not isinstance(node.func.value, ast.Name) \
                or isinstance(node.func, ast.Attribute) and node.func.attr in (
                    "values", "items", "iterrows", "itertuples", "flat"):
            found |= _iterated(node.func.value)
        return found
    name = base_name(node)
    return {name} if name else set()


def _target_label(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and \
            isinstance(node.slice.value, str):
        return node.slice.value
    return None

