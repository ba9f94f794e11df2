"""Applying fixes: an editor over the notebook JSON, libcst rewrites, and the fix loop.

A fix edits only a cell's source (through libcst, so comments and formatting survive) or adds a
cell or a tag; outputs, metadata and cell ids of the other cells are kept. Fixes run one rule at
a time, re-checking in between, until nothing fixable is left (or ten rounds have passed).
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from nb2pipe.lint.diagnostic import Diagnostic
from nb2pipe.notebook.magics import mask, unmask
from nb2pipe.notebook.model import Notebook
from nb2pipe.notebook.reader import notebook_from_dict

#: The order fixes are applied in: the parameters cell first, since later fixes add to it.
FIX_ORDER = ("NB303", "NB202", "NB203", "NB501", "NB204")
PARAMETER_TAGS = ("parameters", "pipeline-parameters")

#: The first line of each cell a fix inserts. In a notebook whose cells have no ids (nbformat
#: before 4.5) this is how NB103 recognises them.
PARAMETERS_HEADER = "# Parameters: `nb2pipe run -p NAME=VALUE` and papermill replace these values."
TRACKING_HEADER = ("# Experiment tracking: MLflow logs the parameters, metrics and model of every "
                   "fit")
INSERTED_CELL_HEADERS = (PARAMETERS_HEADER, TRACKING_HEADER)


def inserted_by_fix(cell) -> bool:
    """Whether ``cell`` looks like one ``nb2pipe check --fix`` inserted (by its id or its first
    line)."""
    return (cell.id or "").startswith("nb2pipe-") or cell.source.startswith(INSERTED_CELL_HEADERS)


class NotebookEditor:
    """Edits a copy of a notebook's JSON; :meth:`notebook` reads the result back."""

    def __init__(self, notebook: Notebook) -> None:
        self.original = notebook
        self.raw = copy.deepcopy(notebook.raw)
        self._current: Notebook | None = notebook

    @property
    def cells(self) -> list[dict]:
        return self.raw["cells"]

    def notebook(self) -> Notebook:
        """The edited notebook, modelled (and analysable) again."""
        if self._current is None:
            self._current = notebook_from_dict(self.raw, self.original.path)
        return self._current

    def source(self, index: int) -> str:
        source = self.cells[index].get("source", "")
        return "".join(source) if isinstance(source, list) else source

    def set_source(self, index: int, text: str) -> None:
        cell = self.cells[index]
        if isinstance(cell.get("source"), list):
            lines = text.splitlines(keepends=True)
            cell["source"] = lines
        else:
            cell["source"] = text
        self._current = None

    def insert_cell(self, position: int, source: str, tags: Sequence[str] = ()) -> int:
        """Insert a code cell at ``position`` (0-based); returns its index."""
        cell: dict = {"cell_type": "code", "execution_count": None, "metadata": {},
                      "outputs": [], "source": source}
        if tags:
            cell["metadata"]["tags"] = list(tags)
        if self.raw.get("nbformat_minor", 0) >= 5 or any("id" in c for c in self.cells):
            digest = hashlib.sha1(f"{position}:{source}".encode()).hexdigest()
            cell["id"] = "nb2pipe-" + digest[:8]
            ids = {c.get("id") for c in self.cells}
            while cell["id"] in ids:
                digest = hashlib.sha1(digest.encode()).hexdigest()
                cell["id"] = "nb2pipe-" + digest[:8]
        self.cells.insert(position, cell)
        self._current = None
        return position

    def add_tags(self, index: int, tags: Sequence[str]) -> None:
        """Add ``tags`` to cell ``index`` (those it has already are not repeated)."""
        metadata = self.cells[index].setdefault("metadata", {})
        existing = metadata.setdefault("tags", [])
        existing.extend(t for t in tags if t not in existing)
        self._current = None

    def set_nb2pipe_metadata(self, key: str, value) -> None:
        """Record ``value`` under ``metadata.nb2pipe[key]`` of the notebook."""
        metadata = self.raw.setdefault("metadata", {})
        section = metadata.setdefault("nb2pipe", {})
        if isinstance(section, dict):
            section[key] = value
        self._current = None

    def replace(self, raw: dict) -> None:
        """Take ``raw`` (an edited copy of this notebook's JSON) as the new notebook."""
        self.raw = copy.deepcopy(raw)
        self._current = None

    def delete_cell(self, index: int) -> None:
        del self.cells[index]
        self._current = None

    def rewrite(self, index: int, change: Callable[[object], object]) -> bool:
        """Rewrite cell ``index`` with libcst: ``change`` maps a ``libcst.Module`` to a new one.

        IPython lines are swapped for marked placeholders before parsing and put back after.
        Returns whether the source changed.
        """
        import libcst

        original = self.source(index)
        masked = mask(original, placeholders=True)
        if masked.foreign:
            return False
        try:
            module = libcst.parse_module(masked.source)
        except libcst.ParserSyntaxError:
            return False
        new_module = change(module)
        if new_module is None or new_module.code == module.code:
            return False
        self.set_source(index, unmask(new_module.code, original))
        return True

    def ensure_import(self, module: str) -> None:
        """Add ``import module`` to the first cell that imports (or a new first code cell),
        unless the notebook already imports it there or earlier."""
        notebook = self.notebook()
        from nb2pipe.analysis.notebook import NotebookAnalysis

        analysis = NotebookAnalysis(notebook)
        first_import = next((index for index, facts in sorted(analysis.facts.items())
                             if any(f.top_level for f in facts.imports)), None)
        binding = analysis.first_binding.get(module)
        if binding is not None and (first_import is None or binding.cell <= first_import):
            return
        if first_import is None:
            first_import = next((c.index for c in notebook.cells if c.is_code), None)
            if first_import is None:
                self.insert_cell(0, f"import {module}")
                return
        self.set_source(first_import, f"import {module}\n" + self.source(first_import))

    # -- the parameters cell, shared by several fixes --------------------------------------

    def parameters_cell(self) -> int | None:
        for index, cell in enumerate(self.cells):
            tags = (cell.get("metadata") or {}).get("tags") or []
            if cell.get("cell_type") == "code" and any(t in PARAMETER_TAGS for t in tags):
                return index
        return None

    def header_end(self) -> int:
        """Index just after the leading cells that only import, set up magics or explain."""
        notebook = self.notebook()
        end = 0
        seen_import = False
        for cell in notebook.cells:
            if not cell.is_code:
                end = cell.index + 1 if not seen_import else end
                continue
            if cell.is_empty:
                continue
            tree = cell.tree
            if tree is None:
                break
            import ast

            only_setup = all(isinstance(s, (ast.Import, ast.ImportFrom)) or
                             (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)) or
                             (isinstance(s, ast.Pass)) for s in tree.body)
            if not only_setup:
                break
            seen_import = seen_import or any(
                isinstance(s, (ast.Import, ast.ImportFrom)) for s in tree.body)
            end = cell.index + 1
        return end

    def ensure_parameters_cell(self, before: int | None = None) -> int:
        """The parameters cell's index, creating one after the imports when there is none."""
        existing = self.parameters_cell()
        if existing is not None:
            return existing
        position = self.header_end()
        if before is not None:
            position = min(position, before)
        return self.insert_cell(position, PARAMETERS_HEADER, ("parameters",))

    def add_parameter(self, name: str, value: str) -> int:
        """Add ``name = value`` to the parameters cell (created if needed); returns its index."""
        index = self.ensure_parameters_cell()
        source = self.source(index).rstrip("\n")
        self.set_source(index, f"{source}\n{name} = {value}" if source else f"{name} = {value}")
        return index


