"""Notebook-level dataflow: which cell defines what, and what each cell (or group) needs.

Built from the per-cell facts of :mod:`nb2pipe.analysis.cell`. The linter asks it for
use-before-define and undefined names; the converter asks which names a group of cells needs from
before it and which it binds (:meth:`NotebookAnalysis.needs`, :meth:`NotebookAnalysis.binds`).

A function's body is read when the function is called, not when it is defined: a function defined
in cell 2 that reads ``model``, which cell 5 defines, is fine as long as it is called after cell 5.
A class's ``__init__`` runs when the class is called; its other methods run at times no static
analysis can know, so they count for what a group needs but never for use-before-define.
"""

from __future__ import annotations

import ast
import builtins
import os
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from nb2pipe.analysis.cell import analyse_cell
from nb2pipe.analysis.facts import CallFact, CellFacts, Deferred, Read, base_name, \
    shared_objects_of
from nb2pipe.notebook.model import Cell, Notebook

#: Names IPython puts in every notebook's namespace.
IPYTHON_NAMES = frozenset({
    "In", "Out", "get_ipython", "display", "exit", "quit", "_", "__", "___", "_i", "_ii",
    "_iii", "_oh", "_ih", "_dh", "__builtin__", "__builtins__", "__name__", "__doc__",
    "__spec__", "__loader__", "__package__",
})
_PYTHON_BUILTINS = frozenset(dir(builtins))
BUILTIN_NAMES = _PYTHON_BUILTINS | IPYTHON_NAMES
#: Line magics after which any name may exist (they run or load code nb2pipe cannot see).
DYNAMIC_MAGICS = frozenset({"run", "load", "pylab", "R", "Rpush", "Rpull", "octave", "reset",
                            "ed", "edit", "macro", "recall", "rerun", "paste", "cpaste"})
#: Calls that make an object whose every method call changes it: a random generator moves its
#: state on with each draw, so ``rng.normal()`` in a cell changes ``rng`` for the cells after.
STATEFUL_CONSTRUCTORS = frozenset({
    "numpy.random.default_rng", "numpy.random.RandomState", "numpy.random.Generator",
    "random.Random", "random.SystemRandom", "torch.Generator", "tensorflow.random.Generator",
    "sklearn.utils.check_random_state", "jax.random.PRNGKey",
})


@dataclass(frozen=True, slots=True)
class Binding:
    """Where a name is first bound: 0-based cell index and 1-based line."""

    cell: int
    line: int


@dataclass(frozen=True, slots=True)
class OrderProblem:
    """A read of ``read.name`` in ``cell`` that a fresh top-to-bottom run cannot satisfy.

    ``defined_in`` is the later cell that first binds it (use-before-define), or ``None`` when no
    cell binds it at all (undefined) or none binds it again after ``deleted_in`` (its `del`).
    ``via`` names the function whose call reads it.
    """

    cell: Cell
    read: Read
    defined_in: Binding | None
    via: str | None = None
    deleted_in: Cell | None = None


