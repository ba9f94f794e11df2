"""The Jupyter server extension: check, fix, convert and the rule catalogue over HTTP.

Endpoints (every one authenticated, bodies bounded, JSON in and out):

- ``POST /nb2pipe/check``: ``{"notebook": …, "path"?: …, "select"?: […], "ignore"?: […]}`` →
  ``{"diagnostics": […], "maturity": {…}, "fixable": n}`` (the same schema as ``nb2pipe check
  --output-format json``);
- ``POST /nb2pipe/fix``: ``{"notebook": …, "codes"?: […], "unsafe"?: bool}`` → ``{"notebook":
  …, "fixed": […], "remaining": […]}``; writes nothing (the panel applies the change, so the
  user can undo it);
- ``POST /nb2pipe/convert``: ``{"path": "server-relative.ipynb", "output"?: "dir"}`` →
  ``{"output", "files", "steps", "command", "warnings"}``; paths outside the server's root are
  refused;
- ``GET /nb2pipe/rules``: every rule with its documentation.
"""

from __future__ import annotations


def _load_jupyter_server_extension(server_app) -> None:
    from nb2pipe.server.handlers import setup_handlers

    setup_handlers(server_app.web_app)
    server_app.log.info("nb2pipe: server extension loaded (/nb2pipe/check, fix, convert, rules)")


# The name jupyter_server looks for in older releases.
load_jupyter_server_extension = _load_jupyter_server_extension
