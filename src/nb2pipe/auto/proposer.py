"""The proposal's moves in order, on a tidied copy: roles, cuts, a check by building (merging
steps while a value cannot cross), names and tags."""

from __future__ import annotations

from nb2pipe.analysis.facts import CellFacts
from nb2pipe.analysis.notebook import NotebookAnalysis
from nb2pipe.auto.cuts import MIN_STATEMENTS, Cuts
from nb2pipe.auto.model import AutoTagError, Proposal, Work, describe
from nb2pipe.auto.naming import Naming
from nb2pipe.auto.roles import Roles
from nb2pipe.auto.tagging import Tagging
from nb2pipe.notebook.model import Notebook
from nb2pipe.pipeline.build import build_pipeline

#: Calls that make a new generator (seeded by their argument), not draws from the global one.
_NEW_GENERATORS = frozenset({"numpy.random.default_rng", "numpy.random.RandomState",
                             "numpy.random.Generator"})

_NO_FACTS = CellFacts()


class Proposer(Roles, Cuts, Naming, Tagging):
    """Proposes the steps of one tidied notebook; each move is a method of its mixin."""

    def __init__(self, notebook: Notebook, notes: list[str],
                 numbering: dict[int, int] | None = None) -> None:
        self.notebook = notebook
        self.numbering = numbering or {}
        self.analysis = NotebookAnalysis(notebook)
        self.notes = notes
        self.roles: dict[str, list[int]] = {"imports": [], "functions": [], "skip": [],
                                            "parameters": [], "metrics": []}

    def number(self, index: int) -> int | str:
        """The number the user sees for a cell of the tidied copy: its number in their
        notebook (a cell the tidying added is "the new parameters cell")."""
        if not self.numbering:
            return index + 1
        return self.numbering.get(index, "(the new parameters cell)")

    def facts(self, index: int) -> CellFacts:
        """A cell's facts (none for a cell in another language, like ``%%bash``)."""
        return self.analysis.facts.get(index) or _NO_FACTS

    def run(self) -> Proposal:
        work = self.classify()
        for index in work:
            if self.facts(index).wildcard:
                cell = self.notebook.cells[index]
                raise AutoTagError(self.notebook.path, [
                    f"cell {self.number(cell.index)}: a wildcard import (`from … import *`) among the work "
                    f"cells: the steps after it could not know its names; import the names "
                    f"it uses, or move it to the imports at the top"])
        if not work:
            raise AutoTagError(self.notebook.path, [
                "every code cell only imports, defines functions or installs packages: there "
                "is no work to make a step of"])
        groups = self.segment(work)
        if len(work) == 1 and self.facts(work[0]).statements >= 2 * MIN_STATEMENTS:
            self.notes.append(
                f"cell {self.number(work[0])} holds all the work, and a step is made of whole "
                f"cells: split it where its stages begin (in Jupyter, Ctrl+Shift+- at the "
                f"cursor) and run --auto again for more steps")
        groups, names, tagged = self.check(groups)
        self.note_global_random_state(groups, names)
        return self.proposal(groups, names, tagged)

    def note_global_random_state(self, groups: list[Work], names: list[str]) -> None:
        """Say so when a step draws from a global generator (``np.random.rand``) that another
        step seeds: each step starts a fresh process, so its draws are not the notebook's."""
        from nb2pipe.analysis.knowledge import RANDOM_SOURCES, UNIVERSAL_SEEDERS

        step_of = {cell: n for n, group in enumerate(groups) for cell in group.cells}
        for source in RANDOM_SOURCES:
            seeds: dict[int, int] = {}  # step → the cell that seeds there
            draws: dict[int, int] = {}  # step → the first cell that draws there
            for cell, facts in self.analysis.cells_with_facts():
                step = step_of.get(cell.index)
                if step is None:
                    continue
                for call in facts.calls:
                    qualified = self.analysis.qualify(call.dotted) or ""
                    if qualified in source.seeds or qualified in UNIVERSAL_SEEDERS:
                        seeds.setdefault(step, cell.index)
                    elif source.draws_from(qualified) and qualified not in _NEW_GENERATORS:
                        draws.setdefault(step, cell.index)
            unseeded = [step for step in sorted(draws) if step not in seeds]
            if seeds and unseeded:
                seed_cell = next(iter(seeds.values()))
                shown = ", ".join(f"`{names[step]}`" for step in unseeded[:3])
                self.notes.append(
                    f"cell {self.number(seed_cell)} seeds {source.name}'s global generator, "
                    f"but step{'s' if len(unseeded) > 1 else ''} {shown} "
                    f"draw{'' if len(unseeded) > 1 else 's'} from it in "
                    f"another process, unseeded: their numbers will differ from the "
                    f"notebook's; draw from a generator object instead (numpy: `rng = "
                    f"np.random.default_rng(SEED)`), which steps pass on")


    def check(self, groups: list[Work]):
        """Build the tagged copy, merging steps while a value cannot cross between them, or
        while a setting the later steps need cannot be repeated in them (NB407: a proposal
        must not make a finding the notebook did not have).

        Returns:
            The final groups, their step names and the editor holding the tagged copy.
        """
        for _ in range(len(groups) + 2):
            names = self.names(groups)
            tagged = self.tagged(groups, names)
            pipeline, problems = build_pipeline(tagged.notebook())
            errors = [p for p in problems if p.severity == "error"]
            unreplayed = [p for p in problems if p.code == "NB407"]
            if not errors and not unreplayed:
                return groups, names, tagged
            merge = next((p for p in errors if p.code == "NB403"), None) or \
                (unreplayed[0] if not errors else None)
            at = next((n for n, g in enumerate(groups) if merge is not None and
                       merge.cell in g.cells), None)
            if merge is None or len(groups) == 1 or at is None:
                raise AutoTagError(self.notebook.path, [
                    describe(p, self.number) for p in errors or unreplayed])
            at = min(at, len(groups) - 2)
            groups[at:at + 2] = [Work(groups[at].cells + groups[at + 1].cells,
                                       groups[at].reason)]
        raise AutoTagError(self.notebook.path, ["no cut of the notebook into steps builds"])