SEED_NAMES = ("SEED", "RANDOM_SEED", "RANDOM_STATE", "seed", "random_seed", "random_state")


def fresh_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name_2``, ``name_3``… : the first that ``taken`` does not hold."""
    candidate, number = name, 1
    while candidate in taken:
        number += 1
        candidate = f"{name}_{number}"
    return candidate


def seed_parameter(editor: NotebookEditor) -> tuple[str, bool]:
    """The name of the notebook's seed parameter, and whether it already exists."""
    from nb2pipe.analysis.notebook import NotebookAnalysis

    analysis = NotebookAnalysis(editor.notebook())
    for name in SEED_NAMES:
        if name in analysis.first_binding:
            return name, True
    return "SEED", False


def ensure_seed(editor: NotebookEditor) -> str:
    """The name of the notebook's seed parameter, adding ``SEED = 42`` when there is none."""
    name, exists = seed_parameter(editor)
    if not exists:
        editor.add_parameter(name, "42")
    return name


@dataclass
class FixResult:
    notebook: Notebook
    fixed: list[Diagnostic]
    remaining: list[Diagnostic]

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
    stuck: set[str] = set()
    current = notebook
    for _ in range(2 * len(rules) + 2):  # each round fixes one rule, or finds it stuck
        diagnostics = check(current)
        fixable = [d for d in diagnostics if d.fix and d.code not in stuck and
                   (d.fix_safety == "safe" or unsafe)]
        if not fixable:
            return FixResult(current, fixed, diagnostics)
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
        current = updated
    return FixResult(current, fixed, check(current))


