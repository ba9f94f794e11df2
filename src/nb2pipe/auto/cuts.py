"""Cuts: where the work cells are split into steps — at headings, where few names cross,
never where a value that cannot cross a process boundary would have to."""

from __future__ import annotations

import ast
import re

from nb2pipe.analysis.facts import dotted_name
from nb2pipe.analysis.notebook import track_sharing
from nb2pipe.auto.model import Work
from nb2pipe.notebook.model import Cell
from nb2pipe.pipeline.build import UNSERIALIZABLE_CALLS

#: A step should hold at least this many statements; smaller ones join a neighbour.
MIN_STATEMENTS = 3
#: At most this many steps (the weakest cuts go first).
MAX_STEPS = 12
#: Without a heading, a cut is made only where at most this many names cross it.
MAX_CROSSING = 4


class Cuts:
    """The cuts of a :class:`~nb2pipe.auto.proposer.Proposer`."""

    def segment(self, work: list[int]) -> list[Work]:
        opaque = self.reads_names_from_strings()
        if opaque is not None:
            cell, call = opaque
            self.notes.append(
                f"cell {self.number(cell)}, line {call.node.lineno}: `{call.dotted}()` reads "
                f"names from strings, so which values a step would need is unknown: the work "
                f"stays in one step (tag the steps by hand to split it)")
            return [Work(work, "the names it reads cannot be known")]
        cuts = {}  # position in `work` of the first cell after the cut → (heading, -crossing)
        crossings = self.crossings(work)
        unpassable = self.unpassable(work)
        for position in range(1, len(work)):
            crossing = crossings[position]
            if crossing & unpassable[position]:
                continue
            heading = self.heading_text(work[position - 1], work[position]) is not None
            if not heading and len(crossing) > MAX_CROSSING:
                continue
            cuts[position] = (heading, -len(crossing))
        smallest = MIN_STATEMENTS
        if any(s[0] for s in cuts.values()):  # the headings give the structure
            cuts = {p: s for p, s in cuts.items() if s[0]}
            smallest = 1

        def groups_from(positions) -> list[list[int]]:
            bounds = [0] + sorted(positions) + [len(work)]
            return [work[a:b] for a, b in zip(bounds, bounds[1:])]

        def size(cells: list[int]) -> int:
            return sum(max(1, self.facts(i).statements) for i in cells)

        while cuts:
            groups = groups_from(cuts)
            tiny = [n for n, g in enumerate(groups) if size(g) < smallest]
            if not tiny and len(groups) <= MAX_STEPS:
                break
            positions = sorted(cuts)
            if tiny:  # drop the weaker of the two cuts around the first tiny group
                n = tiny[0]
                around = [positions[k] for k in (n - 1, n) if 0 <= k < len(positions)]
            else:
                around = positions
            del cuts[min(around, key=lambda p: (cuts[p], -p))]
        reasons = {}
        for position in [0, *cuts]:
            before = work[position - 1] if position else self.previous_code_cell(work[0])
            heading = self.heading_text(before, work[position])
            reasons[position] = f"heading “{heading}”" if heading else \
                "few names cross here" if position else "the first work cell"
        result = []
        bounds = [0] + sorted(cuts) + [len(work)]
        for a, b in zip(bounds, bounds[1:]):
            result.append(Work(work[a:b], reasons[a]))
        return self.absorb_settings(result)

    def absorb_settings(self, groups: list[Work]) -> list[Work]:
        """A group of settings only (``plt.rcParams[…] = …`` under its own heading) is no
        step: it joins the next one (the last, the one before), and travels on from there
        to the steps after it."""
        result: list[Work] = []
        pending: list[int] = []
        for group in groups:
            if self.only_settings(group.cells):
                pending += group.cells
                continue
            result.append(Work(pending + group.cells, group.reason) if pending else group)
            pending = []
        if pending:
            if not result:
                return groups
            result[-1] = Work(result[-1].cells + pending, result[-1].reason)
        return result

    def reads_names_from_strings(self):
        """The first ``eval``/``exec``/``globals()`` in a function or class of the notebook
        (``(cell index, call)``), or None: what it reads depends on strings at run time."""
        for index, facts in sorted(self.analysis.facts.items()):
            for call in facts.calls:
                if call.in_function and call.dotted in ("eval", "exec", "globals"):
                    return index, call
        return None

    def crossings(self, work: list[int]) -> list[set[str]]:
        """For each position in ``work``, the names that cells before it bind or change and
        cells from it on read: what a cut there would have to pass."""
        shared = set(self.analysis.binds(self.roles["imports"] + self.roles["functions"] +
                                         self.roles["parameters"]))
        ignored = shared | self.analysis.plain_builtins | self.analysis.module_names
        # needed[p]: names the cells from p on read before binding them (built backwards).
        needed: list[set[str]] = [set() for _ in range(len(work) + 1)]
        for position in range(len(work) - 1, -1, -1):
            index = work[position]
            own = set(self.analysis.needs([index]))
            bound = set(self.analysis.cell_binds(index)) - own
            needed[position] = own | (needed[position + 1] - bound)
        crossings: list[set[str]] = [set()]
        produced: set[str] = set()
        for position in range(1, len(work)):
            index = work[position - 1]
            produced |= set(self.analysis.cell_binds(index)) | set(self.facts(index).mutated)
            crossings.append((produced & needed[position]) - ignored)
        return crossings

    def unpassable(self, work: list[int]) -> list[set[str]]:
        """For each position in ``work``, the names that, bound before it, hold something no
        step can pass to another: a function or class defined in the work, a generator, an
        open file, a connection, the target of a ``with`` — and names that share one object
        (``b = a``, ``view = array[1:]``) when one of them is changed later: passed apart,
        they would no longer share it."""
        changed_from = [set() for _ in range(len(work) + 1)]  # changed in work[p:]
        for position in range(len(work) - 1, -1, -1):
            changed_from[position] = changed_from[position + 1] | \
                self._changed_in_place(work[position])
        result: list[set[str]] = [set()]
        bad: set[str] = set()
        shared: dict[str, set[str]] = {}  # name → the names it shares an object with
        for position, index in enumerate(work[:-1], 1):
            facts = self.facts(index)
            assigned = {}
            for assignment in facts.assignments:
                assigned[assignment.name] = assignment.value
            for name in facts.binds:
                value = assigned.get(name)
                if name in facts.deferred or isinstance(value, ast.GeneratorExp | ast.Lambda) \
                        or (isinstance(value, ast.Call) and self.analysis.qualify(
                            dotted_name(value.func)) in UNSERIALIZABLE_CALLS):
                    bad.add(name)
                else:
                    bad.discard(name)
            track_sharing(shared, facts, self.analysis.module_names)
            tree = self.notebook.cells[index].tree
            for node in ast.walk(tree) if tree is not None else ():
                if isinstance(node, (ast.With, ast.AsyncWith)):
                    bad |= {i.optional_vars.id for i in node.items
                            if isinstance(i.optional_vars, ast.Name)}
            later = changed_from[position]
            sharing = {name for name, others in shared.items()
                       if others and name.isidentifier() and ({name} | others) & later}
            result.append(bad | sharing)
        return result

    def _changed_in_place(self, index: int) -> set[str]:
        """Names whose object cell ``index`` changes in place (``a[0] = 1``, ``a.append()``,
        ``a += 1``: in place for lists and arrays)."""
        changed = set(self.facts(index).mutated)
        tree = self.notebook.cells[index].tree
        for node in ast.walk(tree) if tree is not None else ():
            if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
                changed.add(node.target.id)
        return changed

    def _markdown_between(self, first: int, second: int) -> list[Cell]:
        return [c for c in self.notebook.cells[first + 1:second] if c.cell_type == "markdown"]

    def heading_text(self, first: int, second: int) -> str | None:
        for cell in self._markdown_between(first, second):
            for line in cell.source.splitlines():
                match = re.match(r"^\s{0,3}#{1,4}\s+(.+?)\s*#*\s*$", line)
                if match:
                    return plain(match.group(1))
                match = re.match(r"^\s*<h[1-4][^>]*>(.+?)</h[1-4]>", line, re.I)
                if match:
                    return plain(match.group(1))
        return None


def plain(text: str) -> str:
    text = re.sub(r"<[^>]+>", "", text)
    text = re.sub(r"[*_`\[\]()]", "", text)
    return text.strip()
