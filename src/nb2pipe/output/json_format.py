"""JSON output: the schema the CLI, the server extension and the panel share."""

from __future__ import annotations

import json

from nb2pipe import __version__


def document(results, maturity=None) -> dict:
    return {
        "nb2pipe": __version__,
        "diagnostics": [d.to_dict() for r in results for d in r.diagnostics],
        "maturity": [m.to_dict() for m in maturity] if maturity is not None else None,
    }


def render_json(results, maturity=None, **_) -> str:
    return json.dumps(document(results, maturity), indent=2, ensure_ascii=False) + "\n"