class NotebookAnalysis:
    """Facts and dataflow for one notebook, computed once and shared by every rule."""

    def __init__(self, notebook: Notebook) -> None:
        self.notebook = notebook
        self._qualified: dict[str, str] = {}
        self._cell_binds: dict[int, dict[str, int]] = {}
        self.facts: dict[int, CellFacts] = {}
        lazy_annotations = False
        for cell in notebook.cells:
            if cell.is_code and cell.code is not None and cell.code.tree is not None:
                facts = self.facts[cell.index] = analyse_cell(
                    cell.code.tree, cell.code.masked.col_shift, cell.code.masked.source,
                    lazy_annotations)
                lazy_annotations = lazy_annotations or facts.future_annotations
        self._mark_draws()
        self._mark_call_effects()
        self._mark_shared_changes()

    def _mark_draws(self) -> None:
        """Count a method call on a random generator (``rng.integers(…)``) as changing it."""
        from nb2pipe.analysis.facts import dotted_name

        stateful = set()
        for facts in self.facts.values():
            for assignment in facts.assignments:
                value = assignment.value
                if isinstance(value, ast.Call) and \
                        self.qualify(dotted_name(value.func)) in STATEFUL_CONSTRUCTORS:
                    stateful.add(assignment.name)
        if not stateful:
            return
        for facts in self.facts.values():
            for call in facts.calls:
                head, dot, _ = (call.dotted or "").partition(".")
                if dot and head in stateful and not call.in_function:
                    facts.mutated.setdefault(head, call.node.lineno)

    def _mark_call_effects(self) -> None:
        """A call of a function the notebook defines changes what its body changes: the
        globals it changes, and the arguments passed for the parameters it changes
        (``add_ratio(df)`` when ``add_ratio`` sets ``frame["ratio"]``), through the functions
        it calls too. A method call on an instance of a class the notebook defines changes
        the instance when any method changes ``self``. Library callables are taken to leave
        their arguments alone, except those that change one by design (``shuffle``…: see
        :data:`nb2pipe.analysis.expressions.ARGUMENT_MUTATORS`)."""
        functions: dict[str, Deferred] = {}
        instances: dict[str, str] = {}  # name → the notebook class it was made from
        for _index, facts in sorted(self.facts.items()):
            known = {**functions, **facts.deferred}
            effects = _Effects(known)
            for call in facts.calls:
                if call.in_function:
                    continue
                func = call.node.func
                line = call.node.lineno
                if isinstance(func, ast.Name) and func.id in known:
                    changed_params, changed_globals = effects.of(func.id)
                    deferred = known[func.id]
                    for name in _arguments_for(call.node, deferred.params, changed_params):
                        facts.mutated.setdefault(name, line)
                    for name in changed_globals:
                        facts.mutated.setdefault(name, line)
                elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and \
                        instances.get(func.value.id) in known:
                    changed_params, changed_globals = effects.of(instances[func.value.id])
                    if changed_params:
                        facts.mutated.setdefault(func.value.id, line)
                    for name in changed_globals:
                        facts.mutated.setdefault(name, line)
            for assignment in facts.assignments:
                value = assignment.value
                if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and \
                        known.get(value.func.id) is not None and \
                        known[value.func.id].kind == "class":
                    instances[assignment.name] = value.func.id
                else:
                    instances.pop(assignment.name, None)
            functions.update(facts.deferred)

    def _mark_shared_changes(self) -> None:
        """A change through one name of a shared object (``view = a[:2]``, ``b = a``) changes
        the others too: ``view[0] = 99`` changes ``a``."""
        shared: dict[str, set[str]] = {}
        for _index, facts in sorted(self.facts.items()):
            track_sharing(shared, facts)
            for name, line in list(facts.mutated.items()):
                for other in shared.get(name, ()):
                    facts.mutated.setdefault(other, line)

    # -- basic facts -----------------------------------------------------------------------

    def cells_with_facts(self) -> Iterable[tuple[Cell, CellFacts]]:
        cells = self.notebook.cells
        for index, facts in self.facts.items():
            yield cells[index], facts

    @cached_property
    def unparsed(self) -> tuple[Cell, ...]:
        """Code cells whose Python could not be parsed."""
        return tuple(c for c in self.notebook.cells if c.is_code and c.index not in self.facts)

    @cached_property
    def magic_binds(self) -> dict[int, dict[str, int]]:
        """Names bound by IPython syntax (``x = !ls``, ``%%capture out``, ``%store -r x``)."""
        result: dict[int, dict[str, int]] = {}
        for cell in self.notebook.cells:
            if cell.code is None:
                continue
            for magic in cell.code.magics:
                names = list(magic.assign_to)
                if magic.kind == "line" and magic.name == "store" and "-r" in magic.args.split():
                    names += [w for w in magic.args.split() if not w.startswith("-")]
                for name in names:
                    if name.isidentifier():
                        result.setdefault(cell.index, {}).setdefault(name, magic.line)
        return result

    @cached_property
    def dynamic(self) -> bool:
        """Whether names may appear that no analysis can see (wildcards, ``%run``, ``exec``)."""
        return any(f.wildcard for f in self.facts.values()) or self.hidden_code is not None

    @cached_property
    def hidden_code(self) -> Cell | None:
        """The first cell that runs code no analysis sees (``exec``, ``globals()``, ``%run``,
        ``%store -r``…). Wildcard imports are not counted: their module is known."""
        for cell in self.notebook.code_cells:
            facts = self.facts.get(cell.index)
            if facts is not None and facts.dynamic:
                return cell
            for magic in cell.code.magics if cell.code else ():
                if magic.kind in ("line", "cell") and magic.name in DYNAMIC_MAGICS:
                    return cell
                if magic.kind == "line" and magic.name == "store" and magic.args.strip() == "-r":
                    return cell
        return None

    @cached_property
    def aliases(self) -> dict[str, str]:
        """Local name → qualified name for every import (``np`` → ``numpy``)."""
        aliases: dict[str, str] = {}
        for facts in self.facts.values():
            for fact in facts.imports:
                if fact.bound == "*":
                    continue
                aliases[fact.bound] = fact.module if fact.name is None else \
                    f"{fact.module}.{fact.name}"
        return aliases

    def qualify(self, dotted: str | None) -> str | None:
        """Resolve a dotted name through the notebook's imports: ``np.random`` → ``numpy.random``."""
        if dotted is None:
            return None
        cache = self._qualified
        found = cache.get(dotted)
        if found is None:
            head, dot, rest = dotted.partition(".")
            target = self.aliases.get(head)
            found = cache[dotted] = dotted if target is None else f"{target}{dot}{rest}"
        return found

    @cached_property
    def qualified_calls(self) -> list[tuple[Cell, CallFact, str | None]]:
        """Every call of the notebook in order, with its callee resolved through the imports
        (``None`` when the callee is not a dotted name): the rules look at calls this way."""
        qualify = self.qualify
        cells = self.notebook.cells
        return [(cells[index], call, qualify(call.dotted))
                for index, facts in self.facts.items() for call in facts.calls]

    @cached_property
    def imported_modules(self) -> set[str]:
        """Top-level modules the notebook imports (``sklearn``, ``numpy``…)."""
        modules: set[str] = set()
        for facts in self.facts.values():
            for fact in facts.imports:
                if not fact.module.startswith("."):
                    modules.add(fact.module.partition(".")[0])
        return modules

    @cached_property
    def bind_counts(self) -> dict[str, int]:
        """How many times each name is bound at notebook level, over every cell (``2`` for a
        name assigned twice): a name bound once holds one value for the whole notebook."""
        counts: dict[str, int] = {}
        for facts in self.facts.values():
            for name, number in facts.bind_counts.items():
                counts[name] = counts.get(name, 0) + number
        return counts

    @cached_property
    def module_names(self) -> frozenset[str]:
        """Names that only imports bind (``np``, ``plt``, ``train_test_split``): changing an
        attribute of one (``plt.rcParams[...] = …``) changes a module, not a value a step
        could pass on."""
        imported: set[str] = set()
        other: set[str] = set()
        for facts in self.facts.values():
            bound_by_import = {f.bound for f in facts.imports}
            imported |= bound_by_import
            other |= set(facts.binds) - bound_by_import
        return frozenset(imported - other)

    # -- bindings --------------------------------------------------------------------------

    def cell_binds(self, index: int) -> dict[str, int]:
        """Names cell ``index`` binds at notebook level, with the first line of each (computed
        once: do not change the dict)."""
        binds = self._cell_binds.get(index)
        if binds is None:
            binds = self._cell_binds[index] = self._compute_cell_binds(index)
        return binds

    def _compute_cell_binds(self, index: int) -> dict[str, int]:
        binds = dict(self.magic_binds.get(index, {}))
        facts = self.facts.get(index)
        if facts is not None:
            for name, line in facts.binds.items():
                binds.setdefault(name, line)
            for deferred in facts.deferred.values():
                for name in deferred.global_binds:
                    binds.setdefault(name, deferred.line)
        return binds

    @cached_property
    def binding_cells(self) -> dict[str, list[int]]:
        """For every name, the cells that bind it, in order."""
        cells: dict[str, list[int]] = {}
        for cell in self.notebook.code_cells:
            for name in self.cell_binds(cell.index):
                cells.setdefault(name, []).append(cell.index)
        return cells

    def next_binding(self, name: str, after: int) -> Binding | None:
        """The first binding of ``name`` in a cell after cell ``after``."""
        for index in self.binding_cells.get(name, ()):
            if index > after:
                return Binding(index, self.cell_binds(index)[name])
        return None

    @cached_property
    def first_binding(self) -> dict[str, Binding]:
        """For every name any cell binds, the first cell (and line) that binds it."""
        first: dict[str, Binding] = {}
        for cell in self.notebook.code_cells:
            for name, line in self.cell_binds(cell.index).items():
                first.setdefault(name, Binding(cell.index, line))
        return first

    def binds(self, indices: Iterable[int]) -> set[str]:
        """Every name a group of cells binds at notebook level."""
        names: set[str] = set()
        for index in indices:
            names.update(self.cell_binds(index))
        return names

    def needs(self, indices: Iterable[int]) -> dict[str, Read]:
        """Names a group of cells, run in the given order, needs from before it.

        Includes what the bodies of functions and classes read when the group uses them
        (conservatively: every method of a class it uses), whether defined inside the group or
        before it. Builtins are left out. The value is the first read of each name.
        """
        needed: dict[str, Read] = {}
        bound: set[str] = set()
        builtin = self.plain_builtins
        for index in indices:
            facts = self.facts.get(index)
            binds = self.cell_binds(index)
            if facts is not None:
                known = self._deferred_after(index)
                for read in facts.external:
                    if read.name not in bound and read.name not in builtin:
                        needed.setdefault(read.name, read)
                used = {r.name for r in facts.reads} | set(facts.deferred)
                for name in sorted(used):
                    for read in self._expand(name, known, conservative=True):
                        if read.name not in bound and read.name not in binds and \
                                read.name not in builtin:
                            needed.setdefault(read.name, read)
            bound.update(binds)
        return needed

    @cached_property
    def plain_builtins(self) -> frozenset[str]:
        """The builtin (and IPython) names that no cell rebinds: ``list = [1, 2]`` in a cell
        makes ``list`` the notebook's own value, which later cells read like any other."""
        rebound = set(self.binds(list(self.facts))) & _PYTHON_BUILTINS
        return BUILTIN_NAMES - rebound if rebound else BUILTIN_NAMES

    def _deferred_after(self, index: int) -> dict[str, Deferred]:
        """The functions (and classes, lambdas) defined when cell ``index`` has run top to
        bottom: a later ``def model`` is not the ``model = Forest()`` this cell uses."""
        return self._deferred_by_cell.get(index, {})

    @cached_property
    def _deferred_by_cell(self) -> dict[int, dict[str, Deferred]]:
        known: dict[str, Deferred] = {}
        by_cell: dict[int, dict[str, Deferred]] = {}
        for cell in self.notebook.code_cells:
            facts = self.facts.get(cell.index)
            if facts is None:
                continue
            changed = False
            for name in self.cell_binds(cell.index):
                if name in facts.deferred:
                    known[name] = facts.deferred[name]
                    changed = True
                elif known.pop(name, None) is not None:  # rebound to a plain value
                    changed = True
            for name, deferred in facts.deferred.items():  # (a lambda kept in a dict…)
                if name not in known:
                    known[name] = deferred
                    changed = True
            by_cell[cell.index] = dict(known) if changed or not by_cell else \
                by_cell[next(reversed(by_cell))]
        return by_cell

    def _expand(self, name: str, known: dict[str, Deferred], conservative: bool) -> list[Read]:
        """The global reads that using ``name`` sets off, through the functions it calls."""
        result: list[Read] = []
        seen: set[str] = set()
        stack = [name]
        while stack:
            current = stack.pop()
            if current in seen or current not in known:
                continue
            seen.add(current)
            reads = known[current].free if conservative else known[current].on_call
            for read in reads:
                result.append(read)
                if read.name in known:
                    stack.append(read.name)
        return result

    # -- execution-order problems ----------------------------------------------------------

    @cached_property
    def order_problems(self) -> list[OrderProblem]:
        """Reads that a fresh top-to-bottom run cannot satisfy, in notebook order."""
        problems: list[OrderProblem] = []
        first = self.first_binding
        defined: set[str] = set(BUILTIN_NAMES)
        functions: dict[str, Deferred] = {}
        unparsed_text = "\n".join(c.source for c in self.unparsed)
        dynamic = self.dynamic
        all_bound = set(first)
        deleted_in: dict[str, Cell] = {}  # name → the cell whose `del` it has not outlived

        def undefined(name: str) -> bool:
            return not dynamic and name not in all_bound and name not in BUILTIN_NAMES and \
                not (unparsed_text and name in unparsed_text) and not _output_history(name)

        for cell in self.notebook.code_cells:
            index = cell.index
            facts = self.facts.get(index)
            if facts is None:
                defined.update(self.cell_binds(index))
                continue
            reported: set[str] = set()
            for read in facts.external:
                name = read.name
                if name in defined or name in reported:
                    continue
                binding = self.next_binding(name, index)
                if binding is None and not dynamic and first.get(name) is not None and \
                        first[name].cell == index and name not in BUILTIN_NAMES:
                    binding = first[name]  # read first, bound further down the same cell
                if binding is not None:
                    problems.append(OrderProblem(cell, read, binding))
                    reported.add(name)
                elif name not in first and undefined(name):
                    problems.append(OrderProblem(cell, read, None))
                    reported.add(name)
                elif name in deleted_in and not dynamic:
                    problems.append(OrderProblem(cell, read, None,
                                                 deleted_in=deleted_in[name]))
                    reported.add(name)
            local_functions = {**functions, **facts.deferred}
            for call in facts.direct_calls:
                if call.name not in local_functions:
                    continue
                for read in self._expand(call.name, local_functions, conservative=False):
                    name = read.name
                    if name in defined or name in reported:
                        continue
                    line = facts.binds.get(name)
                    if line is not None and line <= call.line:
                        continue
                    binding = self.next_binding(name, index)
                    if binding is not None:
                        problems.append(OrderProblem(cell, Read(name, call.line, call.col),
                                                     binding, via=call.name))
                        reported.add(name)
            for deferred in facts.deferred.values():
                seen: set[str] = set()
                for read in deferred.free:
                    if read.name not in seen and undefined(read.name):
                        seen.add(read.name)
                        problems.append(OrderProblem(cell, read, None, via=deferred.name))
            defined.update(self.cell_binds(index))
            for fact in facts.imports:
                if fact.bound == "*":  # `from helper import *`, helper.py beside the notebook
                    defined.update(self.star_exports(fact.module))
            for name in facts.deleted:
                defined.discard(name)
                deleted_in[name] = cell
            functions.update(facts.deferred)
        return problems

    def star_exports(self, module: str) -> set[str]:
        """The names ``from module import *`` binds when ``module`` is a Python file (or a
        package) in the notebook's folder: its ``__all__`` when it lists them, else its public
        top-level names. Empty for other modules (what they export is not known here)."""
        cache = self.__dict__.setdefault("_star_exports", {})
        if module in cache:
            return cache[module]
        names: set[str] = set()
        folder = os.path.dirname(os.path.abspath(self.notebook.path or "."))
        relative = module.lstrip(".").replace(".", os.sep)
        for candidate in (os.path.join(folder, relative + ".py"),
                          os.path.join(folder, relative, "__init__.py")):
            if relative and os.path.isfile(candidate):
                names = _module_exports(candidate)
                break
        cache[module] = names
        return names


