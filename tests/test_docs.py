"""The documentation stays true: rule pages match the rules' docstrings."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_rule_pages_are_generated_from_the_rules():
    spec = importlib.util.spec_from_file_location("gen", ROOT / "scripts" / "gen_rule_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, text in module.pages().items():
        page = ROOT / "docs" / "rules" / name
        assert page.exists() and page.read_text(encoding="utf-8") == text, \
            f"docs/rules/{name} is stale: run `python scripts/gen_rule_docs.py`"


def test_every_command_has_an_example_in_the_docs():
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    for command in ("nb2pipe check", "nb2pipe check --fix", "nb2pipe check --diff",
                    "nb2pipe check --maturity", "--output-format sarif", "nb2pipe rule"):
        assert command in text, command
