"""The rule base class: a code, a name, documentation, examples, a check and maybe a fix.

A rule's docstring *is* its documentation, under the headings *What it does*, *Why is this bad?*,
*Example*, *Use instead* and *Fix safety*. ``nb2pipe rule CODE``, the pages under ``docs/rules/``
and SARIF's ``rules[]`` are all made from it. ``VALID`` and ``INVALID`` hold ``# %%`` notebooks
that the test suite checks the rule against.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from nb2pipe.diagnostic import Diagnostic, FixSafety, Severity

if TYPE_CHECKING:
    from nb2pipe.analysis.notebook import NotebookAnalysis
    from nb2pipe.editor import NotebookEditor
    from nb2pipe.notebook.model import Cell, Notebook

SECTIONS = ("What it does", "Why is this bad?", "Example", "Use instead", "Fix safety")


@dataclass(frozen=True)
class Invalid:
    """An example the rule must flag: ``count`` findings (any number ≥ 1 if ``None``), each
    message containing ``message`` if given, and after ``--fix`` the notebook ``fixed`` (when
    the rule has a fix)."""

    source: str
    count: int | None = None
    fixed: str | None = None
    path: str = "<example>.ipynb"
    message: str | None = None


@dataclass
class Context:
    """What a rule sees: the notebook, its analysis and the project around it."""

    notebook: Notebook
    analysis: NotebookAnalysis
    project: dict = field(default_factory=dict)

    @property
    def path(self) -> str:
        return self.notebook.path


class Rule:
    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity] = "warning"
    #: Which level-1 checklist item this rule holds back (see :mod:`nb2pipe.lint.maturity`).
    category: ClassVar[str]
    fix_safety: ClassVar[FixSafety | None] = None
    fix_title: ClassVar[str | None] = None
    #: what the fix changes: the flagged Python "code", the flagged "ipython" line
    #: (`!pip install`), or the "notebook" around it (a cell or a tag added)
    fix_edits: ClassVar[str] = "code"
    #: Notebook rules look at one notebook; folder rules (NB7xx) at the project around it.
    scope: ClassVar[str] = "notebook"
    VALID: ClassVar[tuple[str, ...]] = ()
    INVALID: ClassVar[tuple[Invalid | str, ...]] = ()

    def check(self, ctx: Context) -> Iterator[Diagnostic]:
        raise NotImplementedError

    def fix(self, editor: NotebookEditor, diagnostics: list[Diagnostic]) -> None:
        """Apply this rule's fix for ``diagnostics`` through ``editor`` (rules with a fix)."""
        raise NotImplementedError

    # -- building diagnostics --------------------------------------------------------------

    def report(self, ctx: Context, cell: Cell | None, message: str, *,
               node: ast.AST | None = None, line: int = 1, col: int = 1,
               help: str | None = None, fix: bool = True) -> Diagnostic:
        end_line = end_col = None
        if node is not None:
            shift = cell.code.masked.col_shift.get(node.lineno, 0) if cell and cell.code else 0
            line, col = node.lineno, node.col_offset + 1 + shift
            end_line = getattr(node, "end_lineno", None)
            end = getattr(node, "end_col_offset", None)
            end_col = None if end is None else end + 1 + shift
        return Diagnostic(
            code=self.code, name=self.name, severity=self.severity, message=message,
            path=ctx.path, cell=None if cell is None else cell.index,
            cell_id=None if cell is None else cell.id, line=line, col=col,
            end_line=end_line, end_col=end_col, help=help,
            fix=self.fix_title if fix and self.fix_safety else None,
            fix_safety=self.fix_safety if fix and self.fix_safety else None,
        )

    # -- documentation ---------------------------------------------------------------------

    @classmethod
    def doc(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def summary(cls) -> str:
        """The docstring's first line: what the rule detects."""
        return cls.doc().split("\n", 1)[0].strip()

    @classmethod
    def sections(cls) -> dict[str, str]:
        sections: dict[str, str] = {}
        current = None
        lines: list[str] = []
        for line in cls.doc().splitlines():
            heading = line.strip().removeprefix("## ").rstrip(":")
            if heading in SECTIONS and (line.startswith("## ") or line.endswith(":")):
                if current:
                    sections[current] = "\n".join(lines).strip()
                current, lines = heading, []
            elif current:
                lines.append(line)
        if current:
            sections[current] = "\n".join(lines).strip()
        return sections

    @classmethod
    def markdown(cls) -> str:
        """The rule's documentation page."""
        fix = {"safe": "Safe fix available (`--fix`).",
               "unsafe": "Unsafe fix available (`--unsafe-fixes`).",
               None: "No automatic fix."}[cls.fix_safety]
        parts = [f"# {cls.code}: {cls.name}", "",
                 f"Severity: **{cls.severity}** · Checklist item: **{cls.category}** · {fix}", ""]
        for heading, text in cls.sections().items():
            parts += [f"## {heading}", "", text, ""]
        return "\n".join(parts).rstrip() + "\n"
