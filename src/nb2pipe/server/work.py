"""What the server's routes compute, off Jupyter's event loop: each function takes the raw
request body (and the server's root), runs in a worker process of a bounded pool
(:mod:`nb2pipe.server.handlers`), and returns ``(status, payload)``.

Parsing the body happens here too: decoding a 60 MB notebook holds the interpreter for a
while, which in the server's own process would stall every other request. Every request that
is wrong gets a 4xx with a one-line message saying which field and what it must be — never a
500, never Python's own error text.
"""

from __future__ import annotations

import json
import os
import shlex
from typing import Any


class Refused(Exception):
    """A request that cannot be served: its HTTP status and a one-line message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _answer(function):
    """Run ``function``; a :class:`Refused` becomes its status and message, any other error
    a 422 naming its type (it is a bug of nb2pipe's, but the panel gets a clear answer)."""

    def wrapper(*args) -> tuple[int, dict]:
        try:
            return function(*args)
        except Refused as refused:
            return refused.status, {"message": refused.message}
        except RecursionError:
            return 422, {"message": "the notebook nests too deeply to be analysed"}
        except Exception as error:  # noqa: BLE001  (never a 500 to the panel)
            return 422, {"message": f"nb2pipe could not handle this request "
                                    f"({type(error).__name__}); please report it"}

    wrapper.__name__ = function.__name__
    wrapper.__qualname__ = function.__qualname__
    wrapper.__module__ = function.__module__  # (the pool pickles it by name)
    return wrapper


def parse(body: bytes) -> dict:
    try:
        data = json.loads(body or b"{}")
    except (ValueError, RecursionError):
        raise Refused(400, "the body is not JSON") from None
    if not isinstance(data, dict):
        raise Refused(400, "the body must be a JSON object")
    return data


def text_field(data: dict, name: str, default: str | None = None) -> str | None:
    value = data.get(name, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise Refused(400, f"`{name}` must be a string")
    if "\x00" in value:
        raise Refused(400, f"`{name}` must not contain a NUL character")
    if len(value) > 4096:
        raise Refused(400, f"`{name}` is longer than 4096 characters")
    return value


def codes_field(data: dict, name: str) -> list[str] | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Refused(400, f"`{name}` must be a list of rule codes (strings like \"NB203\")")
    return value


def local_path(root: str, relative: str, must_exist: bool = True) -> str:
    """``relative`` under ``root``, or a 403 if it leads outside it."""
    candidate = os.path.realpath(os.path.join(root, relative.lstrip("/")))
    if candidate != root and not candidate.startswith(root + os.sep):
        raise Refused(403, f"`{relative}` is outside the server's root")
    if must_exist and not os.path.exists(candidate):
        raise Refused(404, f"`{relative}` does not exist")
    return candidate


def selection(data: dict) -> set[str]:
    from nb2pipe.lint.registry import SelectionError, resolve

    try:
        return resolve(codes_field(data, "select"), codes_field(data, "extend_select") or [],
                       codes_field(data, "ignore") or [])
    except SelectionError as error:
        raise Refused(400, str(error)) from None


def use_docs_url(notebook_path: str) -> None:
    """Findings link to the docs site the notebook's project names (``[tool.nb2pipe]
    docs-url``), as on the command line; a broken pyproject keeps the default."""
    from nb2pipe.diagnostic import set_docs_url
    from nb2pipe.lint.config import ConfigError, load_settings

    try:
        set_docs_url(load_settings(os.path.dirname(notebook_path)).docs_url)
    except ConfigError:
        set_docs_url(None)


def notebook_from(data: dict, root: str):
    from nb2pipe.notebook.reader import NotebookError, notebook_from_dict

    path = text_field(data, "path") or "notebook.ipynb"
    raw = data.get("notebook")
    if not isinstance(raw, dict):
        raise Refused(400, "`notebook` must be the notebook's JSON object")
    try:
        return notebook_from_dict(raw, local_path(root, path, must_exist=False)), None
    except NotebookError as error:
        return None, {"code": error.code, "message": error.message, "help": error.hint,
                      "cell": error.cell_index}


@_answer
def check(body: bytes, root: str) -> tuple[int, dict]:
    from nb2pipe.lint.maturity import assess, has_step_tags
    from nb2pipe.lint.rules._pipeline import pipeline_build
    from nb2pipe.lint.runner import error_diagnostic, lint_notebook_analysed
    from nb2pipe.notebook.reader import NotebookError
    from nb2pipe.pipeline.outline import outline

    data = parse(body)
    codes = selection(data)
    notebook, problem = notebook_from(data, root)
    steps = None
    use_docs_url(local_path(root, text_field(data, "path") or "notebook.ipynb",
                            must_exist=False))
    if notebook is None:
        error = NotebookError(problem["message"], problem["help"] or "", problem["cell"])
        diagnostics = [error_diagnostic(text_field(data, "path") or "notebook.ipynb", error)]
        maturity = assess(diagnostics[0].path, diagnostics)
    else:
        generated = (notebook.raw.get("metadata") or {}).get("nb2pipe")
        if isinstance(generated, dict) and generated.get("step"):
            # a step notebook nb2pipe wrote (papermill/, runs/): its source is the user's
            # notebook, which is where findings and Convert belong
            return 200, {"diagnostics": [], "maturity": None, "fixable": 0,
                         "generated": {"pipeline": str(generated.get("pipeline", "")),
                                       "step": str(generated.get("step"))}}
        diagnostics, analysis = lint_notebook_analysed(notebook, codes)
        maturity = assess(notebook.path, diagnostics, has_step_tags(notebook))
        if analysis is not None:  # the steps as tagged now: the cells' chips and the DAG
            steps = outline(notebook, pipeline_build(notebook, analysis))
    return 200, {"diagnostics": [d.to_dict() for d in diagnostics],
                 "maturity": maturity.to_dict(),
                 "fixable": sum(1 for d in diagnostics if d.fix),
                 "steps": steps}


@_answer
def fix(body: bytes, root: str) -> tuple[int, dict]:
    from nb2pipe.lint.engine import fix_notebook
    from nb2pipe.lint.registry import RULES
    from nb2pipe.lint.runner import lint_notebook

    data = parse(body)
    notebook, problem = notebook_from(data, root)
    if notebook is None:
        return 422, {"error": problem}
    if any(c.code and c.code.error for c in notebook.code_cells):
        return 422, {"error": {"code": "NB902", "message": "a cell does not parse: fix its "
                                                           "syntax before applying fixes"}}
    codes = set(codes_field(data, "codes") or []) or selection(data)
    unknown = codes - set(RULES)
    if unknown:
        raise Refused(400, f"unknown rule codes: {', '.join(sorted(unknown))}")
    unsafe = data.get("unsafe", False)
    if not isinstance(unsafe, bool):
        raise Refused(400, "`unsafe` must be true or false")
    only = one_finding(data)
    rules = {code: RULES[code]() for code in codes}

    def check(candidate):
        found = lint_notebook(candidate, codes)
        if only is None:
            return found
        # one finding: the one at this place; once fixed, nothing more is fixed
        return [d for d in found if (d.cell, d.line, d.col) == only]

    outcome = fix_notebook(notebook, check, rules, unsafe=unsafe)
    if not outcome.fixed and "NB406" in codes and unsafe:
        # "Tag steps" that could not: say what is in the way, never a silent 200
        from nb2pipe.auto import AutoTagError, propose
        from nb2pipe.lint.tidy import tidy

        try:
            propose(notebook, tidy)
        except AutoTagError as error:
            raise Refused(422, "cannot tag the steps: " + "; ".join(error.problems) +
                          " (fix these, then Tag steps again)") from None
    reply: dict = {}
    if outcome.fixed and outcome.declarations and os.path.isfile(notebook.path):
        # a fix imported a package (NB301: mlflow): declared where the project lists them
        from nb2pipe.lint.project import declare

        written, added = declare(os.path.dirname(os.path.abspath(notebook.path)),
                                 outcome.declarations)
        if written and added:
            reply["declared"] = {"file": os.path.relpath(written, root), "lines": added}
    remaining = lint_notebook(outcome.notebook, codes) if only is not None or \
        reply.get("declared") else outcome.remaining
    return 200, {"notebook": outcome.notebook.raw,
                 "fixed": [d.to_dict() for d in outcome.fixed],
                 "remaining": [d.to_dict() for d in remaining], **reply}


def one_finding(data: dict) -> tuple[int, int, int] | None:
    """``only``: the place of the one finding to fix (``{"cell": INDEX, "row": R, "column":
    C}``, as in a diagnostic), or None for every finding of the rules."""
    only = data.get("only")
    if only is None:
        return None
    if not isinstance(only, dict) or not all(
            isinstance(only.get(k), int) and not isinstance(only.get(k), bool)
            for k in ("cell", "row", "column")):
        raise Refused(400, "`only` must be {\"cell\": INDEX, \"row\": R, \"column\": C}, "
                           "integers as in a finding")
    return only["cell"], only["row"], only["column"]


@_answer
def convert(body: bytes, root: str) -> tuple[int, dict]:
    from nb2pipe.convert import ConvertError
    from nb2pipe.convert import convert as convert_notebook
    from nb2pipe.notebook.reader import NotebookError
    from nb2pipe.pipeline.build import PipelineError

    data = parse(body)
    relative = text_field(data, "path")
    if relative is None or not relative.endswith(".ipynb"):
        raise Refused(400, "`path` must be a server-relative .ipynb path")
    notebook_path = local_path(root, relative)
    output_relative = text_field(data, "output") or os.path.splitext(relative)[0] + "-pipeline"
    if os.path.isabs(output_relative) or output_relative.startswith("~"):
        raise Refused(400, "`output` must be relative to the server's root")
    output = local_path(root, output_relative, must_exist=False)
    output_relative = os.path.relpath(output, root).replace(os.sep, "/")
    try:
        conversion = convert_notebook(notebook_path, output, protected=[root])
    except NotebookError as error:
        return 422, {"error": {"code": error.code, "message": error.message}}
    except PipelineError as error:
        return 422, {"error": {"message": "the notebook cannot become a pipeline"},
                     "diagnostics": [d.to_dict() for d in error.diagnostics]}
    except ConvertError as error:
        return 409, {"error": {"message": str(error)}}
    payload: dict[str, Any] = {**pipeline_summary(conversion.pipeline, output_relative),
                               "files": sorted(conversion.files),
                               "warnings": conversion.warnings}
    return 200, payload


def pipeline_summary(pipeline, output_relative: str) -> dict:
    """What the panel shows of a converted pipeline: its steps and edges (the DAG), its
    parameters (the run form) and the command that runs it."""
    from nb2pipe.pipeline.outline import drawn

    steps, edges = drawn(pipeline)  # coloured as the chips of the open notebook's cells
    return {
        "output": output_relative,
        "steps": steps,
        "edges": edges,
        "parameters": [{"name": p.name, "type": p.type, "default": p.default}
                       for p in pipeline.parameters],
        "command": f"nb2pipe run {shlex.quote(output_relative)}"}
