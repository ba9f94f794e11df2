"""Write docs/rules/: one page per rule from its docstring, and an index.

    python scripts/gen_rule_docs.py          # the test suite fails when the pages are stale
"""

from __future__ import annotations

import sys
from pathlib import Path

from nb2pipe.lint.registry import RULES

DOCS = Path(__file__).resolve().parent.parent / "docs" / "rules"


def pages() -> dict[str, str]:
    result = {}
    rows = ["# Rules", "", "Every rule, its code and name. `nb2pipe rule CODE` prints the same "
            "page in the terminal. Fixes: ✓ safe (`--fix`), ! unsafe (`--unsafe-fixes`).", "",
            "| code | name | checklist item | fix | detects |", "|---|---|---|---|---|"]
    for code, rule in sorted(RULES.items()):
        result[f"{code}.md"] = rule.markdown()
        fix = {"safe": "✓", "unsafe": "!", None: ""}[rule.fix_safety]
        rows.append(f"| [{code}]({code}.md) | {rule.name} | {rule.category} | {fix} | "
                    f"{rule.summary()} |")
    result["index.md"] = "\n".join(rows) + "\n"
    return result


def main() -> int:
    DOCS.mkdir(parents=True, exist_ok=True)
    for name, text in pages().items():
        (DOCS / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(pages())} pages to {DOCS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
