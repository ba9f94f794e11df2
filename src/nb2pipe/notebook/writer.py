"""Writing notebooks: atomically, in Jupyter's own format, and diffs for ``--diff``.

The JSON is laid out exactly as nbformat writes version 4 (sorted keys, one-space indent,
multi-line strings split into lines, transient fields dropped); the test suite checks it byte
for byte against ``nbformat.writes``. nbformat itself is not imported here: with the JSON-schema
format checkers a Jupyter install brings, importing it costs over a second, which
``check --fix`` and ``convert`` should not pay.
"""

from __future__ import annotations

import copy
import difflib
import json
import os
import tempfile
from dataclasses import dataclass

from nb2pipe.notebook.model import Notebook

#: Mime types nbformat splits into lines besides ``text/*``.
_SPLIT_MIMES = frozenset({"application/javascript", "image/svg+xml"})


@dataclass(frozen=True)
class Style:
    """How a notebook file lays out its JSON, so that a rewrite keeps it: a fixed notebook
    differs from the original only in the cells that changed. The default is Jupyter's."""

    indent: int | None = 1
    sort_keys: bool = True
    ensure_ascii: bool = False
    final_newline: bool = True
    split_lines: bool = True  # sources and outputs as lists of lines, as nbformat writes
    compact: bool = False  # on one line, no space after `,` and `:` (Colab's downloads)


JUPYTER = Style()


def style_of(text: str) -> Style:
    """The layout of the notebook JSON ``text``."""
    indent: int | None = None
    for line in text.splitlines()[1:3]:
        stripped = line.lstrip(" ")
        if stripped and len(stripped) < len(line):
            indent = len(line) - len(stripped)
            break
    try:
        raw = json.loads(text)
    except ValueError:
        return JUPYTER
    keys = list(raw) if isinstance(raw, dict) else []
    cells = raw.get("cells") if isinstance(raw, dict) else None
    first = cells[0] if isinstance(cells, list) and cells and isinstance(cells[0], dict) else {}
    sort_keys = keys == sorted(keys) and list(first) == sorted(first)
    non_ascii = any(ord(ch) > 127 for ch in text)
    escaped = "\\u" in text and not non_ascii
    sources = [c.get("source") for c in cells or [] if isinstance(c, dict)]
    split_lines = not any(isinstance(source, str) and "\n" in source for source in sources)
    compact = indent is None and text.lstrip().startswith('{"') and '": ' not in text[:200] \
        and '", "' not in text[:200]
    return Style(indent, sort_keys, escaped, text.endswith("\n"), split_lines, compact)


def dumps(raw: dict, style: Style = JUPYTER) -> str:
    """The notebook JSON as Jupyter writes it, or in ``style`` (the original file's)."""
    notebook = copy.deepcopy(raw)
    metadata = notebook.get("metadata")
    if isinstance(metadata, dict):
        for key in ("orig_nbformat", "orig_nbformat_minor", "signature"):
            metadata.pop(key, None)
    for cell in notebook.get("cells", []):
        if isinstance(cell.get("source"), str) and style.split_lines:
            cell["source"] = cell["source"].splitlines(True)
        elif isinstance(cell.get("source"), list) and not style.split_lines:
            cell["source"] = "".join(cell["source"])
        if isinstance(cell.get("metadata"), dict):
            cell["metadata"].pop("trusted", None)
        for attachment in (cell.get("attachments") or {}).values():
            _split_bundle(attachment)
        if cell.get("cell_type") != "code":
            continue
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind in ("execute_result", "display_data"):
                _split_bundle(output.get("data", {}))
            elif kind == "stream" and isinstance(output.get("text"), str) and \
                    style.split_lines:
                output["text"] = output["text"].splitlines(True)
    text = json.dumps(notebook, indent=style.indent, sort_keys=style.sort_keys,
                      separators=(",", ": ") if style.indent is not None else
                      (",", ":") if style.compact else (", ", ": "),
                      ensure_ascii=style.ensure_ascii)
    return text + "\n" if style.final_newline else text


