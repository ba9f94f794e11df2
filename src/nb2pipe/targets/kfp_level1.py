"""Level 1 in the Kubeflow pipeline: data validation inside every component, and the model
gate as a ``validate_model`` component with a ``dsl.If`` around ``register_model``.

- Every component takes ``nb2pipe_validation`` (JSON: the baselines, schemas included, and
  the thresholds), a pipeline input that ``nb2pipe submit`` and ``nb2pipe run --engine
  kfp-local`` fill from the pipeline folder's ``validation/``: the schemas travel inside the
  run. A component validates each frame it passes on, and fails before its consumers run.
- ``validate_model`` reads the metrics component's ``Metrics``, compares them with the gate's
  conditions and the registry's champion, writes its decision, and returns ``register`` or
  ``skip``; ``register_model`` runs only under ``dsl.If(… == "register")``.
- The tracking URI is ``nb2pipe_tracking``'s (set by ``nb2pipe run``) or, on a cluster,
  ``MLFLOW_TRACKING_URI`` in the component's environment.

Components import ``nb2pipe.validation`` and ``nb2pipe.tracking.registry``: the image must
have nb2pipe (and pandera, mlflow-skinny) installed.
"""

from __future__ import annotations

from nb2pipe.pipeline.model import Pipeline

INDENT = "    "

#: Inlined into every component, after the serializer: validation of what it passes on.
VALIDATE = '''
def _nb2pipe_validate(step, name, value, settings):
    if not settings:
        return
    import json as _json
    from nb2pipe.validation import ValidationSettings, is_frame, validate_value
    if is_frame(value):
        validate_value(step, name, value, ValidationSettings.from_dict(_json.loads(settings)))
'''


def has_gate(pipeline: Pipeline) -> bool:
    """Whether the compiled pipeline gets ``validate_model`` and ``register_model``: it has a
    metrics step and a model to register."""
    return bool(pipeline.model) and any(s.kind == "metrics" for s in pipeline.steps)


def gate_components(pipeline: Pipeline, decorator: str, runtime: str) -> list[str]:
    """The source of ``validate_model`` and ``register_model``."""
    name, gate = pipeline.name, list(pipeline.gate)
    validate = f'''"""The model gate of `{name}`: {', '.join(gate) or 'no conditions'}."""
import json as _json
import os as _os
from nb2pipe.pipeline.gate import parse_all
from nb2pipe.tracking.registry import Registry, evaluate
info = _json.loads(nb2pipe_tracking) if nb2pipe_tracking else {{}}
uri = info.get("uri") or _os.environ.get("MLFLOW_TRACKING_URI")
values = {{k: v for k, v in metrics.metadata.items() if isinstance(v, (int, float))}}
champion = Registry(uri, {name!r}).champion() if uri and nb2pipe_register else None
decision = evaluate(parse_all({gate!r}), values, champion)
register = decision.passed and bool(uri) and nb2pipe_register
if decision.passed and not register:
    decision.note = ("not registered: no MLflow tracking URI (set MLFLOW_TRACKING_URI)"
                     if not uri else "not registered: --no-register")
if nb2pipe_artifacts:
    with open(_os.path.join(nb2pipe_artifacts, "gate.json"), "w") as handle:
        _json.dump(decision.to_dict(), handle)
print("model gate:", "passed" if decision.passed else "NOT passed", decision.reasons)
return "register" if register else "skip"'''
    example = "example: Input[Dataset], " if pipeline.model.get("input") else ""
    register = f'''"""Register the model of `{name}` and make it the champion."""
import json as _json
import os as _os
{runtime}
from nb2pipe.tracking.registry import Registry
info = _json.loads(nb2pipe_tracking) if nb2pipe_tracking else {{}}
uri = info.get("uri") or _os.environ.get("MLFLOW_TRACKING_URI")
registry = Registry(uri, {name!r})
parent = info.get("parent")
if not parent:  # on a cluster: the pipeline's own MLflow run
    experiment = registry.client.get_experiment_by_name("nb2pipe")
    experiment_id = experiment.experiment_id if experiment else \\
        registry.client.create_experiment("nb2pipe")
    parent = registry.client.create_run(experiment_id, run_name={name!r}).info.run_id
sample = {"_nb2pipe_load(example)[:5]" if example else "None"}
values = {{k: v for k, v in metrics.metadata.items() if isinstance(v, (int, float))}}
version = registry.register(_nb2pipe_load(model), parent, sample, values,
                            info.get("run_id") or "kubeflow")
if nb2pipe_artifacts:
    path = _os.path.join(nb2pipe_artifacts, "gate.json")
    decision = _json.load(open(path)) if _os.path.exists(path) else {{"passed": True}}
    decision["registered"] = {{"name": {name!r}, "version": version}}
    with open(path, "w") as handle:
        _json.dump(decision, handle)
print("registered", {name!r}, "version", version)'''
    common = 'nb2pipe_tracking: str = "", nb2pipe_artifacts: str = ""'
    return [
        decorator,
        "def validate_model(metrics: Input[Metrics], nb2pipe_register: bool = True, "
        f"{common}) -> str:",
        _indent(validate), "", "",
        decorator,
        f"def register_model(model: Input[Model], {example}metrics: Input[Metrics], {common}):",
        _indent(register),
    ]


def gate_tasks(pipeline: Pipeline, output_name) -> list[str]:
    """The pipeline function's lines that wire the gate after the metrics step."""
    metrics = next(s for s in pipeline.steps if s.kind == "metrics")
    model = pipeline.model
    train = f"{model['step']}_task.outputs[{output_name(model['name'])!r}]"
    common = "nb2pipe_tracking=nb2pipe_tracking, nb2pipe_artifacts=nb2pipe_artifacts"
    lines = [f"validate_model_task = validate_model(metrics={metrics.name}_task.outputs"
             f"['metrics'], nb2pipe_register=nb2pipe_register, {common})",
             "validate_model_task.set_display_name('validate_model')",
             'with dsl.If(validate_model_task.output == "register", name="gate-passed"):']
    arguments = [f"model={train}"]
    if model.get("input"):
        producer = pipeline.step(model["step"]).inputs[model["input"]]
        arguments.append(f"example={producer}_task.outputs[{output_name(model['input'])!r}]")
    arguments.append(f"metrics={metrics.name}_task.outputs['metrics']")
    lines.append(f"{INDENT}register_model_task = register_model({', '.join(arguments)}, "
                 f"{common})")
    lines.append(f"{INDENT}register_model_task.set_display_name('register_model')")
    return [INDENT + line for line in lines]


def _indent(text: str) -> str:
    return "\n".join(INDENT + line if line else line for line in text.split("\n"))
