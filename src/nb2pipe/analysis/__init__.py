"""Scope-aware analysis of notebooks: per-cell facts and notebook-level dataflow."""

from nb2pipe.analysis.cell import analyse_cell
from nb2pipe.analysis.facts import CellFacts, Deferred, Read
from nb2pipe.analysis.notebook import BUILTIN_NAMES, NotebookAnalysis, OrderProblem

__all__ = ["BUILTIN_NAMES", "CellFacts", "Deferred", "NotebookAnalysis", "OrderProblem", "Read",
           "analyse_cell"]
