"""``nb2pipe convert --auto``: propose pipeline tags for an untagged notebook.

The proposal is made in four moves, on a copy of the notebook:

1. *Tidy*: the safe fixes of NB303 (top-level literals into a ``parameters`` cell) and NB209
   (imports into the first importing cell) run first. They are the linter's, which stands
   above this package, so the caller passes them in (:func:`nb2pipe.lint.tidy.tidy`).
2. *Roles*: cells that only import (or set up magics like ``%matplotlib``) are tagged
   ``imports``; cells that only define functions and classes, ``functions``; cells that only
   ``pip install``, ``skip``. Every other code cell does the work.
3. *Steps*: the work cells are cut into consecutive steps. A cut is never made where a value
   that cannot cross a process boundary (an open file, a generator, a function defined among
   the work) would have to cross it. Cuts at markdown headings are preferred; without headings,
   cuts fall where few names cross. Tiny steps are merged into their neighbours.
4. *Check*: the tagged copy is built like any tagged notebook; ``prev:`` tags order steps that
   produce the same name, steps are merged while a value cannot cross between them, and
   whatever is still wrong refuses the proposal.

A notebook that cannot run top to bottom (cells that use names only later cells define, cells
that do not parse, ``input()``) gets no proposal: :class:`AutoTagError` says which cell and why.

The modules follow the moves: :mod:`.runnable` (what refuses a proposal), :mod:`.roles`,
:mod:`.cuts` (where steps begin), :mod:`.naming`, :mod:`.tagging` (the tags written, the
metrics cell), :mod:`.proposer` (the moves in order) and :mod:`.model` (what comes out).
"""

from __future__ import annotations

from collections.abc import Callable

from nb2pipe.auto.model import AutoTagError, Proposal, ProposedStep
from nb2pipe.auto.proposer import Proposer
from nb2pipe.auto.runnable import refuse_unrunnable
from nb2pipe.notebook.model import Notebook

__all__ = ["AutoTagError", "Proposal", "ProposedStep", "Tidy", "propose"]

#: The tidy that comes first: a notebook in, the tidied notebook and notes on what changed out.
Tidy = Callable[[Notebook], "tuple[Notebook, list[str]]"]


def propose(notebook: Notebook, tidy: Tidy) -> Proposal:
    """Propose tags for ``notebook`` (which is not modified).

    Args:
        tidy: the fixes that make the notebook easier to cut (``nb2pipe.lint.tidy.tidy``):
            the tidied notebook, and notes on what it did.

    Raises:
        AutoTagError: the notebook cannot be cut into a pipeline that reproduces it.
    """
    from nb2pipe.pipeline.build import is_tagged

    refuse_unrunnable(notebook)
    if is_tagged(notebook):
        raise AutoTagError(notebook.path, [
            "the notebook already has pipeline tags: convert it without --auto, or remove "
            "its `step:`/`imports`/`functions`/`skip` tags to have new ones proposed"])
    tidied, notes = tidy(notebook)
    return Proposer(tidied, notes, _numbering(notebook, tidied)).run()


def _numbering(original: Notebook, tidied: Notebook) -> dict[int, int]:
    """Tidied cell index → the cell's number in the original notebook. The tidying adds at
    most a parameters cell; every other cell keeps its order."""
    if len(tidied.cells) == len(original.cells):
        return {c.index: c.index + 1 for c in tidied.cells}
    added = {c.index for c in tidied.cells if "parameters" in c.tags and not any(
        "parameters" in o.tags for o in original.cells)}
    numbering, number = {}, 0
    for cell in tidied.cells:
        if cell.index in added:
            continue
        number += 1
        numbering[cell.index] = number
    return numbering
