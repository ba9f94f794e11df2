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
from dataclasses import dataclass, field
from typing import NamedTuple

#: Methods that change their receiver in place (the receiver counts as mutated).
MUTATING_METHODS = frozenset({
    "append", "extend", "insert", "pop", "remove", "clear", "update", "add", "discard",
    "sort", "reverse", "setdefault", "popitem", "fit", "partial_fit", "fit_transform",
    "fit_predict", "compile", "train", "set_params", "load_state_dict", "to", "cuda",
    "add_module", "register_buffer", "set_index", "reset_index", "rename", "drop",
    "fillna", "dropna", "replace", "sort_values", "sort_index", "set_axis", "astype",
    "set_title", "set_xlabel", "set_ylabel", "plot", "write", "close", "seek",
})
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


class Read(NamedTuple):
    """A read of a global name: where, and whether it happens inside a loop of the cell."""

    name: str
    line: int
    col: int  # 1-based
    loop: bool = False


class CallFact(NamedTuple):
    """A call, with the callee as written (``np.random.seed``), or ``None`` if not dotted."""

    dotted: str | None
    attr: str | None  # the last attribute (``fit`` in ``make_model().fit(...)``)
    node: ast.Call
    in_function: bool


class ImportFact(NamedTuple):
    """One name bound by an import statement."""

    module: str  # ``numpy``, ``sklearn.ensemble``, or ``.utils`` for relative imports
    name: str | None  # the imported member for ``from`` imports
    bound: str  # the name bound in the notebook (``np``); ``*`` for wildcards
    node: ast.Import | ast.ImportFrom
    top_level: bool  # a module-level statement of the cell (not inside a function)


class StringFact(NamedTuple):
    """A string literal and the name it is given to (assignment target, keyword, dict key)."""

    value: str
    node: ast.Constant
    context: str | None
    docstring: bool


class Assignment(NamedTuple):
    """``NAME = value`` (or ``NAME: T = value``) at module level of the cell."""

    name: str
    value: ast.expr
    stmt: ast.stmt
    top: bool  # directly in the cell's body, not inside if/for/with/try


@dataclass
class Deferred:
    """The reads and bindings of code that runs later: a function, a lambda or a class's methods.

    ``free`` holds every global the body may read; ``on_call`` the ones read when the name itself
    is called (a function's body, a class's ``__init__``). Other methods run at unknown times.
    """

    name: str
    kind: str  # "function", "class" or "lambda"
    line: int
    free: list[Read] = field(default_factory=list)
    on_call: list[Read] = field(default_factory=list)
    global_binds: set[str] = field(default_factory=set)
    mutates: set[str] = field(default_factory=set)


@dataclass
class CellFacts:
    """Everything the analysis and the rules need to know about one cell."""

    binds: dict[str, int] = field(default_factory=dict)
    bind_counts: dict[str, int] = field(default_factory=dict)
    reads: list[Read] = field(default_factory=list)
    external: list[Read] = field(default_factory=list)
    direct_calls: list[Read] = field(default_factory=list)
    deferred: dict[str, Deferred] = field(default_factory=dict)
    mutated: dict[str, int] = field(default_factory=dict)
    #: names the cell deletes (`del x`) and does not bind again after
    deleted: set[str] = field(default_factory=set)
    imports: list[ImportFact] = field(default_factory=list)
    calls: list[CallFact] = field(default_factory=list)
    strings: list[StringFact] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)
    #: ``id(call)`` → the targets of ``targets = call(…)``, in any scope of the cell.
    call_targets: dict[int, list[ast.expr]] = field(default_factory=dict)
    #: every ``for`` and ``while`` statement of the cell, at any depth.
    loops: list[ast.stmt] = field(default_factory=list)
    wildcard: bool = False
    dynamic: bool = False
    statements: int = 0
    #: ``from __future__ import annotations``: from here on, IPython evaluates no annotation
    future_annotations: bool = False
    definitions: int = 0

    @property
    def needs(self) -> set[str]:
        """Names this cell needs from before it (read before it binds them)."""
        return {read.name for read in self.external}


