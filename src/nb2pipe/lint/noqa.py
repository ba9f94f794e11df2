"""``nb2pipe check --add-noqa``: suppress every current finding, to adopt the linter on old
notebooks and hold new ones to the rules.

A finding in a cell gets the cell tag ``nb2pipe:ignore=CODE,…`` (a tag rather than a
``# noqa`` comment: it suppresses execution-order findings too, which have no line of their
own, and it never edits code or IPython lines). A finding about the whole notebook goes into
its metadata, ``{"nb2pipe": {"ignore": [...]}}``. Outputs, ids and other metadata are kept and
the file is written atomically. Findings about the project (NB7xx) and files that cannot be
read (NB901) have no place in a notebook: they stay.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nb2pipe.lint.suppress import IGNORE_TAG, cell_ignores, parse_selectors


@dataclass
class Suppressed:
    result: Any  # nb2pipe.lint.runner.FileResult: what is still reported
    added: int = 0  # findings suppressed in this notebook


def add_noqa_file(job) -> Suppressed:
    """Suppress the findings of one file, ``job`` = (path, codes, settings). Never raises: a
    failure leaves the file as it was and is reported like a crash of the rules."""
    import copy

    from nb2pipe.lint import suppress
    from nb2pipe.lint.runner import FileResult, lint_file, lint_notebook, quotes_for
    from nb2pipe.notebook.reader import notebook_from_dict
    from nb2pipe.notebook.writer import write_notebook

    path, codes, settings = job
    first = lint_file(path, set(codes), settings, keep_notebook=True)
    notebook = first.notebook
    first.notebook = None
    if notebook is None or not first.diagnostics:
        return Suppressed(first)
    try:
        raw = copy.deepcopy(notebook.raw)
        by_cell: dict[int, set[str]] = {}
        whole: set[str] = set()
        for diagnostic in first.diagnostics:
            if diagnostic.cell is None:
                whole.add(diagnostic.code)
            else:
                by_cell.setdefault(diagnostic.cell, set()).add(diagnostic.code)
        for index, found in by_cell.items():
            _tag_cell(raw["cells"][index], found)
        if whole:
            _ignore_in_metadata(raw, whole)
        edited = notebook_from_dict(raw, path)
        extra = suppress.file_ignores(path, settings.per_file_ignores, settings.root)
        remaining = lint_notebook(edited, codes, extra)
        write_notebook(path, raw)
    except Exception as error:  # a bug here must not stop the other files
        return Suppressed(FileResult(path, first.diagnostics, None,
                                     f"adding suppressions: {type(error).__name__}: {error}"))
    result = FileResult(path, remaining, None, has_steps=first.has_steps, trains=first.trains,
                        quotes=quotes_for(edited, remaining))
    return Suppressed(result, len(first.diagnostics) - len(remaining))


def _tag_cell(cell: dict, codes: set[str]) -> None:
    """Add ``codes`` to the cell's ``nb2pipe:ignore=…`` tag (one tag, merged with any there)."""
    metadata = cell.setdefault("metadata", {})
    tags = metadata.get("tags")
    if not isinstance(tags, list):
        tags = metadata["tags"] = []
    ignoring = [t for t in tags if isinstance(t, str) and t.startswith(IGNORE_TAG + "=")]
    merged = set(codes) | cell_ignores(tuple(ignoring))
    tags[:] = [t for t in tags if t not in ignoring] + \
        [f"{IGNORE_TAG}={','.join(sorted(merged))}"]


def _ignore_in_metadata(raw: dict, codes: set[str]) -> None:
    """Add ``codes`` to ``metadata.nb2pipe.ignore`` (a list, merged with what is there)."""
    metadata = raw.setdefault("metadata", {})
    section = metadata.get("nb2pipe")
    if not isinstance(section, dict):
        section = metadata["nb2pipe"] = {}
    existing = section.get("ignore")
    if isinstance(existing, str):
        existing = parse_selectors(existing)
    elif not isinstance(existing, list):
        existing = []
    section["ignore"] = sorted({str(code) for code in existing} | codes)
