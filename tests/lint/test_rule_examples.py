"""Every rule's VALID and INVALID examples, collected automatically (Fixit-style)."""

import pytest

from nb2pipe.lint.engine import fix_notebook
from nb2pipe.lint.registry import RULES
from nb2pipe.lint.rule import Invalid
from nb2pipe.lint.runner import lint_notebook
from nb2pipe.notebook import notebook_from_percent


def _cases(kind):
    for code, rule in sorted(RULES.items()):
        for number, example in enumerate(getattr(rule, kind), 1):
            yield pytest.param(code, example, id=f"{code}-{kind.lower()}-{number}")


def _findings(code, source):
    if RULES[code].scope == "folder":
        return _folder_findings(code, source)
    notebook = notebook_from_percent(source)
    return [d for d in lint_notebook(notebook, {code}, with_project=False) if d.code == code]


def _folder_findings(code, source):
    """Folder rules' examples are trees of files (nb2pipe.lint.folder), checked as a folder."""
    import tempfile
    from pathlib import Path

    from nb2pipe.lint.config import Settings
    from nb2pipe.lint.folder import write_example
    from nb2pipe.lint.runner import collect_notebooks, lint_files, lint_folder

    with tempfile.TemporaryDirectory() as scratch:
        folder = str(write_example(source, Path(scratch) / "project"))
        results = lint_files(collect_notebooks([folder]), {code}, Settings())
        return [d for d in lint_folder(folder, results, {code}).diagnostics if d.code == code]


@pytest.mark.parametrize("code,example", list(_cases("VALID")))
def test_valid_example_has_no_finding(code, example):
    found = _findings(code, example)
    assert found == [], "\n".join(f"{d.location}: {d.message}" for d in found)


@pytest.mark.parametrize("code,example", list(_cases("INVALID")))
def test_invalid_example_is_flagged(code, example):
    example = example if isinstance(example, Invalid) else Invalid(example)
    found = _findings(code, example.source)
    if example.count is None:
        assert found, f"{code} found nothing in:\n{example.source}"
    else:
        assert len(found) == example.count, "\n".join(f"{d.location}: {d.message}"
                                                      for d in found)
    for diagnostic in found:
        assert diagnostic.message and diagnostic.help, "every finding says what and how to fix"
        assert diagnostic.name == RULES[code].name
        if example.message:
            assert example.message in diagnostic.message


def _fixed_cases():
    for code, rule in sorted(RULES.items()):
        for number, example in enumerate(rule.INVALID, 1):
            if isinstance(example, Invalid) and example.fixed is not None:
                yield pytest.param(code, example, id=f"{code}-fix-{number}")


def _percent(notebook) -> str:
    parts = []
    for cell in notebook.cells:
        header = "# %%" if cell.is_code else "# %% [markdown]"
        if cell.tags:
            header += " tags=[" + ", ".join(f'"{t}"' for t in cell.tags) + "]"
        source = cell.source if cell.is_code else "\n".join(
            f"# {line}".rstrip() for line in cell.source.split("\n"))
        parts.append(header + "\n" + source + "\n")
    return "".join(parts)


@pytest.mark.parametrize("code,example", list(_fixed_cases()))
def test_fix_gives_expected_notebook(code, example):
    from importlib import metadata

    notebook = notebook_from_percent(example.source)
    rules = {code: RULES[code]()}

    def check(nb):
        return lint_notebook(nb, {code}, with_project=False)

    outcome = fix_notebook(notebook, check, rules, unsafe=RULES[code].fix_safety == "unsafe")
    expected = example.fixed
    if "{hypothesis}" in expected:
        expected = expected.replace("{hypothesis}", metadata.version("hypothesis"))
    assert _percent(outcome.notebook) == expected
    assert not [d for d in outcome.remaining if d.code == code and d.fix]


def test_every_rule_has_examples_and_docs():
    for code, rule in RULES.items():
        sections = rule.sections()
        for heading in ("What it does", "Why is this bad?", "Example", "Use instead",
                        "Fix safety"):
            assert sections.get(heading), f"{code} lacks '{heading}'"
        if code not in ("NB901",):
            assert rule.VALID, f"{code} has no VALID example"
        if code not in ("NB901", "NB903"):
            assert rule.INVALID, f"{code} has no INVALID example"
        assert rule.name == rule.name.lower() and " " not in rule.name
        assert (rule.fix_safety is None) == (rule.fix_title is None)


def test_the_shared_name_table_names_every_rule_as_the_rule_does():
    """Floors below the linter name rules from `RULE_NAMES` (a pipeline's NB4xx, convert's
    NB902): a finding must carry the same name whoever reports it."""
    from nb2pipe.diagnostic import RULE_NAMES

    assert RULE_NAMES == {code: rule.name for code, rule in RULES.items()}
