"""What a pipeline needs for MLOps level 1, found when it is built: the model gate's
conditions, the trained model (by dataflow), the data files its steps read, and the data
validation settings.

- **Gate.** ``gate:CONDITION`` cell tags and ``{"nb2pipe": {"gate": [...]}}`` in the
  notebook's metadata (``nb2pipe convert --gate`` adds more). A condition must name one of
  the pipeline's metrics: a gate on a metric that does not exist is an NB401 error.
- **Model.** The value the first training call fits (``model.fit(X_train, y_train)`` →
  ``model``; ``model = RandomForestClassifier().fit(…)`` too), in the step that fits it, with
  the frame it is fit on (its input example and signature when it is registered). It is
  made an output of its step, so that every run keeps it.
- **Data.** The files the steps read (:mod:`nb2pipe.analysis.inputs`): runs hash them for
  lineage and ``--if-changed``.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from nb2pipe.analysis.inputs import data_reads
from nb2pipe.analysis.notebook import NotebookAnalysis
from nb2pipe.analysis.training import first_training
from nb2pipe.notebook.model import Notebook
from nb2pipe.pipeline.gate import GateError, parse
from nb2pipe.pipeline.model import Pipeline

#: Data validation unless a configuration says otherwise.
VALIDATION_DEFAULTS = {"enabled": True, "drift_threshold": 0.2, "strict": False}


def add_level1(pipeline: Pipeline, notebook: Notebook, analysis: NotebookAnalysis,
               gates: list, report: Callable) -> None:
    """Fill ``pipeline``'s gate, model, data and validation; problems go to ``report`` (the
    builder's, which makes diagnostics)."""
    conditions = list(gates)
    metadata = (notebook.metadata.get("nb2pipe") or {}) if isinstance(
        notebook.metadata.get("nb2pipe"), dict) else {}
    declared = metadata.get("gate") or []
    if isinstance(declared, str):
        declared = [declared]
    if not isinstance(declared, list) or not all(isinstance(t, str) for t in declared):
        report("NB401", None, "the notebook's metadata `nb2pipe.gate` must be a list of "
               "conditions", 'e.g. {"nb2pipe": {"gate": ["accuracy>=0.9"]}}')
        declared = []
    for text in declared:
        try:
            parse(text)
        except GateError as error:
            report("NB401", None, f"notebook metadata `nb2pipe.gate`: {error}",
                   "see docs/tags.md")
            continue
        conditions.append((text, None))
    for text, cell in conditions:
        problem = gate_problem(text, pipeline.metrics)
        if problem:
            report("NB401", cell, problem[0], problem[1])
    pipeline.gate = list(dict.fromkeys(text.strip() for text, _ in conditions))
    pipeline.model = find_model(pipeline, notebook, analysis)
    cells = [i for step in pipeline.steps for i in step.cells]
    parameters = {p.name for p in pipeline.parameters}
    step_of = {i: step.name for step in pipeline.steps for i in step.cells}
    pipeline.data = [{**read.to_dict(), "step": step_of.get(read.cell)}
                     for read in data_reads(analysis, cells, parameters)]
    pipeline.validation = dict(VALIDATION_DEFAULTS)


def gate_problem(text: str, metrics: list[str]) -> tuple[str, str] | None:
    """Why ``text`` cannot gate a pipeline with these ``metrics`` (message, help), or None."""
    try:
        condition = parse(text)
    except GateError as error:
        return str(error), "see docs/tags.md"
    if condition.metric not in metrics:
        known = ", ".join(f"`{m}`" for m in metrics) or "none: tag a cell `pipeline-metrics`"
        return (f"gate `{text}`: the pipeline has no metric `{condition.metric}` (its metrics: "
                f"{known})", f"gate on one of them, or compute `{condition.metric}` in the "
                f"`pipeline-metrics` cell")
    return None


def find_model(pipeline: Pipeline, notebook: Notebook, analysis: NotebookAnalysis) -> dict:
    """``{"step", "name", "input"}`` of the trained model, or ``{}``."""
    training = first_training(analysis)
    if training is None:
        return {}
    cell, call = training
    step = next((s for s in pipeline.steps if cell.index in s.cells), None)
    node = call.node
    if step is None or not isinstance(node.func, ast.Attribute):
        return {}
    name = None
    if isinstance(node.func.value, ast.Name):
        name = node.func.value.id  # model.fit(X, y)
    else:
        for facts in [analysis.facts.get(cell.index)]:  # model = Estimator().fit(X, y)
            for assignment in facts.assignments if facts else ():
                if assignment.value is node:
                    name = assignment.name
    if name is None:
        return {}
    if name not in step.outputs:
        step.outputs = sorted(set(step.outputs) | {name})
    example = node.args[0].id if node.args and isinstance(node.args[0], ast.Name) else None
    return {"step": step.name, "name": name,
            "input": example if example in step.inputs else None}


def read_frames(pipeline: Pipeline, notebook: Notebook, step) -> list[str]:
    """The names ``step`` binds to what it reads from a data file (``df = pd.read_csv(…)``)
    and does not pass on: validated at the step's end like the frames it passes on, so that
    a pipeline that reads and trains in one step validates its data too."""
    names: list[str] = []
    for read in pipeline.data:
        if read.get("step") != step.name:
            continue
        cell = notebook.cells[read["cell"]] if read["cell"] < len(notebook.cells) else None
        tree = cell.tree if cell is not None else None
        for statement in tree.body if tree is not None else ():
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and \
                    isinstance(statement.targets[0], ast.Name) and \
                    statement.lineno <= read["line"] <= (statement.end_lineno or 0):
                name = statement.targets[0].id
                if name not in step.outputs and name not in names:
                    names.append(name)
    return names

