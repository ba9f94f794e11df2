"""Writing notebooks back: atomically, in Jupyter's own format, and diffs for ``--diff``."""

from __future__ import annotations

import difflib
import os
import tempfile

from nb2pipe.notebook.model import Notebook


def dumps(raw: dict) -> str:
    """The notebook JSON as Jupyter writes it (nbformat: sorted keys, one-space indent)."""
    import nbformat

    node = nbformat.from_dict(raw)
    return nbformat.writes(node, version=nbformat.NO_CONVERT)


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
