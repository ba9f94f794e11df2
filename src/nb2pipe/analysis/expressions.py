"""The cell walk's expressions: assignment targets, reads, calls (and what they change in
place), lambdas and comprehensions, walked with an explicit stack so that deep expressions
do not exhaust the recursion limit."""

from __future__ import annotations

import ast

from nb2pipe.analysis.facts import CallFact, Deferred, Read, StringFact, base_name, dotted_name
from nb2pipe.analysis.scopes import COMPREHENSIONS, Scope

#: Methods that change their receiver in place (the receiver counts as mutated).
MUTATING_METHODS = frozenset({
    "append", "extend", "insert", "pop", "remove", "clear", "update", "add", "discard",
    "sort", "reverse", "setdefault", "popitem", "fit", "partial_fit", "fit_transform",
    "fit_predict", "compile", "train", "set_params", "load_state_dict", "to", "cuda",
    "add_module", "register_buffer",
    # (pandas' drop, fillna, rename, set_index… return a new object unless `inplace=`)
    "set_title", "set_xlabel", "set_ylabel", "plot", "write", "close", "seek",
    # numpy arrays, sets, deques, dicts changed in place
    "fill", "resize", "itemset", "setflags", "partition", "put", "difference_update",
    "intersection_update", "symmetric_difference_update", "appendleft", "extendleft",
    "rotate", "shuffle", "setdiag", "eliminate_zeros", "sort_indices",
    # scikit-learn objects changed in place
    "set_output",
})

#: Methods that put their arguments inside their receiver.
_STORING_METHODS = frozenset({"append", "extend", "insert", "add", "setdefault", "update",
                              "appendleft", "extendleft", "put"})

#: Callables (by their last name) that change one of their arguments in place, by position:
#: ``random.shuffle(x)``, ``rng.shuffle(x)``, ``np.random.shuffle(x)``, ``np.copyto(dst, …)``.
#: Any other library callable is taken to leave its arguments as they are (documented in
#: docs/convert.md); a function the notebook defines is analysed instead.
ARGUMENT_MUTATORS: dict[str | None, int] = {
    "shuffle": 0, "copyto": 0, "fill_diagonal": 0, "put": 0, "place": 0, "putmask": 0,
    "put_along_axis": 0, "heappush": 0, "heappop": 0, "heapify": 0, "heappushpop": 0,
    "heapreplace": 0, "insort": 0, "insort_left": 0, "insort_right": 0,
}


#: per expression type, the fields that may hold expressions, last first (for the stack)
_EXPR_FIELDS: dict[type, tuple[str, ...]] = {}
_NOT_EXPRESSIONS = frozenset({"ctx", "op", "ops", "conversion", "kind", "type_comment"})


def _expression_fields(kind: type) -> tuple[str, ...]:
    return tuple(name for name in reversed(kind._fields) if name not in _NOT_EXPRESSIONS)


class Expressions:
    """The expression half of the cell walk (:class:`nb2pipe.analysis.cell._Visitor`)."""

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
            if kind in COMPREHENSIONS:
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
        if self.owner is not None:
            self.owner.calls.append(node)
        keywords = node.keywords
        if func_kind is ast.Name:
            if now:
                if func.id in ("exec", "globals", "locals", "vars"):
                    self.facts.dynamic = True
                if self.is_global(func.id):
                    self.facts.direct_calls.append(Read(func.id, func.lineno, self.col(func)))
        elif attr is not None and (attr in MUTATING_METHODS or keywords and any(
                k.arg == "inplace" and not (type(k.value) is ast.Constant and
                                            k.value.value in (False, None))
                for k in keywords)):
            self.mutate(func.value)
        # functions that change an argument: `rng.shuffle(a)`, `random.shuffle(a)`,
        # `np.copyto(dst, src)`, `np.fill_diagonal(a, 0)`
        if attr in _STORING_METHODS and now:  # `holder.append(a)`: holder holds a now
            holder = base_name(func.value)
            if holder is not None:
                for arg in node.args:
                    self.facts.stores.append((holder, arg))
        changes = ARGUMENT_MUTATORS.get(attr if attr is not None else
                                        (func.id if func_kind is ast.Name else None))
        if changes is not None and len(node.args) > changes:
            self.mutate(node.args[changes])
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
        self.scope = Scope("comprehension", outer, local)
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
