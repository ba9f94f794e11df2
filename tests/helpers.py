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


def run_top_to_bottom(path, expression: str, cwd) -> dict:
    """Run the notebook at ``path`` top to bottom with papermill, then evaluate
    ``expression`` (a dict of JSON-able values, in the notebook's namespace) in a last cell;
    return its value."""
    import nbformat
    import papermill

    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(
        f"import json as _json\nprint('RESULT', _json.dumps({expression}))"))
    executed = papermill.execute_notebook(notebook, None, kernel_name="python3",
                                          progress_bar=False, cwd=str(cwd))
    text = "".join(o.get("text", "") for o in executed.cells[-1].outputs)
    return json.loads(text.split("RESULT", 1)[1])
