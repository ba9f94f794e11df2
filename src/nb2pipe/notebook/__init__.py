"""Reading notebooks into nb2pipe's frozen model."""

from nb2pipe.notebook.model import Cell, Code, Notebook, SyntaxProblem
from nb2pipe.notebook.reader import (
    NotebookError,
    notebook_from_dict,
    notebook_from_percent,
    read_notebook,
)

__all__ = [
    "Cell",
    "Code",
    "Notebook",
    "NotebookError",
    "SyntaxProblem",
    "notebook_from_dict",
    "notebook_from_percent",
    "read_notebook",
]
