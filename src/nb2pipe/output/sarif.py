"""SARIF 2.1.0 output, for code-scanning services."""

from __future__ import annotations

import json
import os
from pathlib import Path

from nb2pipe import __version__
from nb2pipe.diagnostic import rule_url
from nb2pipe.lint.registry import RULES
from nb2pipe.output.locations import file_position

_LEVELS = {"error": "error", "warning": "warning", "info": "note"}
SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def document(results) -> dict:
    codes = sorted(RULES)
    index = {code: n for n, code in enumerate(codes)}
    rules = []
    for code in codes:
        rule = RULES[code]
        rules.append({
            "id": code,
            "name": rule.name,
            "shortDescription": {"text": rule.summary()},
            "fullDescription": {"text": rule.sections().get("Why is this bad?", rule.summary())},
            "helpUri": rule_url(code),
            "help": {"text": rule.summary(), "markdown": rule.markdown()},
            "defaultConfiguration": {"level": _LEVELS[rule.severity]},
            "properties": {"category": rule.category},
        })
    sarif_results = []
    for result in results:
        for d in result.diagnostics:
            uri = Path(os.path.relpath(d.path)).as_posix() if os.path.isabs(d.path) else \
                Path(d.path).as_posix()
            region = {"startLine": file_position(d.path, d.cell, d.line)}
            item = {
                "ruleId": d.code,
                "ruleIndex": index[d.code],
                "level": _LEVELS[d.severity],
                "message": {"text": d.message if d.cell is None else
                            f"cell {d.cell + 1}, line {d.line}: {d.message}"},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri},
                                                    "region": region}}
                              if not getattr(result, "is_folder", False) else
                              {"physicalLocation": {"artifactLocation": {
                                  "uri": uri.rstrip("/") + "/"}}}],
                "properties": {"cell": d.cell_number, "cellId": d.cell_id,
                               "cellLine": d.line, "cellColumn": d.col},
            }
            if d.help:
                item["message"]["text"] += f" (help: {d.help})"
            sarif_results.append(item)
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "nb2pipe", "version": __version__,
                                "semanticVersion": __version__,
                                "informationUri": "https://github.com/nb2pipe/nb2pipe",
                                "rules": rules}},
            "results": sarif_results,
            "columnKind": "unicodeCodePoints",
        }],
    }


def render_sarif(results, **_) -> str:
    return json.dumps(document(results), indent=2, ensure_ascii=False) + "\n"