def dotted_name(node: ast.AST) -> str | None:
    """``a.b.c`` for a chain of attributes on a name, else ``None``."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def base_name(node: ast.AST) -> str | None:
    """The name at the root of ``a.b[c].d``, or ``None``."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
        node = node.value
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return None
    return node.id if isinstance(node, ast.Name) else None


_HANDLERS: dict[type, object] = {}


class _Scope:
    __slots__ = ("kind", "locals", "globals", "nonlocals", "parent")

    def __init__(self, kind: str, parent: _Scope | None, local: set[str] | None = None,
                 globals_: set[str] | None = None, nonlocals: set[str] | None = None) -> None:
        self.kind = kind
        self.parent = parent
        self.locals = local if local is not None else set()
        self.globals = globals_ or set()
        self.nonlocals = nonlocals or set()


def analyse_cell(tree: ast.Module, col_shift: dict[int, int] | None = None,
                 source: str | None = None, lazy_annotations: bool = False) -> CellFacts:
    """Gather the facts of one parsed cell. With its ``source``, a cell without ``:=`` is
    analysed faster (only statements can then bind a function's locals). With
    ``lazy_annotations`` (an earlier cell ran ``from __future__ import annotations``, which
    IPython keeps for the cells after it), annotations read nothing."""
    visitor = _Visitor(col_shift or {}, source is None or ":=" in source, lazy_annotations)
    visitor.run(tree)
    return visitor.facts


