"""Running given rules on one notebook, and the fix loop: the linter's engine, with no
registry, so that a rule's fix may run other rules (``--auto``'s tidy does).

:mod:`nb2pipe.lint.runner` picks the rules from the registry and runs them over files;
:mod:`nb2pipe.lint.fix` does the same for fixes.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass

from nb2pipe.analysis.notebook import NotebookAnalysis
from nb2pipe.diagnostic import Diagnostic
from nb2pipe.editor import NotebookEditor
from nb2pipe.lint import suppress
from nb2pipe.lint.project import project_for
from nb2pipe.lint.rule import Context
from nb2pipe.notebook.model import Notebook

#: The order fixes are applied in: the parameters cell first, since later fixes add to it.
FIX_ORDER = ("NB303", "NB202", "NB203", "NB501", "NB204")


def check_notebook(notebook: Notebook, rules: dict[str, type], extra_ignores: set[str],
                   with_project: bool) -> tuple[list[Diagnostic], NotebookAnalysis | None]:
    """Run ``rules`` (code → rule class) on a notebook: suppressions applied, sorted; with the
    analysis made for them (``None`` for a notebook in another language)."""
    language = notebook.language
    if "python" not in language:
        found = list(rules["NB903"]().check(Context(notebook, None))) if "NB903" in rules \
            else []
        return suppress.apply(found, notebook, extra_ignores), None
    analysis = NotebookAnalysis(notebook)
    project = {}
    if with_project and not notebook.path.startswith("<"):
        project["project"] = project_for(os.path.dirname(os.path.abspath(notebook.path)))
    context = Context(notebook, analysis, project)
    found: list[Diagnostic] = []
    for code in sorted(rules):
        rule_class = rules[code]
        if rule_class.scope != "notebook":
            continue
        found.extend(rule_class().check(context))
    found = suppress.apply(found, notebook, extra_ignores)
    if any(cell.code and cell.code.error for cell in notebook.code_cells):
        # --fix leaves a notebook alone until all its cells parse: nothing is fixable yet
        found = [dataclasses.replace(d, fix=None, fix_safety=None) if d.fix else d
                 for d in found]
    elif any(d.fix and d.cell is not None and _in_magic(notebook, d, rules) for d in found):
        # `%timeit RandomForestClassifier().fit(X, y)`: fixes edit code, never an IPython line
        found = [dataclasses.replace(d, fix=None, fix_safety=None)
                 if d.fix and d.cell is not None and _in_magic(notebook, d, rules) else d
                 for d in found]
    found.sort(key=lambda d: d.sort_key)
    return found, analysis


def _in_magic(notebook: Notebook, diagnostic: Diagnostic, rules: dict[str, type]) -> bool:
    if rules[diagnostic.code].fix_edits != "code":
        return False
    code = notebook.cells[diagnostic.cell].code
    return code is not None and any(m.line <= diagnostic.line <= m.end_line
                                    for m in code.magics if m.kind != "cell")


@dataclass
class FixResult:
    notebook: Notebook
    fixed: list[Diagnostic]
    remaining: list[Diagnostic]
    #: distributions the fixes import, to declare in the project's dependency file
    declarations: set = dataclasses.field(default_factory=set)

    @property
    def changed(self) -> bool:
        return bool(self.fixed)


def fix_notebook(notebook: Notebook, check: Callable[[Notebook], list[Diagnostic]],
                 rules: dict, unsafe: bool = False) -> FixResult:
    """Apply every available fix to ``notebook``, one rule at a time.

    Args:
        check: runs the selected rules on a notebook (suppressions applied).
        rules: code → rule instance, for the selected rules.
        unsafe: also apply fixes marked unsafe.
    """
    fixed: list[Diagnostic] = []
    declared: set[str] = set()
    stuck: set[str] = set()
    current = notebook
    for _ in range(2 * len(rules) + 2):  # each round fixes one rule, or finds it stuck
        diagnostics = check(current)
        fixable = [d for d in diagnostics if d.fix and d.code not in stuck and
                   (d.fix_safety == "safe" or unsafe)]
        if not fixable:
            return FixResult(current, fixed, diagnostics, declared)
        order = {code: n for n, code in enumerate(FIX_ORDER)}
        code = min({d.code for d in fixable}, key=lambda c: (order.get(c, 99), c))
        chosen = [d for d in fixable if d.code == code]
        editor = NotebookEditor(current)
        rules[code].fix(editor, chosen)
        updated = editor.notebook()
        if editor.raw == current.raw:
            stuck.add(code)
            continue
        after = {(d.code, d.cell, d.line, d.message) for d in check(updated)}
        fixed.extend(d for d in chosen if (d.code, d.cell, d.line, d.message) not in after)
        declared |= editor.declarations
        current = updated
    return FixResult(current, fixed, check(current), declared)