def _module_exports(path: str) -> set[str]:
    """What ``from <path's module> import *`` binds: ``__all__`` when it is a literal list or
    tuple of strings, else the public names bound at the module's top level."""
    try:
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read())
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return set()
    public: set[str] = set()
    for statement in tree.body:
        targets: list = []
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            public.add(statement.name)
        elif isinstance(statement, (ast.Import, ast.ImportFrom)):
            public.update((alias.asname or alias.name).partition(".")[0]
                          for alias in statement.names if alias.name != "*")
        elif isinstance(statement, ast.Assign):
            targets = statement.targets
        elif isinstance(statement, (ast.AnnAssign, ast.AugAssign)):
            targets = [statement.target]
        for target in targets:
            if isinstance(target, ast.Name) and target.id == "__all__" and \
                    isinstance(statement.value, (ast.List, ast.Tuple)) and all(
                        isinstance(e, ast.Constant) and isinstance(e.value, str)
                        for e in statement.value.elts):
                return {e.value for e in statement.value.elts}
            for node in ast.walk(target):
                if isinstance(node, ast.Name):
                    public.add(node.id)
    return {name for name in public if not name.startswith("_")}


def _output_history(name: str) -> bool:
    """``_7`` and ``_i7``: IPython's names for the output and the input of execution 7."""
    digits = name[2:] if name.startswith("_i") else name[1:] if name.startswith("_") else ""
    return digits.isdigit() and digits.isascii()