class _Visitor:
    def __init__(self, col_shift: dict[int, int], walrus: bool = True,
                 lazy_annotations: bool = False) -> None:
        self.facts = CellFacts()
        self.lazy_annotations = lazy_annotations
        self.walrus = walrus  # whether an expression may bind a name (`(n := len(a))`)
        self.col_shift = col_shift
        self.scope = _Scope("module", None)
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
            if index == 0 and _is_docstring(stmt):
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
            method = _HANDLERS[kind] = getattr(_Visitor, "stmt_" + kind.__name__, _Visitor.generic_stmt)
        method(self, node, top)

    def generic_stmt(self, node: ast.stmt, top: bool) -> None:
        self.generic(node)

    def stmt_Expr(self, node: ast.Expr, top: bool) -> None:
        self.expr(node.value)

    def stmt_Assign(self, node: ast.Assign, top: bool) -> None:
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
        self.body(node.body)
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
        self.scope = _Scope("class", outer_scope)
        for stmt in node.body:
            if isinstance(stmt, _FUNCTIONS) and owner is not None:
                for decorator in stmt.decorator_list:
                    self.expr(decorator)
                self.arguments(stmt.args)
                self.scope.locals.add(stmt.name)
                saved = self.owner, self.on_call
                self.owner, self.on_call = owner, stmt.name == "__init__"
                self.facts.definitions += 1
                self.function_scope(stmt.args, stmt.body)
                self.owner, self.on_call = saved
            elif _is_docstring(stmt):
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
            self.facts.deferred[name] = owner
        else:
            self.function_scope(args, body)

    def function_scope(self, args: ast.arguments, body: list[ast.stmt] | ast.expr) -> None:
        stmts = body if isinstance(body, list) else [ast.Expr(body)]
        local, globals_, nonlocals = _local_names(stmts) if self.walrus else \
            _statement_locals(stmts)
        local |= _parameters(args)
        local -= globals_
        local -= nonlocals
        outer = self.scope
        self.scope = _Scope("function", outer, local, globals_, nonlocals)
        loop, self.loop = self.loop, 0
        if isinstance(body, list):
            for index, stmt in enumerate(body):
                if index == 0 and _is_docstring(stmt):
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

    # -- targets and expressions -----------------------------------------------------------

    def target(self, node: ast.expr) -> None:
        if isinstance(node, ast.Name):
            self.bind(node.id, node)
        elif isinstance(node, (ast.Tuple, ast.List)):
            for element in node.elts:
                self.target(element)
        elif isinstance(node, ast.Starred):
            self.target(node.value)
        elif isinstance(node, (ast.Attribute, ast.Subscript)):
            self.expr(node.value)
            if isinstance(node, ast.Subscript):
                self.expr(node.slice)
            self.mutate(node)
        else:
            self.expr(node)

    def expr(self, node: ast.expr, context: str | None = None) -> None:
        # An explicit stack keeps deep expressions from exhausting the recursion limit.
        stack: list[tuple[ast.AST, str | None]] = [(node, context)]
        push = stack.append
        pop = stack.pop
        while stack:
            node, context = pop()
            kind = type(node)
            if kind is ast.Name:
                ctx = type(node.ctx)
                if ctx is ast.Load:
                    self.read(node.id, node)
                elif ctx is ast.Store:
                    self.bind(node.id, node)
                continue
            if kind is ast.Constant:
                if type(node.value) is str:
                    self.facts.strings.append(StringFact(node.value, node, context, False))
                continue
            if kind is ast.Call:
                self.call(node, push)
                continue
            if kind is ast.Attribute:
                push((node.value, None))
                continue
            if kind is ast.Subscript:
                push((node.slice, None))
                push((node.value, None))
                continue
            if kind is ast.Dict:
                for key, value in zip(node.keys, node.values):
                    label = key.value if type(key) is ast.Constant and \
                        type(key.value) is str else None
                    push((value, label))
                    if key is not None:
                        push((key, None))
                continue
            if kind is ast.Lambda:
                self.arguments(node.args)
                self.lambda_(node, context)
                continue
            if kind in _COMPREHENSIONS:
                self.comprehension(node)
                continue
            if kind is ast.NamedExpr:
                push((node.target, None))
                push((node.value, None))
                continue
            inherited = context if kind is ast.JoinedStr else None
            fields = _EXPR_FIELDS.get(kind)
            if fields is None:
                fields = _EXPR_FIELDS[kind] = _expression_fields(kind)
            for name in fields:
                value = getattr(node, name, None)
                if type(value) is list:
                    for item in reversed(value):
                        if isinstance(item, ast.expr):
                            push((item, inherited))
                elif isinstance(value, ast.expr):
                    push((value, inherited))

    def call(self, node: ast.Call, push) -> None:
        func = node.func
        func_kind = type(func)
        if func_kind is ast.Name:
            dotted = func.id
            attr = None
        elif func_kind is ast.Attribute:
            attr = func.attr
            value = func.value
            dotted = f"{value.id}.{attr}" if type(value) is ast.Name else dotted_name(func)
        else:
            dotted = attr = None
        now = self.owner is None and self.scope.kind != "function"
        self.facts.calls.append(CallFact(dotted, attr, node, not now))
        keywords = node.keywords
        if func_kind is ast.Name:
            if now:
                if func.id in ("exec", "globals", "locals", "vars"):
                    self.facts.dynamic = True
                if self.is_global(func.id):
                    self.facts.direct_calls.append(Read(func.id, func.lineno, self.col(func)))
        elif attr is not None and (attr in MUTATING_METHODS or keywords and any(
                k.arg == "inplace" and type(k.value) is ast.Constant and k.value.value is True
                for k in keywords)):
            self.mutate(func.value)
        # Push in reverse so that reads come out in source order.
        for keyword in reversed(keywords):
            push((keyword.value, keyword.arg))
        for arg in reversed(node.args):
            push((arg, None))
        push((func, None))

    def lambda_(self, node: ast.Lambda, context: str | None) -> None:
        # ``f = lambda …`` at notebook level behaves like ``def f``; any other lambda is assumed
        # to be called where it stands (``df.apply(lambda r: …)``).
        if context and self.owner is None and self.scope.kind == "module" and \
                context.isidentifier():
            owner = Deferred(context, "lambda", node.lineno)
            saved = self.owner, self.on_call
            self.owner, self.on_call = owner, True
            self.function_scope(node.args, node.body)
            self.owner, self.on_call = saved
            self.facts.deferred[context] = owner
        else:
            self.function_scope(node.args, node.body)

    def comprehension(self, node: ast.AST) -> None:
        generators = node.generators
        self.expr(generators[0].iter)
        local: set[str] = set()
        for generator in generators:
            for child in ast.walk(generator.target):
                if isinstance(child, ast.Name):
                    local.add(child.id)
        outer = self.scope
        self.scope = _Scope("comprehension", outer, local)
        for number, generator in enumerate(generators):
            if number:
                self.expr(generator.iter)
            for condition in generator.ifs:
                self.expr(condition)
        if isinstance(node, ast.DictComp):
            self.expr(node.key)
            self.expr(node.value)
        else:
            self.expr(node.elt)
        self.scope = outer


