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


def test_the_convert_examples_in_the_readme_and_docs_are_real_output(tmp_path, monkeypatch):
    """The lines the README and docs/convert.md show for the samples are what convert prints
    today (issue Q, point 4): a change in what convert writes fails here until they say so."""
    import shutil

    from tests.helpers import run_cli

    root = Path(__file__).resolve().parent.parent
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sample_notebooks").mkdir()
    for sample in (root / "sample_notebooks").iterdir():
        if sample.is_file():
            shutil.copy(sample, tmp_path / "sample_notebooks" / sample.name)
    code, _, err = run_cli("convert", "sample_notebooks/classifier_pipeline.ipynb", "-o",
                           "classifier-pipeline")
    assert code == 0, err
    wrote = next(line for line in err.splitlines() if line.startswith("Wrote "))
    assert wrote in (root / "README.md").read_text(), wrote
    code, _, err = run_cli("convert", "--auto", "sample_notebooks/diabetes_untagged.ipynb",
                           "-o", "diabetes-pipeline")
    assert code == 0, err
    shown = (root / "docs" / "convert.md").read_text()
    for line in err.splitlines():
        if line.startswith(("Wrote diabetes", "  gated", "  added", "  step `")):
            assert line in shown, line
