"""Output formats: one module per format, each with ``render(results, ...) -> str``."""

from __future__ import annotations

import importlib

FORMATS = ("full", "concise", "json", "sarif", "github")
_MODULES = {"full": "text", "concise": "text", "json": "json_format", "sarif": "sarif",
            "github": "github"}


def formatter(name: str):
    """The render function of format ``name``."""
    module = importlib.import_module(f"nb2pipe.output.{_MODULES[name]}")
    return getattr(module, "render_" + name)