@dataclass
class FileFix:
    """What fixing one file did: its findings after, how many it fixed, the diff (with
    ``--diff``), a warning when it was left alone."""

    result: Any  # nb2pipe.lint.runner.FileResult
    fixed: int = 0
    diff: str = ""
    warning: str = ""


def fix_file(job) -> FileFix:
    """Fix one file, ``job`` = (path, codes, settings, unsafe, diff_only); writes it (atomically)
    unless ``diff_only``. Never raises: a fix that fails leaves the file as it was and is
    reported like a crash of the rules."""
    from nb2pipe.lint import suppress
    from nb2pipe.lint.registry import RULES
    from nb2pipe.lint.runner import FileResult, lint_file, lint_notebook, quotes_for
    from nb2pipe.notebook.writer import notebook_diff, write_notebook

    path, codes, settings, unsafe, diff_only = job
    first = lint_file(path, set(codes), settings, keep_notebook=True)
    unparsed = [c for c in first.notebook.code_cells if c.code and c.code.error] \
        if first.notebook is not None else []
    if unparsed:  # (its findings then offer no fix)
        first.notebook = None
        return FileFix(first, warning=f"{path}: not fixed, because cell {unparsed[0].number} "
                                      f"does not parse (NB902); fix the syntax first")
    if first.notebook is None or not any(d.fix for d in first.diagnostics):
        first.notebook = None
        return FileFix(first)
    extra = suppress.file_ignores(path, settings.per_file_ignores, settings.root)
    rules = {code: RULES[code]() for code in codes}
    try:
        outcome = fix_notebook(first.notebook, lambda nb: lint_notebook(nb, codes, extra),
                               rules, unsafe=unsafe)
        text = ""
        if outcome.changed:
            if diff_only:
                text = notebook_diff(first.notebook, outcome.notebook)
            else:
                write_notebook(path, outcome.notebook.raw)
    except RecursionError:  # libcst recurses: `a + a + … + a` a thousand terms long
        first.notebook = None
        return FileFix(first, warning=f"{path}: not fixed, because its code nests too deeply "
                                      f"for the fixer; fix it by hand")
    except Exception as error:  # a bug in a fix must not stop the other files
        return FileFix(FileResult(path, first.diagnostics, None,
                                  f"fixing: {type(error).__name__}: {error}"))
    notebook = first.notebook if diff_only else outcome.notebook
    remaining = first.diagnostics if diff_only else outcome.remaining
    has_steps = any(t.startswith("step:") for c in notebook.cells for t in c.tags)
    return FileFix(FileResult(path, remaining, None, has_steps=has_steps, trains=first.trains,
                              quotes=quotes_for(notebook, remaining)),
                   len(outcome.fixed) if outcome.changed else 0, text)
