"""The notebook model: frozen dataclasses built once from the JSON, at the edge."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from nb2pipe.notebook.magics import Masked


@dataclass(frozen=True, slots=True)
class SyntaxProblem:
    """Why a code cell does not parse (after its IPython syntax is masked)."""

    line: int
    col: int
    message: str


@dataclass(frozen=True, slots=True)
class Code:
    """The Python side of a code cell: masked source, magics and the parsed tree."""

    masked: Masked
    tree: ast.Module | None
    error: SyntaxProblem | None

    @property
    def magics(self):
        return self.masked.magics


@dataclass(frozen=True, slots=True)
class Cell:
    """One cell. ``index`` is 0-based; users see ``number`` (1-based, all cell types counted)."""

    index: int
    id: str | None
    cell_type: str
    source: str
    tags: tuple[str, ...] = ()
    execution_count: int | None = None
    outputs: tuple[dict[str, Any], ...] = field(default=(), compare=False, repr=False)
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    code: Code | None = field(default=None, compare=False, repr=False)

    @property
    def number(self) -> int:
        return self.index + 1

    @property
    def is_code(self) -> bool:
        return self.cell_type == "code"

    @property
    def is_empty(self) -> bool:
        source = self.source
        return not source or source.isspace()

    @property
    def tree(self) -> ast.Module | None:
        return self.code.tree if self.code else None

    def line(self, number: int) -> str:
        """The 1-based ``number``-th line of the source, or ``""``."""
        lines = self.source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        return lines[number - 1] if 0 < number <= len(lines) else ""


@dataclass(frozen=True)
class Notebook:
    """A notebook as nb2pipe sees it. ``raw`` is the JSON as read, kept for fixes."""

    path: str
    cells: tuple[Cell, ...]
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    nbformat: int = 4
    nbformat_minor: int = 5
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def code_cells(self) -> tuple[Cell, ...]:
        return tuple(c for c in self.cells if c.is_code)

    @property
    def language(self) -> str:
        """The kernel's language, lower case (``"python"`` when the notebook does not say)."""
        kernelspec = self.metadata.get("kernelspec") or {}
        info = self.metadata.get("language_info") or {}
        language = ""
        if isinstance(kernelspec, dict):
            language = str(kernelspec.get("language") or "")
        if not language and isinstance(info, dict):
            language = str(info.get("name") or "")
        return language.strip().lower() or "python"

    @property
    def kernel_name(self) -> str:
        kernelspec = self.metadata.get("kernelspec") or {}
        return str(kernelspec.get("name") or "") if isinstance(kernelspec, dict) else ""
