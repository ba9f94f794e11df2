"""Notebooks that get no proposal: another language, nothing to run, cells that do not
parse, code nb2pipe cannot see, names used out of order, and waits for a person."""

from __future__ import annotations

from nb2pipe.analysis.knowledge import PYTHON2_BUILTINS
from nb2pipe.analysis.notebook import NotebookAnalysis
from nb2pipe.auto.model import AutoTagError
from nb2pipe.notebook.model import Notebook


def refuse_unrunnable(notebook: Notebook, analysis: NotebookAnalysis | None = None) -> None:
    """Raise :class:`AutoTagError` with every reason a proposal cannot be made, or return
    (``analysis``: the notebook's, when the caller has it already)."""
    problems: list[tuple[int, str]] = []  # (cell number, problem), sorted before raising
    if "python" not in notebook.language:
        raise AutoTagError(notebook.path, [f"the kernel is {notebook.language}, not Python"])
    code = [c for c in notebook.code_cells if not c.is_empty]
    if not code:
        raise AutoTagError(notebook.path, ["the notebook has no code to make steps of"])
    for cell in code:
        if cell.code is not None and cell.code.error is not None:
            error = cell.code.error
            problems.append((cell.number, f"cell {cell.number}, line {error.line}: does not "
                             f"parse ({error.message}); fix its syntax first"))
    if problems:
        raise AutoTagError(notebook.path, [text for _, text in problems])
    analysis = analysis if analysis is not None else NotebookAnalysis(notebook)
    hidden = analysis.hidden_code
    if hidden is not None:
        raise AutoTagError(notebook.path, [
            f"cell {hidden.number}: runs code that nb2pipe cannot see (`%run`, `exec`, "
            f"`globals()`…), so which names cross between steps is unknown; tag the steps by "
            f"hand (docs/tags.md)"])
    for problem in analysis.order_problems:
        name = problem.read.name
        if problem.defined_in is not None:
            problems.append((problem.cell.number, (
                f"cell {problem.cell.number}, line {problem.read.line}: uses `{name}`, which "
                f"only cell {problem.defined_in.cell + 1}, further down, defines: the notebook "
                f"only makes sense out of order; move that cell up, restart and run all")))
        elif problem.deleted_in is not None:
            problems.append((problem.cell.number, (
                f"cell {problem.cell.number}, line {problem.read.line}: uses `{name}`, which "
                f"cell {problem.deleted_in.number} deletes (`del {name}`); read it before that "
                f"cell, or delete the line")))
        elif name in PYTHON2_BUILTINS:
            problems.append((problem.cell.number, (
                f"cell {problem.cell.number}, line {problem.read.line}: uses `{name}`, a "
                f"Python 2 builtin; use {PYTHON2_BUILTINS[name]}")))
        else:
            problems.append((problem.cell.number, (
                f"cell {problem.cell.number}, line {problem.read.line}: uses `{name}`, which "
                f"no cell defines; define it, or delete the line")))
    for cell, facts in analysis.cells_with_facts():
        for call in facts.calls:
            if call.dotted in ("input", "getpass.getpass", "getpass") and not call.in_function:
                problems.append((cell.number, (
                    f"cell {cell.number}, line {call.node.lineno}: `{call.dotted}()` waits for "
                    f"someone to type; a pipeline step cannot; make it a parameter")))
            elif call.dotted in ("breakpoint", "pdb.set_trace", "ipdb.set_trace") and \
                    not call.in_function:
                problems.append((cell.number, (
                    f"cell {cell.number}, line {call.node.lineno}: `{call.dotted}()` stops in "
                    f"the debugger; a pipeline step would wait forever; remove it")))
    if problems:
        problems.sort(key=lambda problem: problem[0])
        raise AutoTagError(notebook.path, [text for _, text in problems])
