"""From a tagged notebook to a :class:`~nb2pipe.pipeline.model.Pipeline`, or to the reasons
why not.

Edges come from the data: for each step, the names it reads that it does not bind itself come
from the nearest earlier step that binds (or mutates) them, as found by the scope-aware
analysis the linter uses. ``prev:`` tags add ordering edges, kept even when no data flows.
Steps that do not depend on each other stay parallel.

Everything that would make the pipeline wrong is reported before anything is written, as
diagnostics with the rule codes of the catalogue: NB401 (tags), NB402 (two unordered producers
of a needed name), NB403 (a value that cannot cross a process boundary), NB404 (a name only a
skipped cell defines), NB405 (a parameter that is not a literal), NB106 (a name nobody defines).
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
from dataclasses import dataclass, field

from nb2pipe.analysis.notebook import BUILTIN_NAMES, NotebookAnalysis
from nb2pipe.diagnostic import Diagnostic, diagnostic
from nb2pipe.notebook.model import Cell, Notebook
from nb2pipe.pipeline.carry import (
    autolog_flavours,
    import_of,
    settings_before,
    submodule_imports,
)
from nb2pipe.pipeline.model import Artifact, Edge, Parameter, Pipeline, Step
from nb2pipe.pipeline.tags import CellTags, parse_tags

#: Calls whose result cannot be pickled and sent to another process.
UNSERIALIZABLE_CALLS = {
    "open": "an open file", "io.open": "an open file", "builtins.open": "an open file",
    "codecs.open": "an open file", "gzip.open": "an open file", "bz2.open": "an open file",
    "threading.Lock": "a lock", "threading.RLock": "a lock", "threading.Thread": "a thread",
    "multiprocessing.Lock": "a lock", "multiprocessing.Pool": "a process pool",
    "socket.socket": "a socket", "sqlite3.connect": "a database connection",
    "psycopg2.connect": "a database connection", "pymysql.connect": "a database connection",
    "sqlalchemy.create_engine": "a database engine", "requests.Session": "an HTTP session",
    "iter": "an iterator", "zip": "an iterator", "map": "an iterator", "filter": "an iterator",
    "enumerate": "an iterator", "csv.reader": "an iterator", "csv.writer": "a file writer",
    "subprocess.Popen": "a running process", "tempfile.TemporaryDirectory": "a temporary folder",
    "lzma.open": "an open file", "zipfile.ZipFile": "an open archive",
    "tarfile.open": "an open archive", "reversed": "an iterator",
    "csv.DictReader": "an iterator", "itertools.cycle": "an iterator",
    "itertools.count": "an iterator", "itertools.chain": "an iterator",
}
METRICS_STEP = "metrics"
class PipelineError(Exception):
    """The notebook cannot become a pipeline; ``diagnostics`` say why, cell by cell."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__("; ".join(d.message for d in diagnostics))
        self.diagnostics = diagnostics


@dataclass
class _Group:
    name: str
    cells: list[int] = field(default_factory=list)
    prev: list[str] = field(default_factory=list)
    settings: dict = field(default_factory=dict)


def is_tagged(notebook: Notebook) -> bool:
    """Whether the notebook is tagged for conversion: a ``step:`` tag, or one of Kale's own
    tags. papermill's ``parameters`` and a ``metrics`` tag alone do not make a pipeline."""
    kale_roles = {"imports", "functions", "pipeline-parameters", "pipeline-metrics", "skip"}
    for cell in notebook.cells:
        if not cell.is_code:
            continue
        for tag in cell.tags:
            if tag in kale_roles or tag.startswith(("step:", "block:", "prev:")):
                return True
        if parse_tags(cell.tags).problems:
            return True
    return False


def cell_places(notebook: Notebook, single_step: bool = False):
    """Each code cell, its own tags, and its place in the pipeline: ``("step", NAME)``, a role
    (``("imports", None)``, ``("parameters", None)``…) or ``None`` (before the first tag: in no
    step). A cell without pipeline tags joins the cell above it, as in Kale."""
    current: tuple[str, str | None] | None = None
    for cell in notebook.code_cells:
        tags = CellTags(role="step", step="run") if single_step else parse_tags(cell.tags)
        if tags.role == "step":
            current = ("step", tags.step)
        elif tags.role is not None:
            current = (tags.role, None)
        yield cell, tags, current


