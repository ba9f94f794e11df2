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

from nb2pipe.notebook.model import Notebook

#: Mime types nbformat splits into lines besides ``text/*``.
_SPLIT_MIMES = frozenset({"application/javascript", "image/svg+xml"})


def dumps(raw: dict) -> str:
    """The notebook JSON as Jupyter writes it."""
    notebook = copy.deepcopy(raw)
    metadata = notebook.get("metadata")
    if isinstance(metadata, dict):
        for key in ("orig_nbformat", "orig_nbformat_minor", "signature"):
            metadata.pop(key, None)
    for cell in notebook.get("cells", []):
        if isinstance(cell.get("source"), str):
            cell["source"] = cell["source"].splitlines(True)
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
            elif kind == "stream" and isinstance(output.get("text"), str):
                output["text"] = output["text"].splitlines(True)
    return json.dumps(notebook, indent=1, sort_keys=True, separators=(",", ": "),
                      ensure_ascii=False)


def _split_bundle(data: dict) -> None:
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


def write_notebook(path: str, raw: dict) -> None:
    """Write ``raw`` to ``path`` atomically: readers see the old file or the new one, whole."""
    text = dumps(raw)
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
    """A unified diff of cell sources and tags, cell by cell (matched by id, else position)."""
    out: list[str] = []
    path = before.path
    old_by_id = {c.id: c for c in before.cells if c.id}
    matched: set[int] = set()
    for cell in after.cells:
        old = old_by_id.get(cell.id) if cell.id else (
            before.cells[cell.index] if cell.index < len(before.cells) else None)
        if old is not None:
            matched.add(old.index)
        old_text = _cell_text(old) if old is not None else []
        new_text = _cell_text(cell)
        if old_text == new_text:
            continue
        label_old = f"{path}:cell {old.number}" if old is not None else "/dev/null"
        label_new = f"{path}:cell {cell.number}"
        out.extend(difflib.unified_diff(old_text, new_text, label_old, label_new, lineterm=""))
    for cell in before.cells:
        if cell.index not in matched and cell.id and cell.id not in {c.id for c in after.cells}:
            out.extend(difflib.unified_diff(_cell_text(cell), [], f"{path}:cell {cell.number}",
                                            "/dev/null", lineterm=""))
    return "\n".join(out) + ("\n" if out else "")


def _cell_text(cell) -> list[str]:
    lines = cell.source.splitlines()
    if cell.tags:
        lines = [f"# tags: {', '.join(cell.tags)}"] + lines
    return lines
