"""Tornado handlers of the nb2pipe server extension (see :mod:`nb2pipe.server`)."""

from __future__ import annotations

import json
import os
import shlex

import tornado
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from nb2pipe import __version__

#: Larger request bodies are refused (a notebook with outputs fits comfortably).
MAX_BODY = 64 * 1024 * 1024


class _Handler(APIHandler):
    def body(self) -> dict:
        raw = self.request.body or b""
        if len(raw) > MAX_BODY:
            raise tornado.web.HTTPError(413, f"request body over {MAX_BODY // 2**20} MB")
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            raise tornado.web.HTTPError(400, "the body is not JSON") from None
        if not isinstance(data, dict):
            raise tornado.web.HTTPError(400, "the body must be a JSON object")
        return data

    def reply(self, payload: dict, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"nb2pipe": __version__, **payload}))

    def notebook_from(self, data: dict):
        from nb2pipe.notebook.reader import NotebookError, notebook_from_dict

        raw = data.get("notebook")
        path = data.get("path") or "notebook.ipynb"
        if not isinstance(path, str):
            raise tornado.web.HTTPError(400, "`path` must be a string")
        try:
            return notebook_from_dict(raw, self.local_path(path, must_exist=False)), None
        except NotebookError as error:
            return None, {"code": error.code, "message": error.message, "help": error.hint,
                          "cell": error.cell_index}

    @property
    def root(self) -> str:
        return os.path.realpath(self.settings.get("server_root_dir", os.getcwd()))

    def local_path(self, relative: str, must_exist: bool = True) -> str:
        """``relative`` under the server's root, or a 403 if it leads outside it."""
        root = self.root
        candidate = os.path.realpath(os.path.join(root, relative.lstrip("/")))
        if candidate != root and not candidate.startswith(root + os.sep):
            raise tornado.web.HTTPError(403, f"`{relative}` is outside the server's root")
        if must_exist and not os.path.exists(candidate):
            raise tornado.web.HTTPError(404, f"`{relative}` does not exist")
        return candidate

    def selection(self, data: dict) -> set[str]:
        from nb2pipe.lint.registry import SelectionError, resolve

        try:
            return resolve(data.get("select"), data.get("extend_select") or [],
                           data.get("ignore") or [])
        except (SelectionError, TypeError) as error:
            raise tornado.web.HTTPError(400, str(error)) from None


class CheckHandler(_Handler):
    @tornado.web.authenticated
    def post(self) -> None:
        from nb2pipe.lint.maturity import assess, has_step_tags
        from nb2pipe.lint.runner import error_diagnostic, lint_notebook

        data = self.body()
        codes = self.selection(data)
        notebook, problem = self.notebook_from(data)
        if notebook is None:
            from nb2pipe.notebook.reader import NotebookError

            error = NotebookError(problem["message"], problem["help"] or "", problem["cell"])
            diagnostics = [error_diagnostic(data.get("path") or "notebook.ipynb", error)]
            maturity = assess(diagnostics[0].path, diagnostics)
        else:
            diagnostics = lint_notebook(notebook, codes)
            maturity = assess(notebook.path, diagnostics, has_step_tags(notebook))
        self.reply({"diagnostics": [d.to_dict() for d in diagnostics],
                    "maturity": maturity.to_dict(),
                    "fixable": sum(1 for d in diagnostics if d.fix)})


class FixHandler(_Handler):
    @tornado.web.authenticated
    def post(self) -> None:
        from nb2pipe.lint.engine import fix_notebook
        from nb2pipe.lint.registry import RULES
        from nb2pipe.lint.runner import lint_notebook

        data = self.body()
        notebook, problem = self.notebook_from(data)
        if notebook is None:
            self.reply({"error": problem}, 422)
            return
        if any(c.code and c.code.error for c in notebook.code_cells):
            self.reply({"error": {"code": "NB902", "message": "a cell does not parse: fix its "
                                  "syntax before applying fixes"}}, 422)
            return
        codes = set(data.get("codes") or []) or self.selection(data)
        unknown = codes - set(RULES)
        if unknown:
            raise tornado.web.HTTPError(400, f"unknown rule codes: {', '.join(sorted(unknown))}")
        rules = {code: RULES[code]() for code in codes}
        outcome = fix_notebook(notebook, lambda nb: lint_notebook(nb, codes), rules,
                               unsafe=bool(data.get("unsafe")))
        self.reply({"notebook": outcome.notebook.raw,
                    "fixed": [d.to_dict() for d in outcome.fixed],
                    "remaining": [d.to_dict() for d in outcome.remaining]})


class ConvertHandler(_Handler):
    @tornado.web.authenticated
    def post(self) -> None:
        from nb2pipe.convert import ConvertError, convert
        from nb2pipe.notebook.reader import NotebookError
        from nb2pipe.pipeline.build import PipelineError

        data = self.body()
        relative = data.get("path")
        if not isinstance(relative, str) or not relative.endswith(".ipynb"):
            raise tornado.web.HTTPError(400, "`path` must be a server-relative .ipynb path")
        notebook_path = self.local_path(relative)
        output_relative = data.get("output") or os.path.splitext(relative)[0] + "-pipeline"
        if not isinstance(output_relative, str):
            raise tornado.web.HTTPError(400, "`output` must be a string")
        if os.path.isabs(output_relative) or output_relative.startswith("~"):
            raise tornado.web.HTTPError(400, "`output` must be relative to the server's root")
        output = self.local_path(output_relative, must_exist=False)
        output_relative = os.path.relpath(output, self.root).replace(os.sep, "/")
        try:
            conversion = convert(notebook_path, output, protected=[self.root])
        except NotebookError as error:
            self.reply({"error": {"code": error.code, "message": error.message}}, 422)
            return
        except PipelineError as error:
            self.reply({"error": {"message": "the notebook cannot become a pipeline"},
                        "diagnostics": [d.to_dict() for d in error.diagnostics]}, 422)
            return
        except ConvertError as error:
            self.reply({"error": {"message": str(error)}}, 409)
            return
        pipeline = conversion.pipeline
        self.reply({
            "output": output_relative, "files": sorted(conversion.files),
            "steps": [{"name": s.name, "after": s.after, "inputs": sorted(s.inputs),
                       "outputs": s.outputs} for s in pipeline.steps],
            "edges": [{"source": e.source, "target": e.target, "kind": e.kind}
                      for e in pipeline.edges],
            "parameters": [{"name": p.name, "type": p.type, "default": p.default}
                           for p in pipeline.parameters],
            "command": f"nb2pipe run {shlex.quote(output_relative)}",
            "warnings": conversion.warnings})


class RulesHandler(_Handler):
    @tornado.web.authenticated
    def get(self) -> None:
        from nb2pipe.diagnostic import rule_url
        from nb2pipe.lint.registry import RULES

        self.reply({"rules": [{
            "code": code, "name": rule.name, "summary": rule.summary(),
            "severity": rule.severity, "category": rule.category, "fix": rule.fix_safety,
            "url": rule_url(code), "markdown": rule.markdown()}
            for code, rule in sorted(RULES.items())]})


def setup_handlers(web_app) -> None:
    base = web_app.settings["base_url"]
    web_app.add_handlers(".*$", [
        (url_path_join(base, "nb2pipe", "check"), CheckHandler),
        (url_path_join(base, "nb2pipe", "fix"), FixHandler),
        (url_path_join(base, "nb2pipe", "convert"), ConvertHandler),
        (url_path_join(base, "nb2pipe", "rules"), RulesHandler),
    ])