def pipeline_name(notebook: Notebook) -> str:
    """The user's notebook's name, slugged: ``churn.tagged.ipynb`` (the copy `--auto` writes,
    converted again after review) is still ``churn``."""
    stem = os.path.splitext(os.path.basename(notebook.path))[0]
    stem = stem[:-len(".tagged")] if stem.endswith(".tagged") else stem
    name = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")
    return name or "pipeline"


def source_hash(notebook: Notebook) -> str:
    digest = hashlib.sha256()
    for cell in notebook.cells:
        digest.update(json.dumps([cell.cell_type, cell.source, list(cell.tags)]).encode())
    return digest.hexdigest()


def build_pipeline(notebook: Notebook, analysis: NotebookAnalysis | None = None,
                   single_step: bool = False) -> tuple[Pipeline | None, list[Diagnostic]]:
    """Build the pipeline of a tagged notebook.

    Args:
        single_step: treat an untagged notebook as one step (``nb2pipe run notebook.ipynb``).

    Returns:
        The pipeline (``None`` when there are errors) and every problem found.
    """
    return _Builder(notebook, analysis or NotebookAnalysis(notebook), single_step).build()


class _Builder:
    def __init__(self, notebook: Notebook, analysis: NotebookAnalysis, single_step: bool):
        self.notebook = notebook
        self.analysis = analysis
        self.single_step = single_step
        self.problems: list[Diagnostic] = []
        self._unreplayed: set[tuple[int, int]] = set()

    # -- reporting -------------------------------------------------------------------------

    def report(self, code: str, cell: Cell | None, message: str, help: str,
               line: int = 1, col: int = 1, severity: str = "error") -> None:
        self.problems.append(diagnostic(code, message, self.notebook.path, cell,
                                        severity=severity, line=line, col=col, help=help))

    # -- the build -------------------------------------------------------------------------

    def build(self) -> tuple[Pipeline | None, list[Diagnostic]]:
        notebook = self.notebook
        language = notebook.language
        if "python" not in language:
            self.report("NB903", None, f"the kernel's language is `{language}`: nb2pipe builds "
                        f"pipelines from Python notebooks only",
                        "nb2pipe's steps run Python: convert a notebook whose kernel is Python")
            return None, self.problems
        roles: dict[str, list[int]] = {"imports": [], "functions": [], "parameters": [],
                                       "metrics": [], "skip": [], "orphan": []}
        groups: dict[str, _Group] = {}
        order: list[str] = []
        gates: list[tuple[str, Cell | None]] = []  # gate conditions and the cell tagged
        for cell, tags, place in cell_places(notebook, self.single_step):
            gates += [(condition, cell) for condition in tags.gate]
            for problem in tags.problems:
                self.report("NB401", cell, problem.message + f" (tag `{problem.tag}`)",
                            problem.hint)
            if tags.role == "step":
                name = tags.step
                group = groups.get(name)
                if group is None:
                    group = groups[name] = _Group(name)
                    order.append(name)
                for previous in tags.prev:
                    if previous == name:
                        self.report("NB401", cell, f"step `{name}` names itself in `prev:`",
                                    "remove the tag")
                    elif previous not in groups:
                        later = any(f"step:{previous}" in c.tags or f"block:{previous}" in c.tags
                                    for c in notebook.cells[cell.index:])
                        where = "is defined only below this cell" if later else "does not exist"
                        self.report("NB401", cell, f"`prev:{previous}`: step `{previous}` "
                                    f"{where}", "`prev:` must name a step tagged above")
                    elif previous not in group.prev:
                        group.prev.append(previous)
                _merge_settings(group.settings, tags.settings)
                group.cells.append(cell.index)
            elif place is None:
                roles["orphan"].append(cell.index)
            elif place[0] == "step":
                groups[place[1]].cells.append(cell.index)
            else:
                roles[place[0]].append(cell.index)

        if not groups:
            self.report("NB401", None, "no cell is tagged `step:NAME`: there is no step to run",
                        "tag the cells of each step `step:NAME` (see docs/tags.md), or let "
                        "nb2pipe propose the steps: nb2pipe convert NOTEBOOK --auto")
            return None, self.problems
        used = [i for group in groups.values() for i in group.cells] + [
            i for role in ("imports", "functions", "parameters", "metrics") for i in roles[role]]
        for index in sorted(used):
            cell = notebook.cells[index]
            problem = cell.code.error if cell.code else None
            if problem is not None:
                self.report("NB902", cell, f"cell does not parse: {problem.message}",
                            "fix the syntax (or tag the cell `skip` to leave it out of the "
                            "pipeline)", problem.line, problem.col)
        for name in order:
            cells = groups[name].cells
            if all(notebook.cells[i].is_empty for i in cells):
                self.report("NB401", notebook.cells[cells[0]], f"step `{name}` has no code",
                            "put code in the step or remove its tag")
        self._cycles(groups, order)
        parameters = self._parameters(roles["parameters"])
        steps = self._steps(groups, order, roles, parameters)
        if roles["metrics"]:
            steps.append(self._metrics_step(roles["metrics"], steps, roles, parameters, groups))
        if any(p.severity == "error" for p in self.problems):
            return None, self.problems
        steps = _topological(steps)
        edges, artifacts = _edges(steps)
        pipeline = Pipeline(
            name=pipeline_name(notebook), notebook=notebook.path,
            source_hash=source_hash(notebook), parameters=parameters, steps=steps,
            edges=edges, artifacts=artifacts, imports=roles["imports"],
            functions=roles["functions"],
            metrics=next((s.metrics for s in steps if s.kind == "metrics"), []))
        from nb2pipe.pipeline.level1 import add_level1

        add_level1(pipeline, notebook, self.analysis, gates, self.report)
        if any(p.severity == "error" for p in self.problems):
            return None, self.problems
        return pipeline, self.problems

    def _cycles(self, groups: dict[str, _Group], order: list[str]) -> None:
        state: dict[str, int] = {}

        def visit(name: str, path: list[str]) -> bool:
            if state.get(name) == 1:
                cycle = path[path.index(name):] + [name]
                cell = self.notebook.cells[groups[name].cells[0]]
                self.report("NB401", cell, "`prev:` tags form a cycle: " + " → ".join(cycle),
                            "remove one of the `prev:` tags")
                return True
            if state.get(name) == 2:
                return False
            state[name] = 1
            for previous in groups[name].prev:
                if previous in groups and visit(previous, path + [name]):
                    return True
            state[name] = 2
            return False

        for name in order:
            if visit(name, []):
                for group in groups.values():  # drop the edges so the rest can be checked
                    group.prev = [p for p in group.prev if order.index(p) < order.index(
                        group.name)]
                return

    def _parameters(self, cells: list[int]) -> list[Parameter]:
        parameters: list[Parameter] = []
        for index in cells:
            cell = self.notebook.cells[index]
            tree = cell.tree
            if tree is None:
                continue
            for statement in tree.body:
                if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
                    continue  # a docstring or a note
                target = statement.targets[0] if isinstance(statement, ast.Assign) and \
                    len(statement.targets) == 1 else getattr(statement, "target", None)
                value = getattr(statement, "value", None)
                if not isinstance(statement, (ast.Assign, ast.AnnAssign)) or \
                        not isinstance(target, ast.Name) or value is None:
                    self.report("NB405", cell, "the parameters cell may only assign values to "
                                "names: `" + ast.unparse(statement)[:60] + "`",
                                "move this statement to a step", statement.lineno,
                                statement.col_offset + 1)
                    continue
                try:
                    default = ast.literal_eval(value)
                except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                    self.report("NB405", cell, f"parameter `{target.id}` is set to "
                                f"`{ast.unparse(value)[:60]}`, which is not a literal",
                                "give it a literal value (number, string, bool, None, list, "
                                "tuple, set, dict) and compute derived values in a step",
                                value.lineno, value.col_offset + 1)
                    continue
                from nb2pipe.pipeline.literals import json_exact, round_trip_problem

                problem = None if json_exact(default) else round_trip_problem(default)
                if problem:
                    self.report("NB405", cell, f"parameter `{target.id}`: {problem}, so it "
                                f"cannot cross to a pipeline's steps",
                                "write it as a literal that reads back the same (`[]` for an "
                                "empty set, no nan or inf), or compute it in a step",
                                value.lineno, value.col_offset + 1)
                    continue
                parameters = [p for p in parameters if p.name != target.id]
                parameters.append(Parameter(target.id, _type_name(default), default, index))
        return parameters

    def _shared(self, roles: dict[str, list[int]]) -> set[str]:
        return self.analysis.binds(roles["imports"] + roles["functions"])

    def _producers(self, groups, order) -> dict[str, set[str]]:
        """Names each step binds or mutates."""
        produced: dict[str, set[str]] = {}
        for name in order:
            names = set(self.analysis.binds(groups[name].cells))
            for cell_index in groups[name].cells:
                facts = self.analysis.facts.get(cell_index)
                if facts is not None:
                    names |= set(facts.mutated) - self.analysis.module_names
            produced[name] = names
        return produced

    def _steps(self, groups, order, roles, parameters) -> list[Step]:
        analysis = self.analysis
        shared = self._shared(roles)
        parameter_names = {p.name for p in parameters}
        produced = self._producers(groups, order)
        skipped = analysis.binds(roles["skip"])
        orphans = analysis.binds(roles["orphan"])
        ancestors: dict[str, set[str]] = {}
        steps: list[Step] = []
        for position, name in enumerate(order):
            group = groups[name]
            needs = analysis.needs(group.cells)
            inputs: dict[str, str] = {}
            imports: list[str] = []
            used_parameters: list[str] = []
            for needed, read in sorted(needs.items()):
                earlier = [s for s in order[:position] if needed in produced[s]]
                if needed in shared or needed in BUILTIN_NAMES and not earlier and \
                        needed not in parameter_names:
                    continue  # a builtin, until a step or the parameters rebind its name
                statement = import_of(analysis, groups[earlier[-1]].cells, needed) \
                    if earlier else None
                if statement:
                    imports.append(statement)  # a module is imported again, not passed
                    continue
                if earlier:
                    producer = earlier[-1]
                    unordered = [s for s in earlier[:-1] if s not in ancestors[producer]]
                    if unordered:
                        cell = self._cell_of(group.cells, read)
                        self.report(
                            "NB402", cell, f"step `{name}` needs `{needed}`, which steps "
                            f"`{unordered[-1]}` and `{producer}` both produce, in no set order",
                            f"add `prev:{unordered[-1]}` to step `{producer}` (or rename one "
                            f"of the two)", read.line, read.col)
                    inputs[needed] = producer
                elif needed in parameter_names:
                    used_parameters.append(needed)
                elif needed in skipped or needed in orphans:
                    where = "a `skip` cell" if needed in skipped else \
                        "a cell above the first tag (such cells belong to no step)"
                    cells = roles["skip"] if needed in skipped else roles["orphan"]
                    definer = next(c for c in cells if needed in analysis.cell_binds(c))
                    self.report("NB404", self._cell_of(group.cells, read),
                                f"step `{name}` needs `{needed}`, which only {where} defines "
                                f"(cell {definer + 1})",
                                f"remove the skip tag from cell {definer + 1}, or define "
                                f"`{needed}` in a step", read.line, read.col)
                elif not analysis.dynamic:
                    self.report("NB106", self._cell_of(group.cells, read),
                                f"step `{name}` needs `{needed}`, which no cell defines",
                                f"define `{needed}` in this step or an earlier one",
                                read.line, read.col)
            imports = sorted(set(imports))
            imports += submodule_imports(analysis, imports, max(group.cells),
                                         set(roles["imports"]))
            imports = list(dict.fromkeys(imports))  # each import once
            skipped: list = []
            replayed = settings_before(
                self.notebook, analysis, group.cells,
                [c for g in groups.values() for c in g.cells], roles, shared | set(imports),
                skipped)
            imports += [line for line in replayed if line not in imports or
                        not line.startswith(("import ", "from "))]
            for index, statement in skipped:
                if (index, statement.lineno) in self._unreplayed:
                    continue
                self._unreplayed.add((index, statement.lineno))
                self.report("NB407", self.notebook.cells[index],
                            f"this setting reads a value computed at run time, so the steps "
                            f"after this cell run without it (step `{name}` and later)",
                            "make what it reads a literal (a dict or a string in the cell), "
                            "or repeat the setting in the steps that need it",
                            statement.lineno, statement.col_offset + 1, severity="warning")
            after = sorted(set(inputs.values()) | set(group.prev), key=order.index)
            ancestors[name] = set(after)
            for parent in after:
                ancestors[name] |= ancestors[parent]
            steps.append(Step(name=name, cells=group.cells,
                              inputs=dict(sorted(inputs.items())),
                              parameters=sorted(used_parameters), after=after,
                              settings=group.settings, imports=imports,
                              autolog=autolog_flavours(analysis, group.cells,
                                                       roles["imports"] + roles["functions"])))
        self._set_outputs(steps)
        return steps

    def _metrics_step(self, cells, steps, roles, parameters, groups) -> Step:
        analysis = self.analysis
        shared = self._shared(roles)
        metric_names: list[str] = []
        for index in cells:
            tree = self.notebook.cells[index].tree
            for statement in tree.body if tree is not None else []:
                if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Name):
                    metric_names.append(statement.value.id)  # Kale 1: one name per line
                elif _printed_name(statement):
                    metric_names.append(_printed_name(statement))  # Kale 2: print(name)
                elif isinstance(statement, (ast.Assign, ast.AnnAssign)):
                    targets = statement.targets if isinstance(statement, ast.Assign) else \
                        [statement.target]
                    metric_names += [t.id for t in targets if isinstance(t, ast.Name)]
        needs = analysis.needs(cells)
        producers = {s.name: set(analysis.binds(s.cells)) for s in steps}
        order = [s.name for s in steps]
        inputs: dict[str, str] = {}
        used_parameters = []
        for needed, read in sorted(needs.items()):
            earlier = [s for s in order if needed in producers[s]]
            if needed in shared or needed in BUILTIN_NAMES and not earlier and \
                    needed not in {p.name for p in parameters}:
                continue
            if earlier:
                inputs[needed] = earlier[-1]
            elif needed in {p.name for p in parameters}:
                used_parameters.append(needed)
            elif not analysis.dynamic:
                self.report("NB106", self._cell_of(cells, read), f"the pipeline metrics need "
                            f"`{needed}`, which no step defines", f"define `{needed}` in a step",
                            read.line, read.col)
        name = METRICS_STEP if METRICS_STEP not in order else "pipeline_metrics"
        step = Step(name=name, cells=cells, inputs=dict(sorted(inputs.items())),
                    parameters=sorted(used_parameters),
                    after=sorted(set(inputs.values()), key=order.index),
                    metrics=list(dict.fromkeys(metric_names)), kind="metrics")
        for producer in set(inputs.values()):
            target = next(s for s in steps if s.name == producer)
            target.outputs = sorted(set(target.outputs) | {n for n, p in inputs.items()
                                                           if p == producer})
        return step

    def _set_outputs(self, steps: list[Step]) -> None:
        by_name = {s.name: s for s in steps}
        for consumer in steps:
            for needed, producer in consumer.inputs.items():
                step = by_name[producer]
                if needed not in step.outputs:
                    step.outputs.append(needed)
        for step in steps:
            step.outputs.sort()
            self._check_serializable(step)
        self._check_sharing(steps)

    def _check_sharing(self, steps: list[Step]) -> None:
        """Steps pass values by copy, so names that share one object (``holder = {"a": a}``,
        ``b = a``, ``pipe = Pipeline([("m", m)])``) are separate objects once passed apart: a
        change through one name (``holder["a"].append(3)``) would not reach the other, and
        the pipeline would print another result than the notebook. Such a change is refused
        (NB403) when the step received two of the names apart, or passes on a name it never
        had."""
        from nb2pipe.analysis.notebook import track_sharing

        analysis = self.analysis
        order = {index: step for step in steps for index in step.cells}
        shared: dict[str, set[str]] = {}
        bound: dict[str, set[str]] = {step.name: set() for step in steps}
        reported: set[tuple[str, frozenset]] = set()
        for index in sorted(analysis.facts):
            facts = analysis.facts[index]
            track_sharing(shared, facts, analysis.module_names)
            step = order.get(index)
            if step is None:
                continue
            bound[step.name] |= set(facts.binds)
            for name, line in sorted(facts.mutated.items(), key=lambda item: item[1]):
                group = ({name} | shared.get(name, set())) - analysis.module_names
                if len(group) < 2:
                    continue
                received = sorted(group & set(step.inputs))
                missing = sorted(n for n in group if n in step.outputs and
                                 n not in step.inputs and n not in bound[step.name])
                if len(received) < 2 and not missing:
                    continue
                if (step.name, frozenset(group)) in reported:
                    continue
                reported.add((step.name, frozenset(group)))
                others = sorted(group - {name})
                listed = ", ".join(f"`{n}`" for n in others[:4])
                self.report("NB403", self.notebook.cells[index],
                            f"step `{step.name}` changes `{name}` in place, which shares its "
                            f"object with {listed}; steps pass values by copy, so "
                            f"{'they' if len(others) > 1 else listed} would not see the change",
                            f"keep the cells that make and change {listed} and `{name}` in one "
                            f"step (or make a copy where they are made)", line, 1)

    def _check_serializable(self, step: Step) -> None:
        analysis = self.analysis
        for cell_index in step.cells:
            facts = analysis.facts.get(cell_index)
            if facts is None:
                continue
            cell = self.notebook.cells[cell_index]
            for assignment in facts.assignments:
                if assignment.name not in step.outputs:
                    continue
                what = _unserializable(assignment.value, analysis)
                if what:
                    self.report("NB403", cell, f"step `{step.name}` passes `{assignment.name}`, "
                                f"{what}, to another step: it cannot cross a process boundary",
                                f"pass what `{assignment.name}` holds (a path, the data read "
                                f"from it) instead, or do the work in one step",
                                assignment.stmt.lineno, assignment.stmt.col_offset + 1)
            tree = cell.tree
            for node in ast.walk(tree) if tree is not None else []:
                if isinstance(node, (ast.With, ast.AsyncWith)):
                    for item in node.items:
                        target = item.optional_vars
                        if isinstance(target, ast.Name) and target.id in step.outputs:
                            self.report("NB403", cell, f"step `{step.name}` passes "
                                        f"`{target.id}`, a context manager's value (closed by "
                                        f"then), to another step", "pass the data, not the handle",
                                        node.lineno, node.col_offset + 1)

    def _cell_of(self, cells: list[int], read) -> Cell:
        """The cell of a group that a read comes from (the group's first cell if unknown)."""
        for index in cells:
            facts = self.analysis.facts.get(index)
            if facts is not None and any(r is read or (r.name == read.name and r.line == read.line
                                                       and r.col == read.col)
                                         for r in facts.external):
                return self.notebook.cells[index]
        for index in cells:
            facts = self.analysis.facts.get(index)
            if facts is not None and read.name in {r.name for r in facts.reads}:
                return self.notebook.cells[index]
        return self.notebook.cells[cells[0]]


