"""``nb2pipe convert --auto``: propose pipeline tags for an untagged notebook.

The proposal is made in four moves, on a copy of the notebook:

1. *Tidy*: the safe fixes of NB303 (top-level literals into a ``parameters`` cell) and NB209
   (imports into the first importing cell) run first.
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
"""

from __future__ import annotations

import ast
import keyword
import re
from dataclasses import dataclass, field

from nb2pipe.analysis.cell import CellFacts
from nb2pipe.analysis.notebook import BUILTIN_NAMES, NotebookAnalysis, track_sharing
from nb2pipe.lint.diagnostic import Diagnostic
from nb2pipe.lint.knowledge import PYTHON2_BUILTINS
from nb2pipe.notebook.model import Cell, Notebook
from nb2pipe.pipeline.tags import RESERVED

#: A step should hold at least this many statements; smaller ones join a neighbour.
MIN_STATEMENTS = 3
#: At most this many steps (the weakest cuts go first).
MAX_STEPS = 12
#: Without a heading, a cut is made only where at most this many names cross it.
MAX_CROSSING = 4
#: Calls that make a new generator (seeded by their argument), not draws from the global one.
_NEW_GENERATORS = frozenset({"numpy.random.default_rng", "numpy.random.RandomState",
                             "numpy.random.Generator"})
#: Magics that only configure the kernel's display or extensions: such cells are `imports`.
SETUP_MAGICS = frozenset({"matplotlib", "config", "load_ext", "reload_ext", "autoreload",
                          "aimport", "precision", "env", "watermark"})
INSTALL_MAGICS = frozenset({"pip", "conda", "mamba", "uv"})
_STOP_WORDS = frozenset({"the", "a", "an", "of", "and", "to", "with", "for", "in", "on", "our",
                         "some", "step", "part", "section", "let", "s", "we", "us", "is", "at",
                         "by", "from", "into", "this", "that", "it", "its"})


_NO_FACTS = CellFacts()


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
            cells = _cell_range(step.cells)
            lines.append(f"step `{step.name}`: {cells} ({step.reason})")
        for role in ("imports", "functions", "skip", "metrics"):
            if self.roles.get(role):
                lines.append(f"`{role}`: {_cell_range(self.roles[role])}")
        if self.parameters:
            lines.append("parameters: " + ", ".join(self.parameters))
        return lines + self.notes


def _cell_range(indices: list[int]) -> str:
    numbers = [i + 1 for i in indices]
    if len(numbers) == 1:
        return f"cell {numbers[0]}"
    if numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"cells {numbers[0]}–{numbers[-1]}"
    return "cells " + ", ".join(map(str, numbers))


def propose(notebook: Notebook) -> Proposal:
    """Propose tags for ``notebook`` (which is not modified).

    Raises:
        AutoTagError: the notebook cannot be cut into a pipeline that reproduces it.
    """
    from nb2pipe.pipeline.build import is_tagged

    _refuse_unrunnable(notebook)
    if is_tagged(notebook):
        raise AutoTagError(notebook.path, [
            "the notebook already has pipeline tags: convert it without --auto, or remove "
            "its `step:`/`imports`/`functions`/`skip` tags to have new ones proposed"])
    tidied, notes = _tidy(notebook)
    return _Proposer(tidied, notes, _numbering(notebook, tidied)).run()


def _refuse_unrunnable(notebook: Notebook) -> None:
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
    analysis = NotebookAnalysis(notebook)
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


def _tidy(notebook: Notebook) -> tuple[Notebook, list[str]]:
    """The safe fixes that make a notebook easier to cut: a parameters cell, imports on top."""
    from nb2pipe.lint.fix import fix_notebook
    from nb2pipe.lint.registry import RULES
    from nb2pipe.lint.runner import lint_notebook

    from nb2pipe.lint.rules.no_parameters_cell import liftable

    codes = {"NB209"}
    if liftable(NotebookAnalysis(notebook)):
        codes.add("NB303")  # an empty parameters cell would only be noise in a pipeline
    rules = {code: RULES[code]() for code in codes}
    outcome = fix_notebook(notebook, lambda nb: lint_notebook(nb, codes, with_project=False),
                           rules)
    notes = []
    if any(d.code == "NB209" for d in outcome.fixed):
        moved = sum(1 for d in outcome.fixed if d.code == "NB209")
        notes.append(f"moved {moved} import{'s' if moved > 1 else ''} to the first import cell")
    return outcome.notebook, notes


