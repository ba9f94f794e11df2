"""Where a cell's source lines sit in the ``.ipynb`` file itself, for SARIF and GitHub.

Jupyter writes each source line of a cell on its own line of the JSON file (``"source": [``
followed by one string per line). Annotations in CI point at those lines, so a reviewer sees
them on the right line of the diff.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache

_SOURCE_KEY = re.compile(r'"source"\s*:\s*(\[)?')


@lru_cache(maxsize=64)
def source_lines(path: str) -> tuple[tuple[int, bool], ...] | None:
    """Per cell: the 1-based file line of ``"source"`` and whether the source is a list."""
    try:
        with open(path, encoding="utf-8-sig") as handle:
            text = handle.read()
        data = json.loads(text)
    except (OSError, ValueError):
        return None
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, list):
        return None
    found = []
    for match in _SOURCE_KEY.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        found.append((line, match.group(1) is not None))
    if len(found) != len(cells):
        return None
    return tuple(found)


def file_position(path: str, cell: int | None, line: int) -> int:
    """The 1-based line in the file of ``line`` of ``cell`` (1 when unknown)."""
    if cell is None:
        return 1
    table = source_lines(path)
    if table is None or cell >= len(table):
        return 1
    start, is_list = table[cell]
    return start + line if is_list else start
