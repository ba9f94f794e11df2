"""The target-neutral pipeline: steps, parameters, artifacts, metrics and edges.

``pipeline.json`` is this model written out; every target (components, papermill, kfp) and
every engine reads it. It is plain data, sorted, so that converting the same notebook twice
gives the same bytes.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

SCHEMA_VERSION = 1


@dataclass
class Parameter:
    name: str
    type: str  # int, float, str, bool, list, dict, literal (tuples, sets, None…), none (old)
    default: object
    cell: int  # 0-based index of the cell that defines it


@dataclass
class Step:
    """One step: the cells it runs, what it takes and what it gives."""

    name: str
    cells: list[int]
    inputs: dict[str, str] = field(default_factory=dict)  # name → the step that produces it
    parameters: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)  # names later steps (or metrics) need
    after: list[str] = field(default_factory=list)  # steps this one runs after (data or prev:)
    settings: dict = field(default_factory=dict)  # image, limits, labels, … (per-step tags)
    metrics: list[str] = field(default_factory=list)  # names this step logs as metrics
    imports: list[str] = field(default_factory=list)  # imports of earlier steps it relies on
    autolog: list[str] = field(default_factory=list)  # MLflow flavours, when the step trains
    kind: str = "step"  # "step", or "metrics" for the pipeline-metrics cells


@dataclass
class Artifact:
    name: str
    producer: str
    consumers: list[str]


@dataclass
class Edge:
    source: str
    target: str
    kind: str  # "data" (artifacts flow) or "order" (a prev: tag, no data)
    artifacts: list[str] = field(default_factory=list)


@dataclass
class Pipeline:
    name: str
    notebook: str  # the notebook's path, as given
    source_hash: str  # sha256 of the notebook's cells (sources and tags)
    parameters: list[Parameter]
    steps: list[Step]  # in a topological order, document order between independent steps
    edges: list[Edge]
    artifacts: list[Artifact]
    imports: list[int]  # cells shared by every step
    functions: list[int]
    metrics: list[str] = field(default_factory=list)
    #: level 1: the model gate's conditions (``accuracy>=0.9``; see :mod:`.gate`)
    gate: list[str] = field(default_factory=list)
    #: level 1: the trained model, found by dataflow: ``{"step", "name", "input"}`` (the
    #: step that trains it, its variable, the frame it is fit on), empty when none is found
    model: dict = field(default_factory=dict)
    #: level 1: the data files the steps read, as written (``DataRead.to_dict`` with the step)
    data: list[dict] = field(default_factory=list)
    #: level 1: data validation (``enabled``, ``drift_threshold``, ``strict``)
    validation: dict = field(default_factory=dict)
    #: the Kubeflow components' image (``convert --image``), which has what they need
    image: str = ""
    #: the Airflow DAG's schedule (``convert --schedule``, a cron expression or preset)
    schedule: str = ""
    #: where the Airflow DAG's tasks run: "" (the worker's Python) or "pod" (``image``)
    airflow_tasks: str = ""

    def step(self, name: str) -> Step:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(f"no step named `{name}`; steps: {', '.join(self.step_names)}")

    @property
    def step_names(self) -> list[str]:
        return [s.name for s in self.steps]

    def upstream(self, name: str) -> set[str]:
        """The steps step ``name`` runs after, directly or not."""
        known = set(self.step_names)
        found: set[str] = set()
        todo = [name]
        while todo:
            for before in self.step(todo.pop()).after:
                if before in known and before not in found:
                    found.add(before)
                    todo.append(before)
        return found

    def parameter(self, name: str) -> Parameter:
        for parameter in self.parameters:
            if parameter.name == name:
                return parameter
        raise KeyError(name)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["schema"] = SCHEMA_VERSION
        for optional in ("image", "schedule", "airflow_tasks"):
            if not data[optional]:
                del data[optional]  # (pipeline.json stays as it was without them)
        for parameter in data["parameters"]:  # (a tuple stays a tuple: kept as its literal)
            if parameter["type"] == "literal":
                from nb2pipe.pipeline.literals import literal_text

                parameter["default"] = literal_text(parameter["default"])
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    @classmethod
    def from_dict(cls, data: dict) -> Pipeline:
        data = dict(data)
        data.pop("schema", None)
        return cls(
            parameters=[_parameter(p) for p in data.pop("parameters")],
            steps=[Step(**s) for s in data.pop("steps")],
            edges=[Edge(**e) for e in data.pop("edges")],
            artifacts=[Artifact(**a) for a in data.pop("artifacts")],
            **data,
        )

    @classmethod
    def from_json(cls, text: str) -> Pipeline:
        return cls.from_dict(json.loads(text))


def _parameter(data: dict) -> Parameter:
    parameter = Parameter(**data)
    if parameter.type == "literal" and isinstance(parameter.default, str):
        import ast

        parameter.default = ast.literal_eval(parameter.default)
    return parameter