@dataclass
class _Work:
    """A run of work cells that become one step."""

    cells: list[int]
    reason: str = ""


class _Proposer:
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

    # -- roles -----------------------------------------------------------------------------

    def classify(self) -> list[int]:
        """Give the setup cells their roles; return the work cells."""
        work: list[int] = []
        shared: set[str] = set()
        for cell in self.notebook.code_cells:
            if cell.is_empty:
                continue
            if any(t in ("parameters", "pipeline-parameters") for t in cell.tags):
                self.roles["parameters"].append(cell.index)
                shared |= self.analysis.cell_binds(cell.index).keys()
                continue
            if any(t in ("metrics", "pipeline-metrics") for t in cell.tags):
                self.roles["metrics"].append(cell.index)  # already tagged: kept as it is
                continue
            role = self._role(cell, shared)
            if role is None:
                work.append(cell.index)
            else:
                self.roles[role].append(cell.index)
                if role != "skip":
                    shared |= self.analysis.cell_binds(cell.index).keys()
        return work

    def _role(self, cell: Cell, shared: set[str]) -> str | None:
        magics = cell.code.magics
        tree = cell.tree
        if tree is None:  # a cell magic in another language (%%bash, %%html…)
            return None
        statements = [s for s in tree.body if not _is_note(s)]
        if magics and not statements:
            kinds = {(m.kind, m.name) for m in magics}
            if all(name in INSTALL_MAGICS or (kind == "shell" and name in ("pip", "conda"))
                   for kind, name in kinds):
                return "skip"
            if all(kind == "line" and name in SETUP_MAGICS for kind, name in kinds):
                return "imports"
            return None
        if any(m.kind != "line" or m.name not in SETUP_MAGICS for m in magics):
            return None
        if not statements:
            return None
        if all(isinstance(s, (ast.Import, ast.ImportFrom)) for s in statements):
            return "imports"
        if all(isinstance(s, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef,
                              ast.ClassDef)) for s in statements):
            facts = self.facts(cell.index)
            # Defining must not need the work's values (defaults, decorators, base classes).
            needs = {r.name for r in facts.external} - shared - BUILTIN_NAMES
            if not needs and not self._holds_state(statements):
                return "functions"
        return None

    def _holds_state(self, statements: list[ast.stmt]) -> bool:
        """Whether a definition keeps state that the work changes: a class whose methods set
        class attributes (``cls.rate = …``), or a function or class that some cell changes
        (``Car.rate = …``). Each step runs the definitions afresh, which would lose it."""
        defined = {s.name for s in statements if isinstance(s, (ast.ClassDef, ast.FunctionDef,
                                                                  ast.AsyncFunctionDef))}
        if any(defined & set(facts.mutated) for facts in self.analysis.facts.values()):
            return True
        for statement in statements:
            if not isinstance(statement, ast.ClassDef):
                continue
            owners = {"cls", statement.name}
            for node in ast.walk(statement):
                targets = node.targets if isinstance(node, ast.Assign) else \
                    [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
                if any(isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and
                       t.value.id in owners for t in targets):
                    return True
        return False

    # -- steps -----------------------------------------------------------------------------

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

    def note_global_random_state(self, groups: list[_Work], names: list[str]) -> None:
        """Say so when a step draws from a global generator (``np.random.rand``) that another
        step seeds: each step starts a fresh process, so its draws are not the notebook's."""
        from nb2pipe.lint.knowledge import RANDOM_SOURCES, UNIVERSAL_SEEDERS

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

    def segment(self, work: list[int]) -> list[_Work]:
        opaque = self.reads_names_from_strings()
        if opaque is not None:
            cell, call = opaque
            self.notes.append(
                f"cell {self.number(cell)}, line {call.node.lineno}: `{call.dotted}()` reads "
                f"names from strings, so which values a step would need is unknown: the work "
                f"stays in one step (tag the steps by hand to split it)")
            return [_Work(work, "the names it reads cannot be known")]
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
            result.append(_Work(work[a:b], reasons[a]))
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
        from nb2pipe.analysis.cell import dotted_name
        from nb2pipe.pipeline.build import UNSERIALIZABLE_CALLS

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
                       if others and ({name} | others) & later}
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
                    return _plain(match.group(1))
                match = re.match(r"^\s*<h[1-4][^>]*>(.+?)</h[1-4]>", line, re.I)
                if match:
                    return _plain(match.group(1))
        return None

    # -- checking by building ---------------------------------------------------------------

    def check(self, groups: list[_Work]):
        """Build the tagged copy, merging steps while a value cannot cross between them.

        Returns:
            The final groups, their step names and the editor holding the tagged copy.
        """
        from nb2pipe.pipeline.build import build_pipeline

        for _ in range(len(groups) + 2):
            names = self.names(groups)
            tagged = self.tagged(groups, names)
            pipeline, problems = build_pipeline(tagged.notebook())
            errors = [p for p in problems if p.severity == "error"]
            if not errors:
                return groups, names, tagged
            merge = next((p for p in errors if p.code == "NB403"), None)
            if merge is None or len(groups) == 1:
                raise AutoTagError(self.notebook.path, [
                    _describe(p, self.number) for p in errors])
            at = next(n for n, g in enumerate(groups) if merge.cell in g.cells)
            at = min(at, len(groups) - 2)
            groups[at:at + 2] = [_Work(groups[at].cells + groups[at + 1].cells,
                                       groups[at].reason)]
        raise AutoTagError(self.notebook.path, ["no cut of the notebook into steps builds"])

    def names(self, groups: list[_Work]) -> list[str]:
        taken: set[str] = set()
        names = []
        for number, group in enumerate(groups, 1):
            name = self.name_for(group, number)
            if keyword.iskeyword(name) or keyword.issoftkeyword(name):
                name += "_step"  # a heading "break": `step:break` would not be a valid name
            base, suffix = name, 2
            while name in taken or name in RESERVED:
                name = f"{base}_{suffix}"
                suffix += 1
            taken.add(name)
            names.append(name)
        return names

    def name_for(self, group: _Work, number: int) -> str:
        first = group.cells[0]
        heading = self.heading_text(self.previous_code_cell(first), first)
        if heading:
            words = [w for w in re.findall(r"[a-z0-9]+", heading.lower())
                     if w not in _STOP_WORDS]
            words = [w for w in words if not w.isdigit()] or words
            if words:
                name = "_".join(words[:3])
                return name if not name[0].isdigit() else "step_" + name
        return self.name_from_code(group) or f"step_{number}"

    def previous_code_cell(self, index: int) -> int:
        """The index of the last non-empty code cell above ``index`` (-1 if none)."""
        return max((c.index for c in self.notebook.code_cells
                    if c.index < index and not c.is_empty), default=-1)

    def name_from_code(self, group: _Work) -> str | None:
        calls = []
        for index in group.cells:
            facts = self.facts(index)
            calls += [(self.analysis.qualify(c.dotted) or c.dotted or "", c.attr or "")
                      for c in facts.calls]
        attrs = {a for _, a in calls}
        qualified = {q for q, _ in calls}
        if attrs & {"fit", "train", "partial_fit", "fit_generator"} and \
                "fit_transform" not in attrs:
            return "train"
        if any(q.endswith(("train_test_split", "KFold", "StratifiedKFold")) for q in qualified):
            return "split_data"
        if attrs & {"predict", "predict_proba", "score", "evaluate"} or any(
                q.startswith("sklearn.metrics") for q in qualified):
            return "evaluate"
        if any(a.startswith(("read_", "load_")) or a in ("load", "loadtxt", "fetch_openml")
               for a in attrs):
            return "load_data"
        if attrs & {"fit_transform", "transform", "fillna", "dropna", "drop", "merge",
                    "get_dummies", "astype", "apply", "replace"}:
            return "prepare_data"
        if any(q.startswith(("matplotlib", "seaborn", "plotly")) for q in qualified) or \
                attrs & {"plot", "hist", "show", "figure", "subplots", "savefig"}:
            return "plot"
        return None

    def tagged(self, groups: list[_Work], names: list[str]):
        from nb2pipe.lint.fix import NotebookEditor

        editor = NotebookEditor(self.notebook)
        for role, cells in self.roles.items():
            if role in ("parameters", "metrics"):
                continue
            for index in cells:
                editor.add_tags(index, [role])
        for group, name in zip(groups, names):
            for index in group.cells:
                editor.add_tags(index, [f"step:{name}"])
        self._order_producers(editor, groups, names)
        metrics = self.metric_names(groups)
        if metrics and not self.roles["metrics"]:
            editor.insert_cell(len(editor.cells), "\n".join(f"print({m})" for m in metrics),
                               ("pipeline-metrics",))
        return editor

    def metric_names(self, groups: list[_Work]) -> list[str]:
        """Names the work assigns a score to (``acc = accuracy_score(…)``, ``model.score(…)``):
        the pipeline's metrics, logged to the tracker."""
        from nb2pipe.analysis.cell import dotted_name

        found: dict[str, None] = {}
        for group in groups:
            for index in group.cells:
                for assignment in self.facts(index).assignments:
                    value = assignment.value
                    if not assignment.top or not isinstance(value, ast.Call):
                        continue
                    qualified = self.analysis.qualify(dotted_name(value.func)) or ""
                    last = qualified.rpartition(".")[2] if qualified else \
                        getattr(value.func, "attr", "")
                    if last == "score" or (
                            qualified.startswith("sklearn.metrics.") and
                            last.endswith(("_score", "_error", "_loss")) and
                            not last.startswith(("make_", "get_"))):
                        found.pop(assignment.name, None)
                        found[assignment.name] = None
        return list(found)[-8:]

    def _order_producers(self, editor, groups: list[_Work], names: list[str]) -> None:
        """``prev:`` tags where two steps produce a name a later step reads, so the later
        producer runs after the earlier one (as it does in the notebook)."""
        produced = []
        for group in groups:
            names_made = set(self.analysis.binds(group.cells))
            for index in group.cells:
                names_made |= set(self.facts(index).mutated)
            produced.append(names_made - self.analysis.module_names)
        needed = [set(self.analysis.needs(g.cells)) for g in groups]
        ancestors: list[set[int]] = []
        prev: list[set[int]] = [set() for _ in groups]
        for position in range(len(groups)):
            parents = set()
            for name in sorted(needed[position]):
                makers = [k for k in range(position) if name in produced[k]]
                if makers:
                    parents.add(makers[-1])
            ancestors.append(set())
            for parent in parents:
                ancestors[position] |= {parent} | ancestors[parent]
        for position in range(len(groups)):
            for name in sorted(needed[position]):  # (in a set order the edges would vary)
                makers = [k for k in range(position) if name in produced[k]]
                for k in range(len(makers) - 1):
                    later, earlier = makers[k + 1], makers[k]
                    if earlier not in ancestors[later] and earlier not in prev[later]:
                        prev[later].add(earlier)
                        ancestors[later] |= {earlier} | ancestors[earlier]
                        for other in range(later + 1, len(groups)):
                            if later in ancestors[other]:
                                ancestors[other] |= ancestors[later]
        for position, earlier in enumerate(prev):
            if earlier:
                first = groups[position].cells[0]
                editor.add_tags(first, [f"prev:{names[k]}" for k in sorted(earlier)])

    def proposal(self, groups: list[_Work], names: list[str], editor) -> Proposal:
        editor.set_nb2pipe_metadata("auto", {"steps": names})
        metrics = self.metric_names(groups)
        if metrics and not self.roles["metrics"]:
            self.notes.append("added a `pipeline-metrics` cell at the end for " +
                              ", ".join(f"`{m}`" for m in metrics))
        steps = [ProposedStep(name, g.cells, g.reason) for g, name in zip(groups, names)]
        parameters = []
        for index in self.roles["parameters"]:
            parameters += list(self.analysis.cell_binds(index))
        return Proposal(editor.notebook(), steps,
                        {k: v for k, v in self.roles.items() if k != "parameters" and v},
                        parameters, self.notes)


def _is_note(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.Pass) or (
        isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant))


def _plain(text: str) -> str:
    text = re.sub(r"<[^>]+>", "", text)
    text = re.sub(r"[*_`\[\]()]", "", text)
    return text.strip()


def _describe(problem: Diagnostic, number) -> str:
    where = f"cell {number(problem.cell)}: " if problem.cell is not None else ""
    return f"{where}{problem.code} {problem.message}" + \
        (f"; {problem.help}" if problem.help else "")