def _printed_name(statement: ast.stmt) -> str | None:
    """``name`` for a ``print(name)`` statement (Kale 2's way of naming a metric)."""
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        call = statement.value
        if isinstance(call.func, ast.Name) and call.func.id == "print" and \
                len(call.args) == 1 and isinstance(call.args[0], ast.Name) and not call.keywords:
            return call.args[0].id
    return None


def _unserializable(value: ast.AST, analysis: NotebookAnalysis) -> str | None:
    if isinstance(value, ast.GeneratorExp):
        return "a generator"
    if isinstance(value, ast.Call):
        from nb2pipe.analysis.facts import dotted_name

        qualified = analysis.qualify(dotted_name(value.func))
        return UNSERIALIZABLE_CALLS.get(qualified or "")
    return None


def _merge_settings(into: dict, settings: dict) -> None:
    for key, value in settings.items():
        if isinstance(value, dict):
            into.setdefault(key, {}).update(value)
        elif isinstance(value, list):
            into.setdefault(key, []).extend(value)
        else:
            into[key] = value


def _type_name(value) -> str:
    """The parameter's type: JSON's own, or ``literal`` for what JSON cannot carry exactly
    (a tuple, a set, ``None``, and containers holding them: :mod:`nb2pipe.pipeline.literals`)."""
    from nb2pipe.pipeline.literals import LITERAL, json_exact

    if not json_exact(value):
        return LITERAL
    return {bool: "bool", int: "int", float: "float", str: "str", list: "list",
            dict: "dict"}[type(value)]


def _topological(steps: list[Step]) -> list[Step]:
    """Steps in dependency order; independent steps keep their document order."""
    remaining = list(steps)
    done: set[str] = set()
    ordered: list[Step] = []
    while remaining:
        for step in remaining:
            if all(a in done for a in step.after):
                ordered.append(step)
                done.add(step.name)
                remaining.remove(step)
                break
        else:  # a cycle (reported already): keep document order
            ordered.extend(remaining)
            break
    return ordered


def _edges(steps: list[Step]) -> tuple[list[Edge], list[Artifact]]:
    edges: list[Edge] = []
    consumers: dict[tuple[str, str], list[str]] = {}
    for step in steps:
        for name, producer in step.inputs.items():
            consumers.setdefault((producer, name), []).append(step.name)
        for parent in step.after:
            carried = sorted(n for n, p in step.inputs.items() if p == parent)
            edges.append(Edge(parent, step.name, "data" if carried else "order", carried))
    artifacts = [Artifact(name, producer, sorted(names))
                 for (producer, name), names in sorted(consumers.items())]
    return edges, artifacts