def track_sharing(shared: dict[str, set[str]], facts: CellFacts,
                  modules: frozenset[str] = frozenset()) -> None:
    """Update ``shared`` (name → the names that share its object, or hold it, or are held
    by it) with one cell's bindings and stores: a name bound anew shares nothing any more,
    unless it is bound to a value that shares or holds another's object (see
    :func:`shared_objects_of`); ``holder[k] = a`` and ``holder.append(a)`` make ``holder``
    hold ``a``."""
    values: dict[str, list[ast.expr]] = {}
    for assignment in facts.assignments:
        values.setdefault(assignment.name, []).append(assignment.value)
    immutable = shared.setdefault(_IMMUTABLE, set())
    for name in facts.binds:
        for other in shared.pop(name, ()):
            shared.get(other, set()).discard(name)
        bound = values.get(name, ())
        if bound and all(_is_immutable_literal(value) for value in bound):
            immutable.add(name)  # `ALPHA = 0.5`: nothing can change it in place
        else:
            immutable.discard(name)
        for value in bound:
            for source in shared_objects_of(value) - modules - {name} - immutable:
                _join(shared, name, source)
    for holder, value in facts.stores:
        if holder in modules:
            continue
        for source in shared_objects_of(value) - modules - {holder} - immutable:
            _join(shared, holder, source)


