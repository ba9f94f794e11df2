"""Editing a notebook: an editor over its JSON, libcst rewrites, and the helpers fixes share.

A fix edits only a cell's source (through libcst, so comments and formatting survive) or adds a
cell or a tag; outputs, metadata and cell ids of the other cells are kept. The linter's fixes
and ``--auto``'s proposal both edit through :class:`NotebookEditor`, so it stands below both.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Sequence

from nb2pipe.notebook.magics import mask, unmask
from nb2pipe.notebook.model import Notebook
from nb2pipe.notebook.reader import notebook_from_dict

PARAMETER_TAGS = ("parameters", "pipeline-parameters")

#: The first line of each cell a fix inserts. In a notebook whose cells have no ids (nbformat
#: before 4.5) this is how NB103 recognises them.
PARAMETERS_HEADER = "# Parameters: `nb2pipe run -p NAME=VALUE` and papermill replace these values."
TRACKING_HEADER = ("# Experiment tracking: MLflow logs the parameters, metrics and model of every "
                   "fit")
SEED_HEADER = "# Seed the random generators once, with the seed of the parameters cell."
INSERTED_CELL_HEADERS = (PARAMETERS_HEADER, TRACKING_HEADER, SEED_HEADER)


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
        #: distributions a fix imports, to declare in the project's dependency file when
        #: the fixed notebook is written (:func:`nb2pipe.lint.project.declare`)
        self.declarations: set[str] = set()

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

    def declare(self, distribution: str) -> None:
        """Have ``distribution`` declared in the project's dependency file with the fixed
        notebook (a fix that adds an import of a package the project may not list)."""
        self.declarations.add(distribution)

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


def names_in_use(notebook: Notebook) -> set[str]:
    """Every name the notebook's code reads or binds, and every identifier inside its string
    literals: a new global a fix adds must be none of them. Strings count because some are
    code evaluated at run time in the notebook's namespace — a patsy or statsmodels formula
    (`'y ~ C(key)'`: patsy looks `C` up there first), `DataFrame.query("x > @limit")`, `eval`."""
    import ast
    import re

    found: set[str] = set()
    for cell in notebook.code_cells:
        tree = cell.code.tree if cell.code else None
        if tree is None:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                found.add(node.id)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.update(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", node.value))
    return found


def fresh_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name_2``, ``name_3``… : the first that ``taken`` does not hold."""
    candidate, number = name, 1
    while candidate in taken:
        number += 1
        candidate = f"{name}_{number}"
    return candidate


def seed_parameter(editor: NotebookEditor) -> tuple[str, bool]:
    """The name of the notebook's seed parameter, and whether the parameters cell already
    sets it. Only the parameters cell counts: a `random_state = 170` further down is not
    defined where a fix would use it (a NameError in a fresh run)."""
    from nb2pipe.analysis.notebook import NotebookAnalysis

    analysis = NotebookAnalysis(editor.notebook())
    cell = editor.parameters_cell()
    bound = analysis.cell_binds(cell) if cell is not None else {}
    for name in SEED_NAMES:
        if name in bound:
            return name, True
    return "SEED", False


def ensure_seed(editor: NotebookEditor) -> str:
    """The name of the notebook's seed parameter, adding ``SEED = 42`` when there is none."""
    name, exists = seed_parameter(editor)
    if not exists:
        editor.add_parameter(name, "42")
    return name
