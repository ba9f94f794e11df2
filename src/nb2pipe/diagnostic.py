"""Diagnostics: what a rule found, where, and how to fix it.

The vocabulary every floor shares (see ARCHITECTURE.md): the linter's rules report
diagnostics, and so do the pipeline builder, ``convert`` and ``--auto``; the code → name table
lets those name a rule without importing the linter.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

Severity = Literal["error", "warning", "info"]
FixSafety = Literal["safe", "unsafe"]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding.

    Attributes:
        code: the rule code (``NB105``).
        name: the rule's kebab-case name (``use-before-define``).
        message: the problem, quoting the code it is about.
        path: the notebook's path as given on the command line.
        cell: 0-based index of the cell, or ``None`` for the notebook as a whole.
        cell_id: the cell's nbformat id when it has one (the panel's stable handle).
        line, col: 1-based position inside the cell's source.
        help: how to fix it by hand.
        fix: an imperative title when ``nb2pipe check --fix`` can fix it.
        fix_safety: ``"safe"`` (applied by ``--fix``) or ``"unsafe"`` (needs ``--unsafe-fixes``).
    """

    code: str
    name: str
    severity: Severity
    message: str
    path: str
    cell: int | None = None
    cell_id: str | None = None
    line: int = 1
    col: int = 1
    end_line: int | None = None
    end_col: int | None = None
    help: str | None = None
    fix: str | None = None
    fix_safety: FixSafety | None = None

    @property
    def cell_number(self) -> int | None:
        return None if self.cell is None else self.cell + 1

    @property
    def sort_key(self) -> tuple:
        return (self.path, -1 if self.cell is None else self.cell, self.line, self.col, self.code)

    @property
    def location(self) -> str:
        """``path:cell 3:2:5`` (or just ``path`` for notebook-level findings)."""
        if self.cell is None:
            return self.path
        return f"{self.path}:cell {self.cell + 1}:{self.line}:{self.col}"

    def with_path(self, path: str) -> Diagnostic:
        return replace(self, path=path)

    def to_dict(self) -> dict:
        """The JSON form shared by the CLI, the server extension and the panel."""
        return {
            "code": self.code,
            "name": self.name,
            "severity": self.severity,
            "message": self.message,
            "path": self.path,
            "cell": None if self.cell is None else {
                "index": self.cell, "number": self.cell + 1, "id": self.cell_id},
            "location": {"row": self.line, "column": self.col},
            "end_location": {"row": self.end_line or self.line,
                             "column": self.end_col or self.col},
            "help": self.help,
            "fix": None if self.fix is None else {"message": self.fix,
                                                  "applicability": self.fix_safety},
            "url": rule_url(self.code),
        }


#: Every rule's code and kebab-case name (each rule class declares the same pair; a test keeps
#: them equal). Codes are permanent: never renumber or reuse one.
RULE_NAMES: dict[str, str] = {
    "NB101": "non-linear-execution",
    "NB102": "execution-count-gap",
    "NB103": "unexecuted-cell",
    "NB104": "error-output",
    "NB105": "use-before-define",
    "NB106": "undefined-name",
    "NB201": "hard-coded-absolute-path",
    "NB202": "missing-random-seed",
    "NB203": "estimator-without-random-state",
    "NB204": "unpinned-install",
    "NB205": "undeclared-dependency",
    "NB206": "cross-notebook-state",
    "NB207": "shell-side-effect",
    "NB208": "wildcard-import",
    "NB209": "import-not-at-top",
    "NB301": "no-experiment-tracking",
    "NB302": "unversioned-model-save",
    "NB303": "no-parameters-cell",
    "NB304": "hard-coded-hyperparameter",
    "NB305": "interactive-input",
    "NB306": "all-global-scope",
    "NB401": "invalid-tag",
    "NB402": "ambiguous-producer",
    "NB403": "unserializable-step-output",
    "NB404": "defined-only-in-skipped-cell",
    "NB405": "non-literal-parameter",
    "NB406": "untagged-training-notebook",
    "NB407": "setting-not-replayed",
    "NB501": "hard-coded-secret",
    "NB601": "preprocessing-before-split",
    "NB602": "test-set-reuse",
    "NB603": "fit-on-test-data",
    "NB701": "no-dependency-file",
    "NB702": "no-tests",
    "NB703": "no-ci",
    "NB704": "unversioned-data",
    "NB901": "invalid-notebook",
    "NB902": "syntax-error",
    "NB903": "unsupported-kernel",
}


def diagnostic(code: str, message: str, path: str, cell=None, *, severity: Severity = "error",
               line: int = 1, col: int = 1, help: str | None = None) -> Diagnostic:
    """A diagnostic of rule ``code`` about ``cell`` (a notebook cell, or ``None``), named from
    :data:`RULE_NAMES`."""
    return Diagnostic(code=code, name=RULE_NAMES.get(code, code), severity=severity,
                      message=message, path=path, cell=None if cell is None else cell.index,
                      cell_id=None if cell is None else cell.id, line=line, col=col, help=help)


#: Where the rule pages are: the docs site that `make docs` builds from docs/ and that is
#: published there (its layout puts docs/rules/NB203.md at rules/NB203/). A project can point
#: elsewhere with `docs-url` in [tool.nb2pipe] (a mirror, an intranet copy).
DOCS_URL = "https://nb2pipe.readthedocs.io/en/latest/rules/{code}/"
_docs_url = DOCS_URL


def set_docs_url(template: str | None) -> None:
    """Use ``template`` (with ``{code}``) for rule links from now on; ``None``: the default."""
    global _docs_url
    _docs_url = template or DOCS_URL


def rule_url(code: str) -> str:
    return _docs_url.format(code=code)


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, never inside a word: at the last space
    (or, in code, the last bracket, comma or operator) before the limit, with "…" to say so."""
    text = " ".join(text.split()) if "\n" in text else text
    if len(text) <= limit:
        return text
    cut = text[:limit]
    for marks in (" ", "([{,=.:"):
        at = max(cut.rfind(mark) for mark in marks)
        if at >= limit // 2:
            keep = 1 if cut[at] in "([{" else 0  # `f(…` reads better than `f…`
            return cut[:at + keep].rstrip() + "…"
    return cut.rstrip() + "…"