#: per expression type, the fields that may hold expressions, last first (for the stack)
_EXPR_FIELDS: dict[type, tuple[str, ...]] = {}
_NOT_EXPRESSIONS = frozenset({"ctx", "op", "ops", "conversion", "kind", "type_comment"})


def _expression_fields(kind: type) -> tuple[str, ...]:
    return tuple(name for name in reversed(kind._fields) if name not in _NOT_EXPRESSIONS)


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


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and \
        isinstance(stmt.value.value, str)


def _parameters(args: ast.arguments) -> set[str]:
    names = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)}
    if args.vararg is not None:
        names.add(args.vararg.arg)
    if args.kwarg is not None:
        names.add(args.kwarg.arg)
    return names


def _local_names(body: list[ast.stmt]) -> tuple[set[str], set[str], set[str]]:
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
        if kind in _COMPREHENSIONS:
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


def _statement_locals(body: list[ast.stmt]) -> tuple[set[str], set[str], set[str]]:
    """:func:`_local_names` for code without ``:=``: then only statements bind, and the
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
                _target_names(target, local)
        elif kind is ast.AugAssign or kind is ast.AnnAssign:
            _target_names(node.target, local)
        elif kind is ast.For or kind is ast.AsyncFor:
            _target_names(node.target, local)
            stack.extend(node.body)
            stack.extend(node.orelse)
        elif kind is ast.If or kind is ast.While:
            stack.extend(node.body)
            stack.extend(node.orelse)
        elif kind is ast.With or kind is ast.AsyncWith:
            for item in node.items:
                if item.optional_vars is not None:
                    _target_names(item.optional_vars, local)
            stack.extend(node.body)
        elif kind in _TRIES:
            stack.extend(node.body)
            for handler in node.handlers:
                if handler.name:
                    local.add(handler.name)
                stack.extend(handler.body)
            stack.extend(node.orelse)
            stack.extend(node.finalbody)
        elif kind in _DEFINITIONS:
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
                _target_names(target, local)
        elif kind.__name__ == "Match":
            for case in node.cases:
                for child in ast.walk(case.pattern):
                    name = getattr(child, "rest" if type(child).__name__ == "MatchMapping"
                                   else "name", None)
                    if isinstance(name, str):
                        local.add(name)
                stack.extend(case.body)
    return local, globals_, nonlocals


def _target_names(node: ast.expr, local: set[str]) -> None:
    """The names an assignment target binds (``a``, ``b`` in ``a, *b = …``; none in
    ``a[i] = …``)."""
    kind = type(node)
    if kind is ast.Name:
        local.add(node.id)
    elif kind is ast.Tuple or kind is ast.List:
        for element in node.elts:
            _target_names(element, local)
    elif kind is ast.Starred:
        _target_names(node.value, local)


_TRIES = tuple(getattr(ast, name) for name in ("Try", "TryStar") if hasattr(ast, name))
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)

#: per node type, the fields that may hold nodes (operators and contexts left out)
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}
_NOT_CHILDREN = frozenset({"ctx", "op", "ops"})


def children(node: ast.AST) -> list[ast.AST]:
    """The child nodes of ``node`` (like :func:`ast.iter_child_nodes`, without operators and
    contexts, and several times faster: the analysis walks every function body with it)."""
    kind = type(node)
    fields = _CHILD_FIELDS.get(kind)
    if fields is None:
        fields = _CHILD_FIELDS[kind] = tuple(f for f in kind._fields if f not in _NOT_CHILDREN)
    found: list[ast.AST] = []
    for name in fields:
        value = getattr(node, name, None)
        if type(value) is list:
            found.extend(item for item in value if isinstance(item, ast.AST))
        elif isinstance(value, ast.AST):
            found.append(value)
    return found


def names_in(node: ast.AST) -> set[str]:
    """Every name read or written anywhere in ``node``."""
    names: set[str] = set()
    stack = [node]
    while stack:
        node = stack.pop()
        if type(node) is ast.Name:
            names.add(node.id)
        else:
            stack.extend(children(node))
    return names
