"""The facts one walk of a cell's syntax tree gathers (:mod:`nb2pipe.analysis.cell` makes
them): the names a cell binds and reads, in order, the names read only when a function runs,
what it changes in place, and the calls, imports, strings and assignments the rules look at;
and small helpers over syntax trees."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import NamedTuple


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
    #: the parameters in order (a class: its ``__init__``'s, without ``self``)
    params: list[str] = field(default_factory=list)
    #: parameters the body changes in place (``frame["r"] = …``, ``items.sort()``; a class:
    #: ``self`` when a method changes the instance), directly or through a local alias
    mutated_params: set[str] = field(default_factory=set)
    #: the calls the body makes (to follow what functions it calls change, transitively)
    calls: list[ast.Call] = field(default_factory=list)
    #: local names that hold a parameter's object (``f = frame``; ``{"a": a}``): name → param
    aliases: dict[str, set[str]] = field(default_factory=dict)


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
    #: ``holder[k] = a``, ``holder.x = a``, ``holder.append(a)`` at notebook level: the
    #: holder's name and the value it now holds (it shares that value's objects)
    stores: list[tuple[str, ast.expr]] = field(default_factory=list)
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


#: Attributes and methods that give a view of a NumPy array (pandas copies, or will: its
#: copy-on-write makes every derived frame behave as a copy).
VIEWS = frozenset({"view", "reshape", "ravel", "squeeze", "transpose", "swapaxes", "T",
                   "real", "imag"})
#: Functions that return their argument itself, or a view of it.
_SAME_OBJECT_FUNCTIONS = frozenset({"asarray", "asanyarray", "ravel", "squeeze",
                                    "atleast_1d", "atleast_2d", "atleast_3d"})
#: Builtins whose result holds none of their arguments' mutable objects.
_FRESH_BUILTINS = frozenset({
    "len", "str", "int", "float", "bool", "repr", "print", "sum", "abs", "round", "min",
    "max", "sorted", "list", "dict", "set", "tuple", "frozenset", "range", "isinstance",
    "type", "id", "hash", "format", "any", "all", "divmod", "pow", "ord", "chr", "hex",
    "open", "input", "display", "deepcopy", "copy",
})


def shared_objects_of(value: ast.expr | None) -> set[str]:
    """The names whose objects ``value`` may share or hold, soundly: ``a`` (the same object),
    ``a[1:3]`` (a view, for arrays), ``a[0]`` (an element), ``a.T``, ``a.reshape(…)``,
    ``{"k": a}`` and ``[a, b]`` (containers hold their elements), ``Pipeline([("m", m)])`` and
    ``C(a)`` (an object may keep what it is made from), ``f(a)`` for a function the notebook
    defines (it may return its argument). Builtins that make new values (``len``,
    ``sorted``…) hold nothing."""
    names: set[str] = set()
    stack = [value] if value is not None else []
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Subscript):
            stack.append(node.value)
        elif isinstance(node, ast.Attribute):
            if node.attr in VIEWS or isinstance(node.value, ast.Name) and \
                    not node.attr.startswith("_"):
                stack.append(node.value)
        elif isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            stack.extend(node.elts)
        elif isinstance(node, ast.Dict):
            stack.extend(v for v in node.values if v is not None)
            stack.extend(k for k in node.keys if k is not None)
        elif isinstance(node, ast.Starred):
            stack.append(node.value)
        elif isinstance(node, ast.IfExp):
            stack += [node.body, node.orelse]
        elif isinstance(node, ast.BoolOp):
            stack.extend(node.values)
        elif isinstance(node, ast.NamedExpr):
            stack.append(node.value)
        elif isinstance(node, ast.Call):
            func = node.func
            last = func.attr if isinstance(func, ast.Attribute) else \
                func.id if isinstance(func, ast.Name) else None
            if isinstance(func, ast.Attribute) and last in VIEWS:
                stack.append(func.value)
            elif last in _SAME_OBJECT_FUNCTIONS or last and last[:1].isupper() or (
                    isinstance(func, ast.Name) and last not in _FRESH_BUILTINS):
                # a view, a constructor that may keep its arguments, or a function of the
                # notebook's that may return one
                stack.extend(node.args)
                stack.extend(k.value for k in node.keywords)
    return names


def informative_counts(notebook) -> bool:
    """Whether the notebook's execution counts say anything about its runs: not when every
    count is 0 or less (Colab exports and some tools write 0 for every cell). Counts that
    are missing (stripped) say nothing either; the rules that read them skip those cells."""
    counts = [c.execution_count for c in notebook.code_cells if c.execution_count is not None]
    return any(count > 0 for count in counts)
