"""Target ``components``: an importable package with one plain function per step.

``components/<step>.py`` holds ``def <step>(inputs…, *, parameters…)`` whose body is the step's
cells (IPython syntax turned into Python, see :mod:`nb2pipe.targets.pythonize`) and which
returns the step's outputs. ``components/common.py`` holds the ``imports`` and ``functions``
cells. ``components/__init__.py`` has ``run_pipeline(**parameters)``, which calls the steps in
order in one process: the whole pipeline as plain, testable Python.

Limitation: a ``global`` statement at the top level of a step's cell has no meaning inside the
step's function; such a cell runs correctly only through papermill.
"""

from __future__ import annotations

import ast
import keyword

from nb2pipe import __version__
from nb2pipe.analysis.notebook import NotebookAnalysis
from nb2pipe.notebook.model import Notebook
from nb2pipe.notebook.reader import parse_quietly
from nb2pipe.pipeline.model import Pipeline, Step
from nb2pipe.targets import Rendered
from nb2pipe.targets.pythonize import helper_code, pythonize

INDENT = "    "


class ComponentsTarget:
    name = "components"
    description = "a Python package with one function per step, and run_pipeline()"

    def render(self, pipeline: Pipeline, notebook: Notebook) -> Rendered:
        analysis = NotebookAnalysis(notebook)
        rendered = Rendered()
        common_names = analysis.binds(pipeline.imports + pipeline.functions)
        rendered.files["components/common.py"] = self._common(pipeline, notebook, rendered)
        functions: dict[str, str] = {}
        for step in pipeline.steps:
            function = function_name(step, analysis, common_names)
            functions[step.name] = function
            rendered.files[f"components/{step.name}.py"] = self._step(
                pipeline, notebook, analysis, step, function, common_names, rendered)
        rendered.files["components/__init__.py"] = self._package(pipeline, functions)
        return rendered

    # -- modules ---------------------------------------------------------------------------

    def _common(self, pipeline: Pipeline, notebook: Notebook, rendered: Rendered) -> str:
        parts = [_header(f"Shared code of the pipeline `{pipeline.name}`: its `imports` and "
                         f"`functions` cells.", pipeline)]
        needed: set[str] = set()
        helpers: set[str] = set()
        body: list[str] = []
        for index in pipeline.imports + pipeline.functions:
            cell = notebook.cells[index]
            converted = pythonize(cell.source, in_function=False)  # common.py: module level
            needed |= converted.imports
            helpers |= converted.helpers
            _warn(rendered, "common", cell, converted)
            body.append(f"# cell {cell.number}\n{converted.source.strip()}\n")
        modules, code = helper_code(helpers)
        if needed | modules:
            parts.append("\n".join(f"import {m}" for m in sorted(needed | modules)) + "\n")
        if code:
            parts.append(code + "\n")
        parts.extend(body)
        return "\n".join(parts).rstrip() + "\n"

    def _step(self, pipeline, notebook, analysis, step: Step, function: str, common_names,
              rendered: Rendered) -> str:
        used = direct_reads(analysis, step.cells) & common_names
        numbers = [str(notebook.cells[i].number) for i in step.cells]
        where = f"cell {numbers[0]}" if len(numbers) == 1 else f"cells {', '.join(numbers)}"
        io_doc = _io_doc(step)
        lines = [_header(f"Step `{step.name}` of the pipeline `{pipeline.name}` ({where} of "
                         f"the notebook)." + (f"\n\n{io_doc}" if io_doc.strip() else ""),
                         pipeline)]
        body: list[str] = []
        modules: set[str] = set()
        helpers: set[str] = set()
        for index in step.cells:
            cell = notebook.cells[index]
            converted = pythonize(cell.source)
            modules |= converted.imports
            helpers |= converted.helpers
            _warn(rendered, step.name, cell, converted)
            if not converted.source.strip():
                continue
            body.append(f"{INDENT}# cell {cell.number}")
            body.append(indent_code(converted.source.strip("\n"), INDENT))
        if step.kind == "metrics":
            pairs = ", ".join(f"{name!r}: {name}" for name in step.metrics)
            body.append(f"{INDENT}return {{{pairs}}}")
        elif step.outputs:
            body.append(f"{INDENT}return {', '.join(step.outputs)}")
        if not any(line.strip() and not line.strip().startswith("#") for line in body):
            body.append(f"{INDENT}pass")
        helper_modules, helper_definitions = helper_code(helpers)
        # settings the notebook ran in earlier steps (`plt.rcParams[…] = …`) start the
        # function, so that they hold when it runs, not when the package is imported
        replayed = [line for line in step.imports if not _is_import(line)]
        used = used | (_names_read(replayed) & common_names)
        if replayed:
            body[0:0] = [f"{INDENT}# settings from earlier steps"] + \
                [indent_code(line, INDENT) for line in replayed]
        imports = [f"import {m}" for m in sorted(modules | helper_modules)] + \
            [line for line in step.imports if _is_import(line)]
        if used:
            imports.append(_from_import(".common", sorted(used)))
        if _star_imports(notebook, pipeline.imports + pipeline.functions):
            # names that common.py's `from X import *` brings, which no analysis can list
            imports.append("from .common import *  # noqa: F403")
        if imports:
            lines.append("\n".join(imports) + "\n")
        if helper_definitions:  # what translated magics use (`%%capture` → _Captured)
            lines.append("\n" + helper_definitions + "\n")
        lines.append("")
        lines.append(f"def {function}({_signature(pipeline, step)}):")
        lines.append(f'{INDENT}"""{_summary(step)}"""')
        lines.extend(body)
        return "\n".join(lines).rstrip() + "\n"

    def _package(self, pipeline: Pipeline, functions: dict[str, str]) -> str:
        lines = [_header(
            f"The pipeline `{pipeline.name}` as plain Python functions, one module per step.\n\n"
            "    from components import run_pipeline\n"
            "    results = run_pipeline(" + ", ".join(
                f"{p.name}={p.default!r}" for p in pipeline.parameters[:2]) + ")\n\n"
            "`run_pipeline` runs every step in order in this process and returns the values "
            "the steps produced (and the metrics). `nb2pipe run` runs the same steps as "
            "papermill notebooks, with tracking.", pipeline)]
        for step in pipeline.steps:
            lines.append(f"from .{step.name} import {functions[step.name]}")
        lines.append("")
        defaults = ",\n".join(f"{INDENT}{p.name!r}: {p.default!r}" for p in pipeline.parameters)
        lines.append("PARAMETERS = {\n" + defaults + (",\n" if defaults else "") + "}")
        lines.append(f"STEPS = {[s.name for s in pipeline.steps]!r}")
        lines.append("")
        lines.append("")
        lines.append("def run_pipeline(**parameters):")
        lines.append(f'{INDENT}"""Run the steps in order; return every value they pass on, and '
                     f'the metrics."""')
        lines.append(f"{INDENT}unknown = sorted(set(parameters) - set(PARAMETERS))")
        lines.append(f"{INDENT}if unknown:")
        lines.append(f"{INDENT * 2}raise TypeError(f\"unknown parameters {{unknown}}; "
                     f"known: {{sorted(PARAMETERS)}}\")")
        lines.append(f"{INDENT}p = {{**PARAMETERS, **parameters}}")
        variable = _variables(pipeline, set(functions.values()) | {"p", "parameters"})
        for step in pipeline.steps:
            args = [variable[(step.inputs[name], name)] for name in sorted(step.inputs)]
            args += [f"{name}=p[{name!r}]" for name in step.parameters]
            call = f"{functions[step.name]}({', '.join(args)})"
            if step.kind == "metrics":
                lines.append(f"{INDENT}metric_values = {call}")
            elif step.outputs:
                names = ", ".join(variable[(step.name, o)] for o in step.outputs)
                lines.append(f"{INDENT}{names} = {call}")
            else:
                lines.append(f"{INDENT}{call}")
        names = sorted({v for v in variable.values()})
        result = ", ".join(f"{n!r}: {n}" for n in names)
        if any(s.kind == "metrics" for s in pipeline.steps):
            result += (", " if result else "") + "'metrics': metric_values"
        lines.append(f"{INDENT}values = {{{result}}}")
        lines.append(f"{INDENT}return values")
        return "\n".join(lines).rstrip() + "\n"