#: the key of ``shared`` that holds the names bound to immutable literals
_IMMUTABLE = "\0immutable"


def _is_immutable_literal(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant):
        return True
    if isinstance(node, ast.Tuple):
        return all(_is_immutable_literal(e) for e in node.elts)
    if isinstance(node, ast.JoinedStr):
        return True
    return False


def _join(shared: dict[str, set[str]], a: str, b: str) -> None:
    group = shared.get(a, set()) | shared.get(b, set()) | {a, b}
    for member in group:
        shared[member] = group - {member}


def _arguments_for(call: ast.Call, params: list[str], changed: set[str]) -> set[str]:
    """The names (of the caller) passed for the ``changed`` parameters of ``call``; with a
    ``*args`` or ``**kwargs`` in the call, every name passed (which goes where is not
    known)."""
    names: set[str] = set()
    unknown = any(isinstance(a, ast.Starred) for a in call.args) or \
        any(k.arg is None for k in call.keywords)
    for position, arg in enumerate(call.args):
        param = params[position] if position < len(params) else None
        if unknown or param is None and changed or param in changed:
            name = base_name(arg.value if isinstance(arg, ast.Starred) else arg)
            if name is not None:
                names.add(name)
    for keyword in call.keywords:
        if unknown or keyword.arg in changed:
            name = base_name(keyword.value)
            if name is not None:
                names.add(name)
    return names


