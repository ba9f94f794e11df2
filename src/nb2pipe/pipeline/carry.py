"""What a step carries besides its cells, because in a pipeline each step is a process of its
own: the imports of names earlier steps imported, the settings the notebook ran before it
(:mod:`nb2pipe.analysis.settings`), and MLflow autologging for the frameworks it trains with."""

from __future__ import annotations

import ast

from nb2pipe.analysis.notebook import BUILTIN_NAMES, NotebookAnalysis

#: Libraries whose MLflow autologging a step turns on when it imports them and trains.
AUTOLOG = {"sklearn": "sklearn", "xgboost": "xgboost", "lightgbm": "lightgbm",
           "statsmodels": "statsmodels", "tensorflow": "tensorflow", "keras": "keras",
           "torch": "pytorch", "pytorch_lightning": "pytorch", "lightning": "pytorch",
           "transformers": "transformers", "catboost": "catboost", "prophet": "prophet"}
_TRAINING = frozenset({"fit", "fit_generator", "partial_fit", "fit_transform", "train"})


def autolog_flavours(analysis: NotebookAnalysis, cells: list[int], shared: list[int]) -> list[str]:
    """MLflow flavours to autolog in a step: when it trains something, those of the
    frameworks the notebook has imported by then — in the step, in the shared cells or in any
    cell above it, wherever a tidy or the author put the imports (autologging costs seconds to
    set up; steps that only load or transform data do without)."""
    trains = False
    for index in cells:
        facts = analysis.facts.get(index)
        if facts is not None and any(c.attr in _TRAINING or (c.dotted or "").endswith(
                (".train", ".cv")) for c in facts.calls):
            trains = True
    if not trains:
        return []
    modules: set[str] = set()
    last = max(cells)
    for index in set(shared) | set(cells) | {i for i in analysis.facts if i <= last}:
        facts = analysis.facts.get(index)
        if facts is not None:
            modules |= {f.module.partition(".")[0] for f in facts.imports}
    return sorted({AUTOLOG[m] for m in modules if m in AUTOLOG})


def import_of(analysis: NotebookAnalysis, cells: list[int], name: str) -> str | None:
    """The import statement by which one of ``cells`` binds ``name``, if it does."""
    for index in cells:
        facts = analysis.facts.get(index)
        for fact in facts.imports if facts is not None else ():
            if fact.bound != name or not fact.top_level:
                continue
            if fact.name is None:
                return f"import {fact.module}" if fact.module == name else \
                    f"import {fact.module} as {name}"
            alias = "" if fact.name == name else f" as {name}"
            return f"from {fact.module} import {fact.name}{alias}"
    return None


def settings_before(notebook, analysis: NotebookAnalysis, cells: list[int], grouped: list[int],
                    roles: dict, known: set[str], skipped: list | None = None) -> list[str]:
    """The settings (:mod:`nb2pipe.analysis.settings`) that the notebook ran before the
    step's first cell in other steps' cells or untagged ones, with the imports they
    need: they held there, so they are replayed here (a step is a process of its own).
    Settings that read nothing but modules travel, and those that read names bound to
    literals, with those assignments; the others are added to ``skipped`` as
    ``(cell index, statement)``."""
    from nb2pipe.analysis.settings import is_setting, module_names_used

    first = min(cells)
    own = set(cells)
    values = _literal_values(notebook, analysis, first)
    shared = set(roles["imports"] + roles["functions"] + roles["parameters"])
    earlier = sorted(i for i in grouped if i < first and i not in own)
    earlier = sorted(set(earlier) | {i for i in roles["orphan"] if i < first})
    modules = analysis.module_names
    statements: list[str] = []
    needed_imports: list[str] = []
    every = sorted(analysis.facts)
    for index in earlier:
        if index in shared:
            continue
        tree = notebook.cells[index].tree
        for statement in tree.body if tree is not None else ():
            if not is_setting(statement, analysis.qualify):
                continue
            names = module_names_used(statement) - BUILTIN_NAMES
            values_read = names - modules
            if any(name not in values for name in values_read):
                if skipped is not None:  # it reads a value computed at run time
                    skipped.append((index, statement))
                continue
            for name in sorted(values_read):
                # `params = {...}; plt.rcParams.update(params)`: a literal value comes along
                text, reads = values[name]
                if text in statements:
                    statements.remove(text)
                statements.append(text)
                names |= reads
            names -= values_read
            for name in sorted(names - known):
                line = import_of(analysis, every, name)
                if line and line not in needed_imports:
                    needed_imports.append(line)
            for module in sorted(_submodules(statement, analysis.qualify)):
                line = f"import {module}"  # `mpl.style.use(…)` needs matplotlib.style loaded
                if line not in needed_imports:
                    needed_imports.append(line)
            text = ast.unparse(statement)
            if text in statements:  # repeated: what counts is where it ran last
                statements.remove(text)
            statements.append(text)
    return needed_imports + statements


def _literal_values(notebook, analysis: NotebookAnalysis, before: int) -> dict:
    """Names bound, before cell ``before``, by a plain assignment whose value reads only
    modules and literals (``params = {"figure.figsize": (8, 4)}``): name → (the statement,
    the names it reads)."""
    values: dict[str, tuple[str, set[str]]] = {}
    for index in sorted(i for i in analysis.facts if i < before):
        tree = notebook.cells[index].tree
        for statement in tree.body if tree is not None else ():
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and \
                    isinstance(statement.targets[0], ast.Name):
                reads = {n.id for n in ast.walk(statement.value) if isinstance(n, ast.Name)}
                name = statement.targets[0].id
                if reads - BUILTIN_NAMES <= analysis.module_names and \
                        not any(isinstance(n, (ast.Call, ast.Lambda, ast.Await))
                                for n in ast.walk(statement.value)):
                    values[name] = (ast.unparse(statement), reads - BUILTIN_NAMES)
                else:
                    values.pop(name, None)
            else:
                for node in ast.walk(statement):
                    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                        values.pop(node.id, None)
    return values


#: Submodules that a package does not load by itself, which settings call through it.
_SUBMODULES = ("matplotlib.style", "matplotlib.pyplot", "matplotlib.colors", "logging.config",
               "pandas.plotting", "IPython.display", "tqdm.auto")


def _submodules(statement: ast.stmt, qualify) -> set[str]:
    from nb2pipe.analysis.facts import dotted_name

    found = set()
    for node in ast.walk(statement):
        if isinstance(node, ast.Attribute):
            name = qualify(dotted_name(node)) or ""
            for module in _SUBMODULES:
                if name == module or name.startswith(module + "."):
                    found.add(module)
    return found


def submodule_imports(analysis: NotebookAnalysis, carried: list[str], before: int,
                      skip: set[int]) -> list[str]:
    """``import P.sub`` for the submodules of the packages a step imports that the notebook
    imported before the step's last cell: in the notebook they were loaded, so ``P.sub`` worked
    through ``import P as p`` (``mpl.style`` after ``import matplotlib.pyplot``)."""
    tops: set[str] = set()
    for line in carried:
        try:
            tree = ast.parse(line)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                tops |= {alias.name.partition(".")[0] for alias in node.names}
    lines: list[str] = []
    for index in sorted(i for i in analysis.facts if i <= before and i not in skip):
        for fact in analysis.facts[index].imports:
            module = fact.module or ""
            if "." in module and module.partition(".")[0] in tops and fact.top_level and \
                    not module.startswith("."):
                line = f"import {module}"
                if line not in carried and line not in lines:
                    lines.append(line)
    return lines
