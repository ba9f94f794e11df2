"""Read ``.ipynb`` files (and ``# %%`` text) into :class:`~nb2pipe.notebook.model.Notebook`.

Reading is total: anything that is not a usable notebook raises :class:`NotebookError`, which
carries the rule code, the message and a hint, never a bare exception from deep inside.

The JSON is checked here field by field rather than with nbformat's JSON-schema validator: the
validator costs ~1.6 ms for a median notebook (most of the 5 ms budget) and its messages name
schema paths rather than cells. nbformat itself is used for what it is the reference for:
upgrading v3 notebooks and writing notebooks back.

``check`` decodes the JSON with orjson (a dependency; twice as fast as the standard library on
notebooks full of outputs). Anything orjson refuses goes through the standard library, which
accepts what Jupyter writes (``NaN``) and words the errors. Notebooks that may be written back
are decoded by the standard library alone: orjson would turn a huge integer into a float.
"""

from __future__ import annotations

import ast
import json
import os
import re
import warnings
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency; the standard library will do
    orjson = None

from nb2pipe.notebook.magics import mask
from nb2pipe.notebook.model import Cell, Code, Notebook, SyntaxProblem

#: Larger files are refused rather than loaded (a notebook is not a data store).
MAX_BYTES = 512 * 1024 * 1024
_BOM = b"\xef\xbb\xbf"
_PARSE_FLAGS = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT


class NotebookError(Exception):
    """A file that cannot be read as a notebook.

    Attributes:
        code: the rule code to report it under (``NB901``).
        message: what is wrong.
        hint: how to fix it.
        cell_index: the 0-based cell at fault, when one is.
    """

    def __init__(self, message: str, hint: str = "", cell_index: int | None = None,
                 code: str = "NB901") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint
        self.cell_index = cell_index


def read_notebook(path: str | os.PathLike[str], fast: bool = False) -> Notebook:
    """Read and model the notebook at ``path``.

    Args:
        fast: decode with orjson, for a notebook that is only looked at (``check``). orjson
            turns an integer beyond 64 bits into a float, so a notebook that may be written
            back (fixes, tagged copies) is decoded by the standard library, which keeps it.

    Raises:
        NotebookError: the file cannot be read, is not JSON, or is not a valid notebook.
    """
    path = os.fspath(path)
    try:
        size = os.path.getsize(path)
        if size > MAX_BYTES:
            raise NotebookError(f"file is {size // (1024 * 1024)} MB, more than a notebook should be",
                                "clear the outputs (Edit > Clear All Outputs) and save again")
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise NotebookError(f"cannot read file: {error.strerror or error}",
                            "check that the file exists and is readable") from None
    return notebook_from_bytes(data, path, fast)


def notebook_from_bytes(data: bytes, path: str = "<notebook>", fast: bool = False) -> Notebook:
    """Model a notebook from the bytes of an ``.ipynb`` file (``fast``: see
    :func:`read_notebook`)."""
    if fast and orjson is not None:
        try:
            raw = orjson.loads(data[3:] if data.startswith(_BOM) else data)
        except orjson.JSONDecodeError:
            pass  # the standard library below decides, and says what is wrong
        else:
            return notebook_from_dict(raw, path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise NotebookError(f"not UTF-8 text (byte {error.start})",
                            "notebooks are UTF-8 JSON; is this really an .ipynb file?") from None
    if not text or text.isspace():  # (strip() would copy the whole file)
        raise NotebookError("the file is empty", "open it in Jupyter and save it, or delete it")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise NotebookError(f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}",
                            "the file is damaged; restore it from version control or a checkpoint") \
            from None
    except RecursionError:
        raise NotebookError("not valid JSON: nested too deeply", "") from None
    return notebook_from_dict(raw, path)