def _split_bundle(data: dict, style: Style = JUPYTER) -> None:
    for key, value in list(data.items()):
        if isinstance(value, str) and (key.startswith("text/") or key in _SPLIT_MIMES):
            data[key] = value.splitlines(True)


def new_code_cell(source: str, metadata: dict | None = None, cell_id: str = "") -> dict:
    return {"cell_type": "code", "execution_count": None, "id": cell_id,
            "metadata": dict(metadata or {}), "outputs": [], "source": source}


def new_markdown_cell(source: str, cell_id: str = "") -> dict:
    return {"cell_type": "markdown", "id": cell_id, "metadata": {}, "source": source}


def new_notebook(cells: list[dict], metadata: dict) -> dict:
    return {"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}


def write_notebook(path: str, raw: dict, style: Style | None = None) -> None:
    """Write ``raw`` to ``path`` atomically: readers see the old file or the new one, whole.
    A file that exists keeps its layout (indent, key order, escaping, final newline) unless
    ``style`` says otherwise; a new one is laid out as Jupyter does."""
    if style is None:
        try:
            with open(path, encoding="utf-8-sig") as handle:
                style = style_of(handle.read())
        except (OSError, UnicodeDecodeError):
            style = JUPYTER
    text = dumps(raw, style)
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".nb2pipe-", suffix=".ipynb", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        try:
            os.chmod(temporary, os.stat(path).st_mode & 0o777)
        except OSError:
            pass
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def notebook_diff(before: Notebook, after: Notebook) -> str:
    """A unified diff of cell sources and tags, cell by cell.

    Cells are matched by id when both notebooks have ids, else by aligning their texts, so
    that a cell added or removed shows as one cell, not as every cell below it changing.
    """
    old_cells, new_cells = list(before.cells), list(after.cells)
    pairs: list[tuple] = []  # (old cell or None, new cell or None)
    if all(c.id for c in old_cells + new_cells):
        new_ids = {c.id for c in new_cells}
        old_by_id = {c.id: c for c in old_cells}
        pairs = [(old_by_id.get(c.id), c) for c in new_cells]
        pairs += [(c, None) for c in old_cells if c.id not in new_ids]
    else:
        old_texts = [tuple(_cell_text(c)) for c in old_cells]
        new_texts = [tuple(_cell_text(c)) for c in new_cells]
        matcher = difflib.SequenceMatcher(None, old_texts, new_texts, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                continue
            pairs += _pair_similar(old_cells[i1:i2], new_cells[j1:j2])
    out: list[str] = []
    path = before.path
    for old, new in pairs:
        old_text = _cell_text(old) if old is not None else []
        new_text = _cell_text(new) if new is not None else []
        if old_text == new_text:
            continue
        label_old = f"{path}:cell {old.number}" if old is not None else "/dev/null"
        label_new = f"{path}:cell {new.number}" if new is not None else "/dev/null"
        out.extend(difflib.unified_diff(old_text, new_text, label_old, label_new, lineterm=""))
    return "\n".join(out) + ("\n" if out else "")


def _pair_similar(olds: list, news: list) -> list[tuple]:
    """Pair changed cells in order, each old cell with the most similar new one after the
    last pair; cells left over were added or removed."""
    pairs: list[tuple] = []
    start = 0
    for old in olds:
        text = "\n".join(_cell_text(old))
        scores = [(difflib.SequenceMatcher(None, text, "\n".join(_cell_text(new)),
                                           autojunk=False).quick_ratio(), n)
                  for n, new in enumerate(news[start:], start)]
        best = max(scores, default=(0.0, None))
        if best[1] is None or best[0] < 0.5:
            pairs.append((old, None))
            continue
        pairs += [(None, new) for new in news[start:best[1]]]
        pairs.append((old, news[best[1]]))
        start = best[1] + 1
    return pairs + [(None, new) for new in news[start:]]


def _cell_text(cell) -> list[str]:
    lines = cell.source.splitlines()
    if cell.tags:
        lines = [f"# tags: {', '.join(cell.tags)}"] + lines
    return lines
