"""What ``nb2pipe run`` runs: a converted pipeline folder, or a plain notebook as a one-step
pipeline; and where its runs go."""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass

from nb2pipe.pipeline.model import Pipeline, Step


class RunError(Exception):
    """The run cannot start; the message says why and how to fix it."""


@dataclass
class Source:
    """What is being run: a converted folder, or a plain notebook as a one-step pipeline."""

    pipeline: Pipeline
    folder: str  # the converted folder, or the notebook's folder
    notebook: str | None = None  # set for a plain notebook
    work_dir: str = "."

    def step_notebook(self, step: Step) -> str:
        return os.path.join(self.folder, "papermill", f"{step.name}.ipynb")


def load_source(path: str) -> Source:
    """A converted pipeline folder (with pipeline.json) or a notebook."""
    if os.path.isdir(path):
        spec = os.path.join(path, "pipeline.json")
        if not os.path.exists(spec):
            raise RunError(f"{path} has no pipeline.json: convert a notebook into it first "
                           f"(nb2pipe convert NOTEBOOK -o {path}), or run a notebook directly")
        try:
            with open(spec, encoding="utf-8") as handle:
                pipeline = Pipeline.from_json(handle.read())
        except (ValueError, KeyError, TypeError) as error:
            raise RunError(f"{spec} is damaged ({error}); convert the notebook again") from None
        folder = os.path.abspath(path)
        original = os.path.normpath(os.path.join(folder, pipeline.notebook))
        work_dir = os.path.dirname(original) if os.path.isdir(os.path.dirname(original)) \
            else folder
        return Source(pipeline, folder, None, work_dir)
    if path.endswith(".ipynb") and os.path.isfile(path):
        return _notebook_source(path)
    raise RunError(f"{path} is neither a converted pipeline folder nor a notebook (.ipynb)")


def _notebook_source(path: str) -> Source:
    from nb2pipe.analysis.notebook import NotebookAnalysis
    from nb2pipe.notebook.reader import NotebookError, read_notebook
    from nb2pipe.pipeline.build import _Builder as Builder
    from nb2pipe.pipeline.build import _printed_name, pipeline_name, source_hash
    from nb2pipe.pipeline.carry import autolog_flavours

    try:
        notebook = read_notebook(path)
    except NotebookError as error:
        raise RunError(f"{path}: {error.message}; {error.hint}") from None
    if "python" not in notebook.language:
        raise RunError(f"{path}: the kernel's language is `{notebook.language}`; nb2pipe runs "
                       f"Python notebooks (with tracking code it adds in Python)")
    analysis = NotebookAnalysis(notebook)
    builder = Builder(notebook, analysis, single_step=True)
    parameter_cells = [c.index for c in notebook.code_cells
                       if "parameters" in c.tags or "pipeline-parameters" in c.tags]
    parameters = builder._parameters(parameter_cells)
    problems = [d for d in builder.problems if d.severity == "error"]
    if problems:
        raise RunError(f"{path}: " + "; ".join(f"cell {d.cell + 1}: {d.message}"
                                               for d in problems))
    metrics: list[str] = []
    for cell in notebook.code_cells:
        if any(t in ("metrics", "pipeline-metrics") for t in cell.tags) and cell.tree:
            for statement in cell.tree.body:
                if isinstance(statement, ast.Assign):
                    metrics += [t.id for t in statement.targets if isinstance(t, ast.Name)]
                elif isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Name):
                    metrics.append(statement.value.id)
                elif _printed_name(statement):
                    metrics.append(_printed_name(statement))
    cells = [c.index for c in notebook.code_cells]
    step = Step(name="notebook", cells=cells, parameters=[p.name for p in parameters],
                metrics=metrics, autolog=autolog_flavours(analysis, cells, []))
    pipeline = Pipeline(name=pipeline_name(notebook), notebook=os.path.basename(path),
                        source_hash=source_hash(notebook), parameters=parameters, steps=[step],
                        edges=[], artifacts=[], imports=[], functions=[], metrics=metrics)
    folder = os.path.dirname(os.path.abspath(path))
    return Source(pipeline, folder, os.path.abspath(path), folder)


def runs_dir_for(source: Source, runs_dir: str | None = None) -> str:
    """Where runs go: ``--runs-dir``, else the converted folder's ``runs/`` (for a plain
    notebook, ``runs/`` in the current folder)."""
    return os.path.abspath(runs_dir or os.path.join(
        source.folder if source.notebook is None else os.getcwd(), "runs"))
