"""Fixing files: the selected rules from the registry, the fix loop of
:mod:`nb2pipe.lint.engine`, and the fixed notebook written back (or shown as a diff)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nb2pipe.lint.engine import fix_notebook


@dataclass
class FileFix:
    """What fixing one file did: its findings after, how many it fixed, the diff (with
    ``--diff``), a warning when it was left alone."""

    result: Any  # nb2pipe.lint.runner.FileResult
    fixed: int = 0
    diff: str = ""
    warning: str = ""


def fix_file(job) -> FileFix:
    """Fix one file, ``job`` = (path, codes, settings, unsafe, diff_only); writes it (atomically)
    unless ``diff_only``. Never raises: a fix that fails leaves the file as it was and is
    reported like a crash of the rules."""
    from nb2pipe.lint import suppress
    from nb2pipe.lint.registry import RULES
    from nb2pipe.lint.runner import FileResult, lint_file, lint_notebook, quotes_for
    from nb2pipe.notebook.writer import notebook_diff, write_notebook

    path, codes, settings, unsafe, diff_only = job
    first = lint_file(path, set(codes), settings, keep_notebook=True)
    unparsed = [c for c in first.notebook.code_cells if c.code and c.code.error] \
        if first.notebook is not None else []
    if unparsed:  # (its findings then offer no fix)
        first.notebook = None
        return FileFix(first, warning=f"{path}: not fixed, because cell {unparsed[0].number} "
                                      f"does not parse (NB902); fix the syntax first")
    if first.notebook is None or not any(d.fix for d in first.diagnostics):
        first.notebook = None
        return FileFix(first)
    extra = suppress.file_ignores(path, settings.per_file_ignores, settings.root)
    rules = {code: RULES[code]() for code in codes}
    try:
        outcome = fix_notebook(first.notebook, lambda nb: lint_notebook(nb, codes, extra),
                               rules, unsafe=unsafe)
        text = ""
        declared: list[str] = []
        if outcome.changed:
            if diff_only:
                text = notebook_diff(first.notebook, outcome.notebook)
                text += _declaration_diff(path, outcome.declarations)
            else:
                write_notebook(path, outcome.notebook.raw)
                declared = _declare(path, outcome.declarations)
    except RecursionError:  # libcst recurses: `a + a + … + a` a thousand terms long
        first.notebook = None
        return FileFix(first, warning=f"{path}: not fixed, because its code nests too deeply "
                                      f"for the fixer; fix it by hand")
    except Exception as error:  # a bug in a fix must not stop the other files
        return FileFix(FileResult(path, first.diagnostics, None,
                                  f"fixing: {type(error).__name__}: {error}"))
    notebook = first.notebook if diff_only else outcome.notebook
    remaining = first.diagnostics if diff_only else outcome.remaining
    if declared:  # declared since the last check: NB205 no longer holds for them
        remaining = [d for d in remaining if not (d.code == "NB205" and any(
            f"`{name}`" in d.message for name in declared))]
    has_steps = any(t.startswith("step:") for c in notebook.cells for t in c.tags)
    return FileFix(FileResult(path, remaining, None, has_steps=has_steps, trains=first.trains,
                              quotes=quotes_for(notebook, remaining)),
                   len(outcome.fixed) if outcome.changed else 0, text)


def _declare(path: str, distributions) -> list[str]:
    """Declare what the fixes imported in the notebook's dependency file; the names."""
    import os

    from nb2pipe.lint.project import declare

    if not distributions:
        return []
    _file, added = declare(os.path.dirname(os.path.abspath(path)), distributions)
    return [line.partition("==")[0] for line in added] or list(distributions)


def _declaration_diff(path: str, distributions) -> str:
    """What ``--diff`` shows of the declarations ``--fix`` would add."""
    import os

    from nb2pipe.lint.project import declare

    target, lines = declare(os.path.dirname(os.path.abspath(path)), distributions, write=False)
    if not target or not lines:
        return ""
    return f"--- {target}\n+++ {target}\n" + "".join(f"+{line}\n" for line in lines)
