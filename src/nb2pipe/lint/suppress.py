"""Suppressions: ``# noqa: NB201``, the cell tag ``nb2pipe:ignore=…``, notebook metadata
``{"nb2pipe": {"ignore": [...]}}`` and ``per-file-ignores``."""

from __future__ import annotations

import fnmatch
import os
import re

from nb2pipe.diagnostic import Diagnostic
from nb2pipe.notebook.model import Notebook

_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Za-z0-9_,\s-]+))?", re.IGNORECASE)
IGNORE_TAG = "nb2pipe:ignore"


def _matches(code: str, name: str, selectors: set[str]) -> bool:
    return "ALL" in selectors or code in selectors or name in selectors or \
        any(code.startswith(s) for s in selectors if s.startswith("NB") and len(s) < 5)


def parse_selectors(text: str) -> set[str]:
    """The codes and rule names written in ``text`` (``"NB201, nb105 hard-coded-secret"``)."""
    return {part.strip().upper() if part.strip().upper().startswith("NB") else part.strip()
            for part in re.split(r"[,\s]+", text) if part.strip()}


def notebook_ignores(notebook: Notebook) -> set[str]:
    meta = notebook.metadata.get("nb2pipe")
    ignore = meta.get("ignore") if isinstance(meta, dict) else None
    if isinstance(ignore, str):
        return parse_selectors(ignore)
    if isinstance(ignore, list):
        return {str(s).strip().upper() for s in ignore}
    return set()


def cell_ignores(tags: tuple[str, ...]) -> set[str]:
    selectors: set[str] = set()
    for tag in tags:
        if tag == IGNORE_TAG:
            selectors.add("ALL")
        elif tag.startswith(IGNORE_TAG + "="):
            selectors |= parse_selectors(tag.split("=", 1)[1])
    return selectors


def line_ignores(line: str) -> set[str] | None:
    """The codes a ``# noqa`` comment on ``line`` suppresses (``{"ALL"}`` for a bare one)."""
    if "noqa" not in line.lower():
        return None
    match = _NOQA.search(line)
    if match is None:
        return None
    codes = match.group("codes")
    return parse_selectors(codes) if codes else {"ALL"}


def file_ignores(path: str, per_file_ignores: dict[str, list[str]], root: str) -> set[str]:
    selectors: set[str] = set()
    if not per_file_ignores:
        return selectors
    absolute = os.path.abspath(path)
    relative = os.path.relpath(absolute, root)
    for pattern, codes in per_file_ignores.items():
        if fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(os.path.basename(path), pattern) \
                or fnmatch.fnmatch(absolute, pattern):
            selectors |= {c.upper() for c in codes}
    return selectors


def apply(diagnostics: list[Diagnostic], notebook: Notebook,
          extra: set[str] = frozenset()) -> list[Diagnostic]:
    """Drop the diagnostics that a suppression covers."""
    whole = notebook_ignores(notebook) | set(extra)
    kept = []
    for diagnostic in diagnostics:
        if whole and _matches(diagnostic.code, diagnostic.name, whole):
            continue
        if diagnostic.cell is not None and diagnostic.cell < len(notebook.cells):
            cell = notebook.cells[diagnostic.cell]
            tagged = cell_ignores(cell.tags)
            if tagged and _matches(diagnostic.code, diagnostic.name, tagged):
                continue
            noqa = line_ignores(cell.line(diagnostic.line)) if cell.is_code else None
            if noqa and _matches(diagnostic.code, diagnostic.name, noqa):
                continue
        kept.append(diagnostic)
    return kept
