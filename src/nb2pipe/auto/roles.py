"""Roles: the cells that only import or set up (``imports``), only define functions and
classes (``functions``) or only install packages (``skip``); every other code cell is work."""

from __future__ import annotations

import ast

from nb2pipe.analysis.notebook import BUILTIN_NAMES
from nb2pipe.notebook.model import Cell

#: Magics that only configure the kernel's display or extensions: such cells are `imports`.
SETUP_MAGICS = frozenset({"matplotlib", "config", "load_ext", "reload_ext", "autoreload",
                          "aimport", "precision", "env", "watermark"})
INSTALL_MAGICS = frozenset({"pip", "conda", "mamba", "uv"})


class Roles:
    """The roles of a :class:`~nb2pipe.auto.proposer.Proposer`."""

    # -- roles -----------------------------------------------------------------------------

    def classify(self) -> list[int]:
        """Give the setup cells their roles; return the work cells."""
        work: list[int] = []
        shared: set[str] = set()
        for cell in self.notebook.code_cells:
            if cell.is_empty or self._only_notes(cell):
                continue  # a comment-only cell is no work: it joins the step around it
            if any(t in ("parameters", "pipeline-parameters") for t in cell.tags):
                self.roles["parameters"].append(cell.index)
                shared |= self.analysis.cell_binds(cell.index).keys()
                continue
            if any(t in ("metrics", "pipeline-metrics") for t in cell.tags):
                self.roles["metrics"].append(cell.index)  # already tagged: kept as it is
                continue
            role = self._role(cell, shared, before_work=not work)
            if role is None:
                work.append(cell.index)
            else:
                self.roles[role].append(cell.index)
                if role != "skip":
                    shared |= self.analysis.cell_binds(cell.index).keys()
        return work

    def _role(self, cell: Cell, shared: set[str], before_work: bool = True) -> str | None:
        magics = cell.code.magics
        tree = cell.tree
        if tree is None:  # a cell magic in another language (%%bash, %%html…)
            return None
        statements = [s for s in tree.body if not is_note(s)]
        if magics and not statements:
            kinds = {(m.kind, m.name) for m in magics}
            if all(name in INSTALL_MAGICS or (kind == "shell" and name in ("pip", "conda"))
                   for kind, name in kinds):
                return "skip"
            if all(kind == "line" and name in SETUP_MAGICS for kind, name in kinds):
                return "imports"
            return None
        if any(m.kind != "line" or m.name not in SETUP_MAGICS for m in magics):
            return None
        if not statements:
            return None
        if all(isinstance(s, (ast.Import, ast.ImportFrom)) for s in statements):
            return "imports"
        if before_work and self.only_settings([cell.index]):
            return "imports"  # imports and settings (styles, print options…): every step's
        if all(isinstance(s, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef,
                              ast.ClassDef)) for s in statements):
            facts = self.facts(cell.index)
            # Defining must not need the work's values (defaults, decorators, base classes).
            needs = {r.name for r in facts.external} - shared - BUILTIN_NAMES
            if not needs and not self._holds_state(statements):
                return "functions"
        return None

    @staticmethod
    def _only_notes(cell: Cell) -> bool:
        tree = cell.tree
        return tree is not None and not cell.code.magics and \
            all(is_note(s) for s in tree.body)

    def only_settings(self, cells: list[int]) -> bool:
        """Whether ``cells`` hold nothing but imports, settings (:mod:`nb2pipe.analysis.settings`),
        setup magics and notes, with at least one setting."""
        from nb2pipe.analysis.settings import is_setting

        found = False
        for index in cells:
            cell = self.notebook.cells[index]
            tree = cell.tree
            if tree is None or any(m.kind != "line" or m.name not in SETUP_MAGICS
                                   for m in cell.code.magics):
                return False
            for statement in tree.body:
                if is_note(statement) or isinstance(statement, (ast.Import, ast.ImportFrom)):
                    continue
                if not is_setting(statement, self.analysis.qualify):
                    return False
                found = True
        return found

    def _holds_state(self, statements: list[ast.stmt]) -> bool:
        """Whether a definition keeps state that the work changes: a class whose methods set
        class attributes (``cls.rate = …``), or a function or class that some cell changes
        (``Car.rate = …``). Each step runs the definitions afresh, which would lose it."""
        defined = {s.name for s in statements if isinstance(s, (ast.ClassDef, ast.FunctionDef,
                                                                  ast.AsyncFunctionDef))}
        if any(defined & set(facts.mutated) for facts in self.analysis.facts.values()):
            return True
        for statement in statements:
            if not isinstance(statement, ast.ClassDef):
                continue
            owners = {"cls", statement.name}
            for node in ast.walk(statement):
                targets = node.targets if isinstance(node, ast.Assign) else \
                    [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
                if any(isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and
                       t.value.id in owners for t in targets):
                    return True
        return False


def is_note(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.Pass) or (
        isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant))