class _Effects:
    """What calling each notebook function changes (its parameters, the globals), through
    the notebook functions it calls, transitively (recursion included)."""

    def __init__(self, known: dict[str, Deferred]) -> None:
        self.known = known
        self.memo: dict[str, tuple[set[str], set[str]]] = {}

    def of(self, name: str) -> tuple[set[str], set[str]]:
        if name in self.memo:
            return self.memo[name]
        deferred = self.known[name]
        params, globals_ = set(deferred.mutated_params), set(deferred.mutates)
        self.memo[name] = (params, globals_)  # a recursive call sees what is known so far
        for _ in range(3):  # a few rounds settle mutual recursion
            before = (len(params), len(globals_))
            for call in deferred.calls:
                func = call.func
                if not isinstance(func, ast.Name) or func.id not in self.known:
                    continue
                callee = self.known[func.id]
                callee_params, callee_globals = self.of(func.id)
                globals_ |= callee_globals
                for arg in _arguments_for(call, callee.params, callee_params):
                    if arg in deferred.params or arg == "self":
                        params.add(arg)
                    elif arg in deferred.aliases:
                        params |= deferred.aliases[arg]
                    elif arg not in deferred.params:
                        globals_.add(arg)  # a global, or a local (over-approximated)
            if (len(params), len(globals_)) == before:
                break
        return params, globals_