# -- helpers shared with the other targets --------------------------------------------------

def direct_reads(analysis: NotebookAnalysis, cells: list[int]) -> set[str]:
    """Names the cells read themselves, including inside the functions they define."""
    names: set[str] = set()
    for index in cells:
        facts = analysis.facts.get(index)
        if facts is not None:
            names |= {r.name for r in facts.reads}
            names |= {r.name for d in facts.deferred.values() for r in d.free}
    return names


def _variables(pipeline: Pipeline, taken: set[str]) -> dict[tuple[str, str], str]:
    """A variable name for each (producer, output) in run_pipeline: the output's own name,
    unless two steps produce it or a function has that name."""
    producers: dict[str, list[str]] = {}
    for step in pipeline.steps:
        for name in step.outputs:
            producers.setdefault(name, []).append(step.name)
    names = {}
    for name, steps in producers.items():
        for producer in steps:
            variable = name if len(steps) == 1 else f"{producer}__{name}"
            names[(producer, name)] = variable + "_value" if variable in taken | {
                "metric_values", "values", "unknown"} else variable
    return names


def function_name(step: Step, analysis: NotebookAnalysis, common_names: set[str]) -> str:
    """The step's function name: the step's own, unless its code uses that name already."""
    taken = set(analysis.needs(step.cells)) | analysis.binds(step.cells) | common_names
    name = step.name
    if name in taken or keyword.iskeyword(name):
        name = f"{step.name}_step"
    return name


