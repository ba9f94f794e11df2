"""Which of the notebook's imports a step needs: the rest waits until something may need it.

Every step notebook, and every Kubeflow component, runs the notebook's ``imports`` cells. In
one kernel, as in the notebook, they cost once; a step that runs alone (the only step the step
cache could not reuse, ``--isolate``, an Airflow or a Kubeflow task) pays all of them for code
that may read one dict. So a step leaves out the import statements its code cannot reach,
when leaving them out is sure to change nothing:

- the module is *inert*: importing it changes nothing that code not naming it can see
  (:data:`nb2pipe.analysis.knowledge.INERT_MODULES`: NumPy, pandas, SciPy, scikit-learn but
  its ``experimental`` switches, and plain modules of the standard library). A plotting style,
  a registered accessor or colormap, ``__future__``, a local module: always kept;
- no name the statement binds is read by the step's code: its own cells, the generated cells
  around them, the ``imports`` cells' other statements, and the ``functions`` cells'
  statements and every function body the step can reach (by name, transitively; a decorated
  function or a class counts whole: a decorator may register it, a method runs at any time);
  a name in a string that parses as Python counts too (``get_type_hints``, ``pd.eval``);
- nothing in those cells reaches names in ways no analysis sees: ``eval``, ``exec``,
  ``globals()``, ``locals()``, ``vars()``, ``get_ipython()``, ``__main__``, ``sys.modules``,
  ``importlib.import_module``,
  ``DataFrame.query``/``eval`` (``@name``), magics other than a few plain ones, ``$name`` or
  ``{expr}`` in a magic or shell line; nor turns warnings into errors (a package's import
  adds filters of its own). Then nothing is left out;
- the statement has its lines to itself (not ``import a; x = 1``) at the top of its cell;
- it imports no submodule of a module the step may hold otherwise: ``import numpy.linalg``
  stays beside a kept ``import numpy as np`` (importing ``a.b`` makes ``a.b`` an attribute
  of ``a``, which ``np.linalg`` may use).

One way remains for code the step does not name to run: a value read back with pickle that
refers to a function of the ``functions`` cells (``FunctionTransformer(clean)``), whose body
may use what was left out. The step notebook runs the statements left out the moment pickle
looks a name of the notebook up (:func:`nb2pipe.runtime.import_when_referred`), before the
function can run. (A Kubeflow component's functions are local to it: they cross by value,
with what they use, and never refer to the next component's.)

The statements left out stay in the cell, commented out, so that every line keeps its number.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from nb2pipe.analysis.facts import names_in
from nb2pipe.analysis.knowledge import is_inert
from nb2pipe.notebook.magics import split_lines
from nb2pipe.notebook.model import Cell

#: Calls that read or write the namespace by name.
_DYNAMIC_CALLS = frozenset({"eval", "exec", "globals", "get_ipython", "__import__", "compile",
                            "breakpoint", "execfile", "import_module"})
#: Calls that read the namespace when given no argument (``dir()``, ``vars()``).
_NAMESPACE_CALLS = frozenset({"locals", "vars", "dir"})
#: Methods that evaluate a string in the caller's namespace (``df.query("a > @limit")``).
_DYNAMIC_METHODS = frozenset({"eval", "query", "exec", "get_ipython", "run_cell", "import_module",
                              "run_line_magic", "run_cell_magic", "ev", "ex"})
#: Magics that read no name of the namespace when their line has no ``$``/``{``.
_PLAIN_MAGICS = frozenset({"time", "timeit", "capture", "prun", "matplotlib", "config",
                           "load_ext", "reload_ext", "autoreload", "aimport", "pip", "conda",
                           "mamba", "uv", "watermark", "env", "set_env", "precision", "xmode",
                           "html", "HTML", "markdown", "latex", "svg", "javascript", "js",
                           "bash", "sh", "writefile", "lsmagic"})
#: Longest string literal read as code (a name in it counts as used).
_STRING_LIMIT = 2_000
COMMENT = "  # (nb2pipe: this step does not use it)"


@dataclass
class StepImports:
    """The ``imports`` cells as one step runs them."""

    #: cell index → its source with the statements left out commented out
    sources: dict[int, str] = field(default_factory=dict)
    #: the statements left out, in order (run when a pickled value refers to the notebook)
    left_out: list[str] = field(default_factory=list)
    #: why nothing is left out, when nothing is
    kept_all: str = ""


def step_imports(imports: list[Cell], code: list[Cell], extra: list[str]) -> StepImports:
    """What the ``imports`` cells ``imports`` run in a step whose other cells are ``code``
    (the ``functions`` cells and the step's own, in order) and whose generated code is
    ``extra`` (carried imports, loads, saves).

    Returns the cells' sources unchanged, with ``kept_all`` saying why, when any of those
    cells cannot be read or reaches names dynamically."""
    result = StepImports(sources={c.index: c.source for c in imports})
    trees = []
    for cell in imports + code:
        tree = cell.tree
        if tree is None:
            result.kept_all = f"cell {cell.number} could not be parsed"
            return result
        reason = _dynamic(cell, tree)
        if reason:
            result.kept_all = f"cell {cell.number} {reason}"
            return result
        trees.append((cell, tree))
    used: set[str] = set()
    bodies: dict[str, set[str]] = {}
    candidates: list[tuple[Cell, ast.Import | ast.ImportFrom]] = []
    for cell, tree in trees:
        for name in _magic_names(cell):
            used.add(name)
        for stmt in tree.body:
            if cell in imports and isinstance(stmt, (ast.Import, ast.ImportFrom)):
                candidates.append((cell, stmt))
            elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                    not stmt.decorator_list:
                used |= _definition_time_names(stmt)
                bodies.setdefault(stmt.name, set()).update(_names(stmt.body))
            else:
                used |= _names([stmt])
    extra_trees = []
    for source in extra:  # (nb2pipe's own code: its strings are step and file names)
        try:
            extra_trees.append(ast.parse(source))
        except SyntaxError:
            result.kept_all = "a generated cell could not be parsed"
            return result
        used |= names_in(extra_trees[-1])
    reached, stack = set(), [name for name in used if name in bodies]
    while stack:
        name = stack.pop()
        if name in reached:
            continue
        reached.add(name)
        for read in bodies[name]:
            used.add(read)
            if read in bodies and read not in reached:
                stack.append(read)
    # Importing `a.b` makes `b` an attribute of the package `a`: whoever holds `a` (under
    # any name) may use `a.b` without importing it. What the step's code may hold:
    candidate_ids = {id(stmt) for _, stmt in candidates}
    held = {module for tree in [t for _, t in trees] + extra_trees for node in ast.walk(tree)
            if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in candidate_ids
            for module in _held(node)}
    left = {id(stmt) for cell, stmt in candidates
            if _removable(stmt, used, cell.tree.body)}
    changed = True
    while changed:  # a statement kept holds its modules: others may have to stay for them
        changed = False
        held |= {m for _, stmt in candidates if id(stmt) not in left for m in _held(stmt)}
        for _, stmt in candidates:
            if id(stmt) in left and any(module.startswith(h + ".") for h in held
                                        for module in _imported(stmt)):
                left.discard(id(stmt))
                changed = True
    for cell in imports:
        lines = split_lines(cell.source)
        out = [stmt for c, stmt in candidates if c is cell and id(stmt) in left]
        if not out:
            continue
        for stmt in out:
            first, last = stmt.lineno - 1, stmt.end_lineno - 1
            result.left_out.append("\n".join(lines[first:last + 1]))
            for number in range(first, last + 1):
                lines[number] = "# " + lines[number]
            lines[first] += COMMENT
        result.sources[cell.index] = "\n".join(lines)
    return result


def _imported(stmt: ast.Import | ast.ImportFrom) -> list[str]:
    """The modules a statement imports (a ``from`` import's names may be modules)."""
    if isinstance(stmt, ast.Import):
        return [alias.name for alias in stmt.names]
    return [stmt.module or ""] + [f"{stmt.module}.{alias.name}" for alias in stmt.names]


def _held(stmt: ast.Import | ast.ImportFrom) -> list[str]:
    """The modules whose objects a statement's names may hold: ``import a.b`` binds ``a``;
    ``import a.b as c``, ``a.b``; ``from a import b``, maybe the module ``a.b``."""
    if isinstance(stmt, ast.Import):
        return [alias.name if alias.asname else alias.name.partition(".")[0]
                for alias in stmt.names]
    if stmt.level:
        return []
    return [f"{stmt.module}.{alias.name}" for alias in stmt.names]


def _removable(stmt: ast.Import | ast.ImportFrom, used: set[str],
               statements: list[ast.stmt]) -> bool:
    if isinstance(stmt, ast.ImportFrom):
        if stmt.level or not stmt.module or stmt.module == "__future__":
            return False
        bound = [a.asname or a.name for a in stmt.names]
    else:
        bound = [a.asname or a.name.partition(".")[0] for a in stmt.names]
    if "*" in bound or any(name in used for name in bound):
        return False
    if not all(is_inert(module) for module in _imported(stmt)):
        return False
    own = range(stmt.lineno, stmt.end_lineno + 1)
    return not any(other is not stmt and (other.lineno in own or other.end_lineno in own or
                                          other.lineno < stmt.lineno <= other.end_lineno)
                   for other in statements)


def _definition_time_names(node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """What ``def`` itself evaluates: defaults and annotations."""
    args = node.args
    parts: list[ast.AST] = [*args.defaults, *(d for d in args.kw_defaults if d is not None)]
    for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
        if arg is not None and arg.annotation is not None:
            parts.append(arg.annotation)
    if node.returns is not None:
        parts.append(node.returns)
    return _names(parts)


def _names(nodes: list[ast.AST]) -> set[str]:
    """Every name in ``nodes``, and in their strings that parse as Python."""
    names: set[str] = set()
    for node in nodes:
        names |= names_in(node)
        for child in ast.walk(node):
            if isinstance(child, ast.Constant) and isinstance(child.value, str) and \
                    len(child.value) <= _STRING_LIMIT:
                try:
                    names |= names_in(ast.parse(child.value.strip(), mode="eval"))
                except (SyntaxError, ValueError):
                    pass
    return names


def _dynamic(cell: Cell, tree: ast.Module) -> str:
    """Why ``cell`` may reach names no analysis sees, or ``""``."""
    for magic in cell.code.magics if cell.code else ():
        expanded = magic.args if magic.kind == "cell" else magic.text  # (IPython expands these)
        if "$" in expanded or "{" in expanded:
            return f"passes Python values to `{magic.text.strip()[:40]}`"
        if magic.kind in ("line", "cell") and magic.name not in _PLAIN_MAGICS:
            return f"runs the magic %{magic.name}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and (func.id in _DYNAMIC_CALLS or func.id in
                                               _NAMESPACE_CALLS and not node.args):
                return f"calls {func.id}()"
            if any(isinstance(a, ast.Constant) and a.value == "__main__" for a in node.args):
                return "names __main__"
            if isinstance(func, ast.Attribute) and func.attr in _DYNAMIC_METHODS:
                return f"calls .{func.attr}()"
            if _raises_warnings(node):
                return "turns warnings into errors (an import's own filters may matter)"
        elif isinstance(node, ast.Name) and node.id in ("__main__", "__builtins__",
                                                        "get_ipython"):
            return f"uses {node.id}"
        elif isinstance(node, ast.Attribute) and node.attr in ("modules", "__dict__",
                                                               "__globals__"):
            return f"reads .{node.attr}"
        elif isinstance(node, (ast.Import, ast.ImportFrom)) and any(
                a.name in ("__main__", "builtins", "__builtin__") for a in node.names) or \
                isinstance(node, ast.ImportFrom) and node.module in ("__main__", "builtins"):
            return "imports __main__ or builtins"
    return ""


def _raises_warnings(call: ast.Call) -> bool:
    """``warnings.simplefilter("error")``, or a filter whose action is not a literal: the
    filters a package sets on import then decide what raises. (Other actions change what is
    shown, not what runs.)"""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    if name not in ("simplefilter", "filterwarnings"):
        return False
    action = call.args[0] if call.args else next(
        (k.value for k in call.keywords if k.arg == "action"), None)
    return not (isinstance(action, ast.Constant) and action.value in (
        "ignore", "default", "always", "once", "module"))


def _magic_names(cell: Cell) -> set[str]:
    """Names a help line asks about (``np.mean?``)."""
    return {magic.name.partition(".")[0].strip("?*") for magic in
            (cell.code.magics if cell.code else ()) if magic.kind == "help"}
