"""GitHub Actions workflow commands: annotations on the lines of the ``.ipynb`` file."""

from __future__ import annotations

from nb2pipe.output.locations import file_position

_LEVELS = {"error": "error", "warning": "warning", "info": "notice"}


def _escape(text: str, property_value: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def render_github(results, **_) -> str:
    lines = []
    for result in results:
        for d in result.diagnostics:
            line = file_position(d.path, d.cell, d.line)
            where = f"cell {d.cell + 1}, line {d.line}: " if d.cell is not None else ""
            title = _escape(f"{d.code} {d.name}", True)
            if getattr(result, "is_folder", False):  # about a folder: no file, no line
                lines.append(f"::{_LEVELS[d.severity]} title={title}::"
                             f"{_escape(f'{d.path}: {d.message}')}")
                continue
            lines.append(f"::{_LEVELS[d.severity]} file={_escape(d.path, True)},line={line},"
                         f"title={title}::{_escape(where + d.message)}")
    return "\n".join(lines) + ("\n" if lines else "")
