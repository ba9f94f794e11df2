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
                    roles: dict, known: set[str]) -> list[str]:
    """The settings (:mod:`nb2pipe.analysis.settings`) that the notebook ran before the
    step's first cell in other steps' cells or untagged ones, with the imports they
    need: they held there, so they are replayed here (a step is a process of its own).
    Only settings that read nothing but modules travel."""
    from nb2pipe.analysis.settings import is_setting, module_names_used

    first = min(cells)
    own = set(cells)
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
            if not names <= modules:
                continue  # it reads a value: it stays where it is
            for name in sorted(names - known):
                line = import_of(analysis, every, name)
                if line and line not in needed_imports:
                    needed_imports.append(line)
            text = ast.unparse(statement)
            if text not in statements:
                statements.append(text)
    return needed_imports + statements