def notebook_from_dict(raw: Any, path: str = "<notebook>") -> Notebook:
    """Model a notebook from its parsed JSON (any nbformat 3 or 4)."""
    if not isinstance(raw, dict):
        raise NotebookError(f"not a notebook: the JSON is {_type(raw)}, not an object",
                            "an .ipynb file is a JSON object with `cells` and `metadata`")
    major = raw.get("nbformat")
    if major == 3 or ("worksheets" in raw and "cells" not in raw):
        raw = _upgrade_v3(raw)
        major = 4
    if major is None and "cells" not in raw:
        raise NotebookError("not a notebook: no `cells` and no `nbformat` key",
                            "an .ipynb file is a JSON object with `cells` and `metadata`")
    if major is not None and (not isinstance(major, int) or isinstance(major, bool) or major != 4):
        raise NotebookError(f"unsupported nbformat version {major!r}",
                            "nb2pipe reads nbformat 4 (and upgrades 3); re-save it with Jupyter")
    minor = raw.get("nbformat_minor", 0)
    if not isinstance(minor, int) or isinstance(minor, bool):
        minor = 0
    metadata = raw.get("metadata", {})
    if not isinstance(metadata, dict):
        raise NotebookError(f"`metadata` is {_type(metadata)}, not an object",
                            "re-save the notebook with Jupyter")
    cells_raw = raw.get("cells")
    if not isinstance(cells_raw, list):
        raise NotebookError(f"`cells` is {_type(cells_raw)}, not a list",
                            "re-save the notebook with Jupyter")
    with warnings.catch_warnings():
        # Python warns about the code it parses (`"\d"`: an invalid escape sequence): that is
        # the notebook's business, not noise for `check` to print (or, under -W error, a
        # reason to call a cell unparsable).
        warnings.simplefilter("ignore")
        cells = tuple(_cell(index, cell) for index, cell in enumerate(cells_raw))
    return Notebook(path=path, cells=cells, metadata=metadata, nbformat=4, nbformat_minor=minor,
                    raw=raw)


def parse_quietly(source: str) -> ast.Module:
    """``ast.parse`` without Python's warnings about the code (see :func:`notebook_from_dict`).

    Raises:
        SyntaxError, ValueError: as ``ast.parse``.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(source)


def parse_code(source: str) -> Code:
    """Mask IPython syntax and parse a code cell's source; a failure is data, never raised."""
    masked = mask(source)
    if masked.foreign:
        return Code(masked, ast.Module(body=[], type_ignores=[]), None)
    try:
        tree = compile(masked.source, "<cell>", "exec", _PARSE_FLAGS, dont_inherit=True)
    except SyntaxError as error:
        line = error.lineno or 1
        col = (error.offset or 1) + masked.col_shift.get(line, 0)
        message = error.msg or "invalid syntax"
        return Code(masked, None, SyntaxProblem(line, max(col, 1), message))
    except (ValueError, RecursionError, MemoryError, OverflowError) as error:
        message = "source contains a null byte" if isinstance(error, ValueError) else \
            "the code is nested too deeply to parse"
        return Code(masked, None, SyntaxProblem(1, 1, message))
    return Code(masked, tree, None)


def _cell(index: int, cell: Any) -> Cell:
    where = f"cell {index + 1}"
    if not isinstance(cell, dict):
        raise NotebookError(f"{where} is {_type(cell)}, not an object",
                            "re-save the notebook with Jupyter", index)
    cell_type = cell.get("cell_type")
    if cell_type not in ("code", "markdown", "raw"):
        raise NotebookError(f"{where} has cell_type {cell_type!r}",
                            "cell_type is one of code, markdown, raw", index)
    source = cell.get("source", "")
    if type(source) is not str:
        source = _text(source, f"{where}: `source`", index)
    metadata = cell.get("metadata", {})
    if not isinstance(metadata, dict):
        raise NotebookError(f"{where}: `metadata` is {_type(metadata)}, not an object",
                            "re-save the notebook with Jupyter", index)
    tags = metadata.get("tags")
    tags = tuple(t for t in tags if isinstance(t, str)) \
        if tags and isinstance(tags, (list, tuple)) else ()
    cell_id = cell.get("id")
    if not isinstance(cell_id, str):
        cell_id = None
    if cell_type != "code":
        return Cell(index, cell_id, cell_type, source, tags, None, (), metadata, None)
    count = cell.get("execution_count")
    if not isinstance(count, int) or isinstance(count, bool):
        count = None
    outputs = cell.get("outputs", [])
    if not isinstance(outputs, list):
        raise NotebookError(f"{where}: `outputs` is {_type(outputs)}, not a list",
                            "clear the outputs and save again", index)
    outputs = tuple(o for o in outputs if isinstance(o, dict))
    return Cell(index, cell_id, "code", source, tags, count, outputs, metadata, parse_code(source))


