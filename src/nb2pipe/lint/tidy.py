"""``--auto``'s tidy: the linter's safe fixes that make a notebook easier to cut into steps
(NB209: imports into the first importing cell; NB303: top-level literals into a parameters
cell). The proposal (:mod:`nb2pipe.auto`) stands below the linter and is handed this."""

from __future__ import annotations

from nb2pipe.analysis.notebook import NotebookAnalysis
from nb2pipe.analysis.parameters import liftable
from nb2pipe.lint.engine import check_notebook, fix_notebook
from nb2pipe.lint.rules.import_not_at_top import ImportNotAtTop
from nb2pipe.lint.rules.no_parameters_cell import NoParametersCell
from nb2pipe.notebook.model import Notebook


def tidy(notebook: Notebook) -> tuple[Notebook, list[str]]:
    """The safe fixes that make a notebook easier to cut: a parameters cell, imports on top.

    Returns:
        The tidied notebook, and notes on what changed (for the proposal's summary).
    """
    classes = {"NB209": ImportNotAtTop}
    if liftable(NotebookAnalysis(notebook)):
        classes["NB303"] = NoParametersCell  # an empty one would only be noise in a pipeline
    rules = {code: rule() for code, rule in classes.items()}
    outcome = fix_notebook(
        notebook, lambda nb: check_notebook(nb, classes, frozenset(), with_project=False)[0],
        rules)
    notes = []
    if any(d.code == "NB209" for d in outcome.fixed):
        moved = sum(1 for d in outcome.fixed if d.code == "NB209")
        notes.append(f"moved {moved} import{'s' if moved > 1 else ''} to the first import cell")
    return outcome.notebook, notes
