"""Helpers shared by the tests: notebooks on disk from ``# %%`` text, running the CLI."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout

from nb2pipe.cli import main
from nb2pipe.notebook import notebook_from_percent


def write_notebook(path, source: str, metadata=None):
    notebook = notebook_from_percent(source, str(path), metadata)
    path.write_text(json.dumps(notebook.raw, indent=1))
    return path


def run_cli(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()