def _text(value: Any, what: str, index: int | None) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        try:
            return "".join(value)
        except TypeError:
            pass  # an item is not a string
    raise NotebookError(f"{what} must be a string or a list of strings, not {_type(value)}",
                        "re-save the notebook with Jupyter", index)


def _upgrade_v3(raw: dict[str, Any]) -> dict[str, Any]:
    import nbformat  # only for the rare v3 notebook

    try:
        node = nbformat.from_dict(raw)
        upgraded = nbformat.convert(node, 4)
    except Exception as error:  # nbformat raises many types on bad v3 input
        raise NotebookError(f"an nbformat 3 notebook that cannot be upgraded: {error}",
                            "open it in Jupyter and save it as nbformat 4") from None
    return json.loads(json.dumps(upgraded))


def _type(value: Any) -> str:
    """What a JSON value is, with its article: "an object", "a list", "null"…"""
    return {dict: "an object", list: "a list", str: "a string", int: "a number",
            float: "a number", bool: "a boolean", type(None): "null"}.get(
        type(value), f"a {type(value).__name__}")


# -- `# %%` percent-format text, for rule examples and tests ------------------------------------

_HEADER = re.compile(r"^# %%(?:[ \t]+\[(?P<kind>markdown|md|raw)\])?(?P<attrs>.*)$")
_ATTR = re.compile(r"(?:^|\s)([A-Za-z_]+)=")


def notebook_from_percent(text: str, path: str = "<example>", metadata: dict | None = None) \
        -> Notebook:
    """Build a notebook from ``# %%`` percent-format text.

    A header may carry JSON attributes: ``# %% tags=["parameters"] execution_count=3
    outputs=[{"output_type": "error", ...}]``. ``# %% [markdown]`` starts a markdown cell whose
    lines lose their leading ``# ``. Cells get ids ``cell-1``, ``cell-2``…
    """
    cells: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    lines: list[str] = []

    def close() -> None:
        if current is None:
            if "".join(lines).strip():
                cells.append(_new_cell("code", lines, {}))
            return
        cells.append(_new_cell(current["kind"], lines, current["attrs"]))

    for line in text.split("\n"):
        header = _HEADER.match(line)
        if header:
            close()
            kind = header.group("kind") or "code"
            current = {"kind": "markdown" if kind == "md" else kind,
                       "attrs": _attributes(header.group("attrs"))}
            lines = []
        else:
            lines.append(line)
    close()
    for number, cell in enumerate(cells, 1):
        cell.setdefault("id", f"cell-{number}")
    raw = {"nbformat": 4, "nbformat_minor": 5, "cells": cells,
           "metadata": metadata if metadata is not None else {
               "kernelspec": {"name": "python3", "display_name": "Python 3",
                              "language": "python"},
               "language_info": {"name": "python"}}}
    return notebook_from_dict(raw, path)


def _attributes(text: str) -> dict[str, Any]:
    text = text.strip()
    keys = list(_ATTR.finditer(text))
    attrs: dict[str, Any] = {}
    for number, match in enumerate(keys):
        end = keys[number + 1].start() if number + 1 < len(keys) else len(text)
        attrs[match.group(1)] = json.loads(text[match.end():end])
    return attrs


def _new_cell(kind: str, lines: list[str], attrs: dict[str, Any]) -> dict[str, Any]:
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    if kind == "markdown":
        lines = [line[2:] if line.startswith("# ") else line.lstrip("#") for line in lines]
    source = "\n".join(lines)
    metadata: dict[str, Any] = dict(attrs.pop("metadata", {}))
    if "tags" in attrs:
        metadata["tags"] = attrs.pop("tags")
    cell: dict[str, Any] = {"cell_type": kind, "metadata": metadata, "source": source}
    if "id" in attrs:
        cell["id"] = attrs.pop("id")
    if kind == "code":
        cell["execution_count"] = attrs.pop("execution_count", None)
        cell["outputs"] = attrs.pop("outputs", [])
    return cell