def indent_code(source: str, prefix: str) -> str:
    """Indent ``source``, leaving alone the lines inside multi-line strings."""
    lines = source.split("\n")
    inside: set[int] = set()
    try:
        tree = parse_quietly(source)
    except (SyntaxError, ValueError):
        tree = None
    for node in ast.walk(tree) if tree is not None else ():
        if isinstance(node, (ast.Constant, ast.JoinedStr)) and \
                getattr(node, "end_lineno", node.lineno) > node.lineno:
            inside.update(range(node.lineno + 1, node.end_lineno + 1))
    return "\n".join(line if (not line.strip() or number in inside) else prefix + line
                     for number, line in enumerate(lines, 1))


def _signature(pipeline: Pipeline, step: Step) -> str:
    parts = list(sorted(step.inputs))
    if step.parameters:
        parts.append("*")
        parts += [f"{name}={pipeline.parameter(name).default!r}" for name in step.parameters]
    return ", ".join(parts)


def _io_doc(step: Step) -> str:
    rows = []
    if step.inputs:
        rows.append("Inputs:     " + ", ".join(f"{n} (from step `{p}`)"
                                               for n, p in sorted(step.inputs.items())))
    if step.parameters:
        rows.append("Parameters: " + ", ".join(step.parameters))
    if step.kind == "metrics":
        rows.append("Returns:    the metrics " + ", ".join(step.metrics))
    elif step.outputs:
        rows.append("Returns:    " + ", ".join(step.outputs))
    return "\n".join(rows)


def _summary(step: Step) -> str:
    if step.kind == "metrics":
        return "Compute the pipeline's metrics."
    gives = f" and return {', '.join(step.outputs)}" if step.outputs else ""
    return f"Run step `{step.name}`{gives}."


def _header(text: str, pipeline: Pipeline) -> str:
    return (f'"""{text}\n\nGenerated by nb2pipe {__version__} from {pipeline.notebook}: edit the '
            f'notebook and convert it again\nrather than editing this file.\n"""\n')


def _from_import(module: str, names: list[str]) -> str:
    line = f"from {module} import {', '.join(names)}"
    if len(line) <= 99:
        return line
    return f"from {module} import (\n" + "".join(f"{INDENT}{n},\n" for n in names) + ")"


def _warn(rendered: Rendered, where: str, cell, converted) -> None:
    for magic in converted.unsupported:
        rendered.warnings.append(
            f"cell {cell.number}, line {magic.line}: `{magic.text.strip()[:50]}` has no Python "
            f"equivalent in the component for `{where}`, which raises NotImplementedError "
            f"there; the papermill step runs it as it is")


def _star_imports(notebook: Notebook, cells: list[int]) -> bool:
    import ast

    return any(isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names)
               for index in cells if notebook.cells[index].tree is not None
               for node in notebook.cells[index].tree.body)


def _is_import(line: str) -> bool:
    import ast

    try:
        tree = ast.parse(line)
    except SyntaxError:
        return False
    return all(isinstance(s, (ast.Import, ast.ImportFrom)) for s in tree.body)


def _names_read(lines: list[str]) -> set[str]:
    """The names the replayed settings read (each line is one parsed statement)."""
    import ast

    from nb2pipe.analysis.settings import module_names_used

    return set().union(*(module_names_used(statement) for line in lines
                         for statement in ast.parse(line).body))
