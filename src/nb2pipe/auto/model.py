"""What a proposal is: the tagged copy with its steps and roles, and why there is none."""

from __future__ import annotations

from dataclasses import dataclass, field

from nb2pipe.diagnostic import Diagnostic
from nb2pipe.notebook.model import Notebook


class AutoTagError(Exception):
    """No proposal: ``problems`` say which cell stands in the way, why, and what to do."""

    def __init__(self, path: str, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.path = path
        self.problems = problems


@dataclass
class ProposedStep:
    name: str
    cells: list[int]  # 0-based indices of the work cells
    reason: str  # why it starts where it starts


@dataclass
class Proposal:
    """A tagged copy of the notebook, and what was done to it."""

    notebook: Notebook
    steps: list[ProposedStep]
    roles: dict[str, list[int]] = field(default_factory=dict)
    parameters: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> list[str]:
        lines = []
        for step in self.steps:
            cells = cell_range(step.cells)
            lines.append(f"step `{step.name}`: {cells} ({step.reason})")
        for role in ("imports", "functions", "skip", "metrics"):
            if self.roles.get(role):
                lines.append(f"`{role}`: {cell_range(self.roles[role])}")
        if self.parameters:
            lines.append("parameters: " + ", ".join(self.parameters))
        return lines + self.notes


def cell_range(indices: list[int]) -> str:
    numbers = [i + 1 for i in indices]
    if len(numbers) == 1:
        return f"cell {numbers[0]}"
    if numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"cells {numbers[0]}–{numbers[-1]}"
    return "cells " + ", ".join(map(str, numbers))



@dataclass
class Work:
    """A run of work cells that become one step."""

    cells: list[int]
    reason: str = ""


def describe(problem: Diagnostic, number) -> str:
    where = f"cell {number(problem.cell)}: " if problem.cell is not None else ""
    return f"{where}{problem.code} {problem.message}" + \
        (f"; {problem.help}" if problem.help else "")
