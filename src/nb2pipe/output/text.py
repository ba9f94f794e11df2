"""Human-readable output: ``full`` (with the code and a hint) and ``concise`` (one line each)."""

from __future__ import annotations

import os
import sys

from nb2pipe.diagnostic import Diagnostic

_COLOURS = {"error": "31", "warning": "33", "info": "36", "code": "1;31", "dim": "2",
            "bold": "1", "path": "1", "help": "36"}


def use_colour(stream=None) -> bool:
    stream = stream or sys.stdout
    return not os.environ.get("NO_COLOR") and hasattr(stream, "isatty") and stream.isatty() \
        and os.environ.get("TERM") != "dumb"


def paint(text: str, style: str, colour: bool) -> str:
    return f"\x1b[{_COLOURS[style]}m{text}\x1b[0m" if colour else text


def headline(d: Diagnostic, colour: bool) -> str:
    fix = " [*]" if d.fix and d.fix_safety == "safe" else " [-]" if d.fix else ""
    return f"{paint(d.location, 'path', colour)}: {paint(d.code, 'code', colour)}{fix} {d.message}"


def render_concise(results, colour: bool = False, **_) -> str:
    lines = [headline(d, colour) for r in results for d in r.diagnostics]
    return "\n".join(lines) + ("\n" if lines else "")


def render_full(results, colour: bool = False, **_) -> str:
    out: list[str] = []
    for result in results:
        notebook = result.notebook
        for d in result.diagnostics:
            out.append(headline(d, colour))
            source = result.quotes.get((d.cell, d.line), "") if d.cell is not None else ""
            if not source and d.cell is not None and notebook is not None and \
                    d.cell < len(notebook.cells):
                source = notebook.cells[d.cell].line(d.line)
            if source.strip():
                gutter = str(d.line)
                pad = " " * len(gutter)
                width = 1
                if d.end_line == d.line and d.end_col and d.end_col > d.col:
                    width = d.end_col - d.col
                expanded = source.expandtabs(4)
                col = min(d.col, len(expanded) + 1)
                out.append(paint(f"{pad} |", "dim", colour))
                out.append(f"{paint(gutter + ' |', 'dim', colour)} {expanded.rstrip()}")
                out.append(f"{paint(pad + ' |', 'dim', colour)} {' ' * (col - 1)}"
                           f"{paint('^' * max(1, min(width, 80)), 'code', colour)}")
            if d.help:
                out.append(f"  {paint('= help:', 'help', colour)} {d.help}")
            out.append("")
    return "\n".join(out) + ("\n" if out else "")
