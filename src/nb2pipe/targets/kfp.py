"""Target ``kfp``: Kubeflow Pipelines v2 — ``kfp/pipeline.py`` (DSL) and ``kfp/pipeline.yaml``.

``pipeline.py`` is readable KFP v2 code: one ``@dsl.component`` per step, whose body is the
step's code (the same Python as ``components/<step>.py``, with the ``imports`` and
``functions`` cells and a small serializer inlined, since a lightweight component must be
self-contained), and a ``@dsl.pipeline`` function that wires them: typed pipeline inputs with
defaults for the parameters, ``Dataset``/``Model`` artifacts for the values between steps
(recording their format in the artifact's metadata), a ``Metrics`` output for the
``pipeline-metrics``, ``.after()`` for ``prev:`` edges without data, and the per-step tags
(image, limits, labels, annotations, caching, retries, secrets through kfp-kubernetes).

``pipeline.yaml`` is compiled from ``pipeline.py`` by ``kfp.compiler``, in this process — never
written by hand. It lists ``requirements.txt`` as each component's ``packages_to_install`` for
cluster runs; ``nb2pipe run --engine kfp-local`` compiles a copy without them (local runs use
the current environment, offline).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import tempfile

from nb2pipe import __version__
from nb2pipe.analysis.knowledge import looks_like_model
from nb2pipe.analysis.notebook import NotebookAnalysis
from nb2pipe.notebook.model import Notebook
from nb2pipe.pipeline.level1 import read_frames
from nb2pipe.pipeline.literals import LITERAL
from nb2pipe.pipeline.model import Pipeline, Step
from nb2pipe.pipeline.step_imports import step_imports
from nb2pipe.targets import Rendered
from nb2pipe.targets.components import INDENT, indent_code
from nb2pipe.targets.kfp_cluster import (
    BASE_IMAGE,
    dockerfile,
    failure_hook,
    runtime_packages,
    ship_modules,
    step_reads,
)
from nb2pipe.targets.kfp_level1 import VALIDATE, gate_components, gate_tasks, has_gate
from nb2pipe.targets.project import requirements_for, shipped_modules
from nb2pipe.targets.pythonize import Pythonized, helper_code, pythonize

_TYPES = {"int": "int", "float": "float", "str": "str", "bool": "bool", "list": "list",
          "dict": "dict"}

# Inlined into every component: components run in their own containers, without nb2pipe.
RUNTIME = '''
def _nb2pipe_load(artifact, fmt=None):
    import json as _json
    import pickle as _pickle
    fmt = fmt or artifact.metadata.get("format", "pickle")
    if fmt == "parquet":
        import pandas as _pd
        frame = _pd.read_parquet(artifact.path)
        if len(frame.columns) == 1 and str(frame.columns[0]).startswith("__nb2pipe_series__"):
            series = frame.iloc[:, 0]
            series.name = str(frame.columns[0])[len("__nb2pipe_series__"):] or None
            return series
        return frame
    if fmt == "npy":
        import numpy as _np
        return _np.load(artifact.path, allow_pickle=True)
    if fmt == "json":
        with open(artifact.path, encoding="utf-8") as handle:
            return _json.load(handle)
    if fmt == "joblib":
        import joblib as _joblib
        return _joblib.load(artifact.path)
    with open(artifact.path, "rb") as handle:
        return _pickle.load(handle)

def _nb2pipe_save(value, artifact, step, name):
    import json as _json
    import pickle as _pickle
    kind = type(value).__name__
    module = type(value).__module__.partition(".")[0]
    if kind in ("TextIOWrapper", "BufferedReader", "BufferedWriter", "generator", "lock",
                "socket", "Connection", "module"):
        raise TypeError(f"step `{step}` cannot pass `{name}` ({kind}) to the next step: "
                        "pass the data, not the handle")
    if module == "pandas" and kind in ("DataFrame", "Series"):
        try:
            import pyarrow  # noqa: F401
            frame = value if kind == "DataFrame" else value.to_frame(
                name="__nb2pipe_series__" + ("" if value.name is None else str(value.name)))
            frame.to_parquet(artifact.path)
            change = _nb2pipe_parquet_change(value, _nb2pipe_load(artifact, "parquet"))
            if change is None:
                artifact.metadata["format"] = "parquet"
                return
            artifact.metadata["not"] = [f"parquet would change it ({change})"]
        except ImportError:
            pass
    if module == "numpy" and kind == "ndarray":
        import numpy as _np
        with open(artifact.path, "wb") as handle:
            _np.save(handle, value, allow_pickle=value.dtype == object)
        artifact.metadata["format"] = "npy"
        return
    text = _json.dumps(value) if _nb2pipe_is_json(value) else None  # never a tuple as a list
    if text is not None:
        with open(artifact.path, "w", encoding="utf-8") as handle:
            handle.write(text)
        artifact.metadata["format"] = "json"
        return
    artifact.metadata["type"] = f"{type(value).__module__}.{type(value).__qualname__}"
    if _nb2pipe_by_value(value):
        try:
            import cloudpickle as _cloudpickle
        except ImportError:
            raise TypeError(f"step `{step}` cannot pass `{name}` to the next step: it holds "
                            "a function or class defined in the notebook, which needs "
                            "cloudpickle") from None
        with open(artifact.path, "wb") as handle:
            _cloudpickle.dump(value, handle)
        artifact.metadata["format"] = "cloudpickle"
        return
    try:
        import joblib as _joblib
        _joblib.dump(value, artifact.path)
        artifact.metadata["format"] = "joblib"
    except ImportError:
        with open(artifact.path, "wb") as handle:
            _pickle.dump(value, handle)
        artifact.metadata["format"] = "pickle"

def _nb2pipe_tracking(step, tracking, autolog):
    import json as _json
    info = _json.loads(tracking) if tracking else {}
    if not info.get("uri"):
        return None
    import os as _os
    _os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    if info.get("buffer"):  # kfp-local: `nb2pipe run`, on this machine, logs what we give
        return _NB2PipeBuffered(step, info, autolog)
    import mlflow
    _nb2pipe_own_run(mlflow, step, info)
    _nb2pipe_autolog(mlflow, autolog)
    return mlflow

def _nb2pipe_own_run(mlflow, step, info):
    """The step's MLflow run, made here under the pipeline's, and started; its id."""
    mlflow.set_tracking_uri(info["uri"])
    tags = {"nb2pipe.step": step, "nb2pipe.engine": "kfp"}
    if info.get("parent"):
        tags["mlflow.parentRunId"] = info["parent"]
    experiment = info.get("experiment_id")
    run = mlflow.MlflowClient().create_run(experiment or "0", run_name=step, tags=tags)
    mlflow.start_run(run_id=run.info.run_id)
    return run.info.run_id

class _NB2PipeBuffered:
    """kfp-local: the step's metrics (and what autologging logs) go to a file of the run's
    folder, which `nb2pipe run` writes into the step's MLflow run: no component opens the
    store. Where MLflow cannot log to that file, the step logs to the store itself, into a
    run it names in the file."""

    def __init__(self, step, info, autolog):
        import os as _os
        import uuid as _uuid
        self.path = _os.path.join(info["buffer"], f"{step}.mlflow.jsonl")
        self.mlflow = None
        _os.makedirs(info["buffer"], exist_ok=True)
        if not autolog:
            return
        from nb2pipe.mlflowimport import entry_points_read_once, import_mlflow
        from nb2pipe.autologbuffer import buffer_uri, register
        with entry_points_read_once():
            mlflow = import_mlflow()
            if register():
                from pathlib import Path as _Path
                run_id = _uuid.uuid4().hex  # the kernel's own, until the runner makes the run
                artifacts = _Path(info["buffer"], f"{step}.mlflow-artifacts").resolve().as_uri()
                mlflow.set_tracking_uri(buffer_uri(self.path, run_id, "0", artifacts))
                mlflow.start_run(run_id=run_id)
            else:
                self._append({"run_id": _nb2pipe_own_run(mlflow, step, info)})
            _nb2pipe_autolog(mlflow, autolog)
        self.mlflow = mlflow

    def _append(self, entry):
        import json as _json
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(_json.dumps(entry) + "\\n")

    def log_metrics(self, values):
        import time as _time
        stamp = int(_time.time() * 1000)
        self._append({"metrics": [[k, float(v), stamp, 0] for k, v in values.items()]})

    def end_run(self):
        if self.mlflow is not None:
            self.mlflow.end_run()
'''


def kfp_default(parameter):
    """A parameter's value as Kubeflow carries it: the text of a literal (``"(32, 32, 3)"``)
    for the types JSON cannot carry exactly, else the value."""
    return repr(parameter.default) if parameter.type == LITERAL else parameter.default


def kfp_arguments(pipeline, values: dict) -> dict:
    """Run arguments as Kubeflow carries them (see :func:`kfp_default`)."""
    types = {p.name: p.type for p in pipeline.parameters}
    return {name: repr(value) if types.get(name) == LITERAL else value
            for name, value in values.items()}


@functools.lru_cache(maxsize=None)
def _runtime_source() -> str:
    """What every component inlines: ``RUNTIME`` and nb2pipe.runtime's own ``by_value``."""
    import inspect

    from nb2pipe import runtime

    by_value = inspect.getsource(runtime.by_value).replace("def by_value(value: Any,",
                                                          "def _nb2pipe_by_value(value,")
    # the same checks as nb2pipe.runtime's: what parquet or JSON would change goes by pickle
    change = inspect.getsource(runtime._parquet_change).replace(
        "def _parquet_change(before: Any, after: Any) -> str | None:",
        "def _nb2pipe_parquet_change(before, after):")
    is_json = inspect.getsource(runtime._is_json).replace("_is_json(", "_nb2pipe_is_json(") \
        .replace("value: Any, depth: int = 0) -> bool:", "value, depth=0):")
    data = (inspect.getsource(runtime.data_key) + "\n" + inspect.getsource(runtime.stage_data)) \
        .replace("data_key(", "_nb2pipe_data_key(").replace("stage_data(", "_nb2pipe_stage_data(")
    place = inspect.getsource(runtime.failure_place).replace(
        "def failure_place(function: str, here: int, cells: list) -> None:",
        "def _nb2pipe_failure_place(function, here, cells):")
    autolog = inspect.getsource(runtime.autolog_frameworks).replace(
        "def autolog_frameworks(", "def _nb2pipe_autolog(")
    return "\n".join([RUNTIME, by_value, change, is_json, data, place, autolog])


class KfpTarget:
    name = "kfp"
    description = "Kubeflow Pipelines v2: kfp/pipeline.py and kfp/pipeline.yaml (kfp.compiler)"

    def render(self, pipeline: Pipeline, notebook: Notebook) -> Rendered:
        rendered = Rendered()
        try:
            import_kfp_compiler()
        except ImportError:
            rendered.warnings.append("the Kubeflow target needs the kfp SDK: pip install "
                                     "'nb2pipe[kfp]' (kfp/ was not written)")
            return rendered
        requirements, _unknown = requirements_for(notebook)
        packages = [f"{n}=={v}" for n, v in requirements.items() if v]
        runtime = runtime_packages(pipeline, notebook, set(requirements))
        source = render_dsl(pipeline, notebook, packages + runtime, rendered)
        rendered.files["kfp/pipeline.py"] = source
        rendered.files["kfp/pipeline.yaml"] = compile_dsl(source, pipeline)
        rendered.files["kfp/Dockerfile"] = dockerfile(pipeline, runtime)
        return rendered


def render_dsl(pipeline: Pipeline, notebook: Notebook, packages: list[str],
               rendered: Rendered) -> str:
    analysis = NotebookAnalysis(notebook)
    function = _pipeline_function(pipeline)
    lines = [
        f'"""Kubeflow Pipelines v2 definition of the pipeline `{pipeline.name}`.',
        "",
        f"Generated by nb2pipe {__version__} from {os.path.basename(pipeline.notebook)}: edit "
        "the notebook and convert it again",
        "rather than editing this file. Compile it with `python kfp/pipeline.py` (nb2pipe "
        "convert already",
        "wrote kfp/pipeline.yaml), run it with `nb2pipe run DIR --engine kfp-local`, send it "
        "to a cluster",
        "with `nb2pipe submit DIR --host URL`.",
        '"""',
        "",
        "import os",
        "",
        "from kfp import compiler, dsl" + (", kubernetes" if _needs_kubernetes(pipeline) else ""),
        "from kfp.dsl import Dataset, Input, Metrics, Model, Output",
        "",
        f"BASE_IMAGE = {pipeline.image or BASE_IMAGE!r}",
        'LOCAL = os.environ.get("NB2PIPE_KFP_LOCAL") == "1"',
        *([
            "# The image has what the components need (built from kfp/Dockerfile): they",
            "# install nothing when they start.",
            "PACKAGES = []",
            "INSTALL_KFP = False",
        ] if pipeline.image else [
            "# Cluster runs install what the code imports (requirements.txt) and what the",
            "# components need (nb2pipe's runtime, fsspec…) at every start; an image built from",
            "# kfp/Dockerfile has them (convert --image). nb2pipe run --engine kfp-local sets",
            "# NB2PIPE_KFP_LOCAL=1 and uses the current environment instead.",
            "PACKAGES = [] if LOCAL else " + _list(packages),
            "INSTALL_KFP = not LOCAL",
        ]),
        "",
    ]
    shared = [(index, pythonize(notebook.cells[index].source))
              for index in pipeline.imports + pipeline.functions]
    ship = ship_modules(shipped_modules(notebook))
    for step in pipeline.steps:
        lines += ["", *_component(pipeline, notebook, analysis, step, shared, rendered, ship),
                  ""]
    if has_gate(pipeline):
        lines += ["", *gate_components(pipeline, _decorator(None), _runtime_source()), ""]
    outside = {step.name for step in pipeline.steps
               if any(r.get("step") == step.name for r in pipeline.data)
               or _opens_files(notebook, step)}
    lines += ["", *_pipeline_body(pipeline, function, outside), "", "",
              'if __name__ == "__main__":',
              f"{INDENT}compiler.Compiler().compile(",
              f"{INDENT * 2}{function}, os.path.join(os.path.dirname(__file__), "
              f"\"pipeline.yaml\"))", ""]
    return "\n".join(lines)


def _component(pipeline: Pipeline, notebook: Notebook, analysis: NotebookAnalysis, step: Step,
               shared: list[tuple[int, Pythonized]], rendered: Rendered,
               ship: list[str] = ()) -> list[str]:
    decorator = _decorator(step.settings.get("image"))
    arguments = [f"{name}: Input[{_artifact_type(name, pipeline)}]"
                 for name in sorted(step.inputs)]
    if step.kind == "metrics":
        arguments.append("metrics: Output[Metrics]")
    else:
        arguments += [f"{_output_name(name)}: Output[{_artifact_type(name, pipeline)}]"
                      for name in step.outputs]
    arguments += [f"{name}: {_TYPES.get(pipeline.parameter(name).type, 'str')} = "
                  f"{kfp_default(pipeline.parameter(name))!r}" for name in step.parameters]
    arguments += ['nb2pipe_tracking: str = ""', 'nb2pipe_artifacts: str = ""',
                  'nb2pipe_validation: str = ""', 'nb2pipe_data_dir: str = ""']
    body: list[str] = [f'"""Step `{step.name}` of `{pipeline.name}`."""',
                       "_nb2pipe_here = __import__('sys')._getframe().f_lineno"]
    cell_code: list[tuple[int, int]] = []  # (index in body, the cell's number)
    # the imports the step's code cannot reach stay out of its component (step_imports)
    used = step_imports([notebook.cells[index] for index in pipeline.imports],
                        [notebook.cells[index] for index in pipeline.functions + step.cells],
                        ["\n".join(step.imports), "\n".join(
                            [*sorted(step.inputs), *step.outputs, *step.metrics])])
    changed = {index: source for index, source in used.sources.items()
               if source != notebook.cells[index].source}
    shared = [pythonize(changed[index]) if index in changed else part
              for index, part in shared]
    helpers = set().union(*(part.helpers for part in shared))
    literal = [name for name in step.parameters
               if pipeline.parameter(name).type == LITERAL]
    if literal:  # tuples, sets, None…: Kubeflow passes their text, read back here
        body += ["import ast as _ast"] + [f"{name} = _ast.literal_eval({name})"
                                          for name in literal]
    body += list(ship)
    body += ["# The imports and functions cells (components run on their own)."]
    body += [part.source.strip() for part in shared if part.source.strip()]
    body += _runtime_source().strip("\n").split("\n")
    body += VALIDATE.strip("\n").split("\n")
    place_at = len(body)
    body.append("")  # where the failure hook goes, once the cells' lines are known
    body.append(f"_mlflow = _nb2pipe_tracking({step.name!r}, nb2pipe_tracking, "
                f"{step.autolog!r})")
    reads = step_reads(pipeline, notebook, step, rendered)
    # each step in an empty folder of its own, with the data files it reads from the
    # pipeline's data folder (none: just the empty folder)
    body.append(f"_nb2pipe_stage_data(nb2pipe_data_dir, [{', '.join(reads)}])")
    body += [f"{name} = _nb2pipe_load({name})" for name in sorted(step.inputs)]
    body += list(step.imports)
    for index in step.cells:
        cell = notebook.cells[index]
        converted = pythonize(cell.source)
        helpers |= converted.helpers
        for magic in converted.unsupported:
            rendered.warnings.append(
                f"cell {cell.number}, line {magic.line}: `{magic.text.strip()[:50]}` has no "
                f"Python equivalent in the KFP component for `{step.name}` (it raises "
                f"NotImplementedError there)")
        body += [f"import {m}" for m in sorted(converted.imports)]
        body.append(f"# cell {cell.number}")
        cell_code.append((len(body), cell.number))
        body.append(converted.source.strip("\n"))
    if helpers:  # what translated magics use (`%%capture` → _Captured), before any cell
        modules, code = helper_code(helpers)
        added = [f"import {m}" for m in sorted(modules)] + code.split("\n")
        body[1:1] = added
        place_at += len(added)
        cell_code = [(index + len(added), number) for index, number in cell_code]
    if step.kind == "metrics":
        body.append("_values = {" + ", ".join(f"{m!r}: {m}" for m in step.metrics) + "}")
        body += ["for _name, _value in _values.items():",
                 f"{INDENT}if isinstance(_value, (int, float)) and not isinstance(_value, bool):",
                 f"{INDENT * 2}metrics.log_metric(_name, float(_value))",
                 "if _mlflow is not None:",
                 f"{INDENT}_mlflow.log_metrics({{k: float(v) for k, v in _values.items() "
                 f"if isinstance(v, (int, float)) and not isinstance(v, bool)}})",
                 "if nb2pipe_artifacts:",
                 f"{INDENT}import json as _json",
                 f"{INDENT}with open(nb2pipe_artifacts + '/metrics.json', 'w') as _handle:",
                 f"{INDENT * 2}_json.dump({{k: (float(v) if isinstance(v, (int, float)) "
                 f"else repr(v)) for k, v in _values.items()}}, _handle)"]
    else:
        for name in step.outputs:
            body.append(f"_nb2pipe_save({name}, {_output_name(name)}, {step.name!r}, {name!r})")
            body.append(f"_nb2pipe_validate({step.name!r}, {name!r}, {name}, "
                        f"nb2pipe_validation)")
        for name in read_frames(pipeline, notebook, step):  # read here, not passed on
            body.append(f"_nb2pipe_validate({step.name!r}, {name!r}, locals().get({name!r}), "
                        f"nb2pipe_validation)")
    body += ["if _mlflow is not None:", f"{INDENT}_mlflow.end_run()"]
    body[place_at] = failure_hook(body, cell_code, component_name(step, pipeline))
    text = "\n".join(body)
    return [decorator, f"def {component_name(step, pipeline)}(" + ", ".join(arguments) + "):",
            indent_code(text, INDENT)]


def _pipeline_body(pipeline: Pipeline, function: str, outside: set[str]) -> list[str]:
    """The pipeline function; ``outside``: the steps that read files of their own (Kubeflow
    may not reuse their earlier results)."""
    arguments = [f"{p.name}: {_TYPES.get(p.type, 'str')} = {kfp_default(p)!r}"
                 for p in pipeline.parameters]
    arguments += ['nb2pipe_tracking: str = ""', 'nb2pipe_artifacts: str = ""',
                  'nb2pipe_validation: str = ""', 'nb2pipe_data_dir: str = ""']
    if has_gate(pipeline):
        arguments.append("nb2pipe_register: bool = True")
    lines = [f"@dsl.pipeline(name={pipeline.name!r}, description="
             f"{'Converted by nb2pipe from ' + os.path.basename(pipeline.notebook)!r})",
             f"def {function}(" + ", ".join(arguments) + "):"]
    for step in pipeline.steps:
        args = [f"{name}={step.inputs[name]}_task.outputs[{_output_name(name)!r}]"
                for name in sorted(step.inputs)]
        args += [f"{name}={name}" for name in step.parameters]
        args += ["nb2pipe_tracking=nb2pipe_tracking", "nb2pipe_artifacts=nb2pipe_artifacts",
                 "nb2pipe_validation=nb2pipe_validation", "nb2pipe_data_dir=nb2pipe_data_dir"]
        lines.append(f"{INDENT}{step.name}_task = {component_name(step, pipeline)}(" + ", ".join(args) +
                     ")")
        lines.append(f"{INDENT}{step.name}_task.set_display_name({step.name!r})")
        for parent in step.after:
            if not any(p == parent for p in step.inputs.values()):
                lines.append(f"{INDENT}{step.name}_task.after({parent}_task)")
        lines += [f"{INDENT}{line}" for line in _settings(step)]
        if "cache" not in step.settings and step.name in outside:
            # Kubeflow's cache keys on a task's inputs and parameters, not on the files it
            # reads or lists itself: as `nb2pipe run`'s step cache does, it must not reuse it.
            lines.append(f"{INDENT}{step.name}_task.set_caching_options(False)  "
                         f"# it reads files: new data must run it")
    if has_gate(pipeline):
        lines += gate_tasks(pipeline, _output_name)
    return lines


#: Calls that open or list files: a step that makes one depends on more than its inputs.
_FILE_CALLS = frozenset({"open", "glob", "iglob", "listdir", "scandir", "walk", "iterdir",
                         "rglob", "read_text", "read_bytes", "load", "loadtxt", "genfromtxt",
                         "fromfile", "imread", "load_workbook"})


def _opens_files(notebook: Notebook, step: Step) -> bool:
    """Whether the step's cells call something that opens or lists files by a path (beyond
    the data reads nb2pipe found): ``open``, ``glob``, ``os.listdir``, ``Path.read_text``…
    (a cell that does not parse counts as one)."""
    import ast

    for index in step.cells:
        try:
            tree = ast.parse(pythonize(notebook.cells[index].source, False).source)
        except SyntaxError:
            return True
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else \
                    node.func.id if isinstance(node.func, ast.Name) else ""
                if name in _FILE_CALLS or name.startswith("read_"):
                    return True
    return False


def _decorator(image: str | None) -> str:
    base = repr(image) if image else "BASE_IMAGE"
    return (f"@dsl.component(base_image={base}, packages_to_install=PACKAGES, "
            "install_kfp_package=INSTALL_KFP)")


def _settings(step: Step) -> list[str]:
    task = f"{step.name}_task"
    settings = step.settings
    lines = []
    for resource, quantity in sorted(settings.get("limits", {}).items()):
        if resource == "cpu":
            lines.append(f"{task}.set_cpu_limit({quantity!r})")
        elif resource == "memory":
            lines.append(f"{task}.set_memory_limit({quantity!r})")
        else:
            lines.append(f"{task}.set_accelerator_type({resource!r})")
            lines.append(f"{task}.set_accelerator_limit({quantity!r})")
    for key, value in sorted(settings.get("labels", {}).items()):
        lines.append(f"kubernetes.add_pod_label({task}, {key!r}, {value!r})")
    for key, value in sorted(settings.get("annotations", {}).items()):
        lines.append(f"kubernetes.add_pod_annotation({task}, {key!r}, {value!r})")
    if "cache" in settings:
        lines.append(f"{task}.set_caching_options({settings['cache']!r})")
    if "retry" in settings:
        lines.append(f"{task}.set_retry(num_retries={settings['retry']!r})")
    for secret in settings.get("secrets", []):
        lines.append(f"kubernetes.use_secret_as_env({task}, secret_name={secret['secret']!r}, "
                     f"secret_key_to_env={{{secret['key']!r}: {secret['env']!r}}})")
    return lines


def _needs_kubernetes(pipeline: Pipeline) -> bool:
    """Whether a step has settings only kfp-kubernetes can express (labels, secrets…)."""
    return any(step.settings.get(key) for step in pipeline.steps
               for key in ("labels", "annotations", "secrets"))


def import_kfp_compiler():
    """``kfp.compiler``, imported without the rest of the SDK.

    ``import kfp`` also imports its REST client and, with it, the Kubernetes client: two
    thirds of a second that compiling never uses. kfp skips them when ``_KFP_RUNTIME`` is
    set (as it is inside a running component); it is set for that first import only, so that
    ``kfp.dsl`` still gets its decorators, and ``kfp.client`` can be imported when needed.
    """
    import sys

    if "kfp" not in sys.modules:
        previous = os.environ.get("_KFP_RUNTIME")
        os.environ["_KFP_RUNTIME"] = "true"
        try:
            import kfp  # noqa: F401
        finally:
            if previous is None:
                os.environ.pop("_KFP_RUNTIME", None)
            else:
                os.environ["_KFP_RUNTIME"] = previous
    from kfp import compiler, dsl  # noqa: F401

    return compiler


#: The kfp-kubernetes helpers the generated DSL calls, by the module that defines each.
KUBERNETES_HELPERS = {"add_pod_label": "pod_metadata", "add_pod_annotation": "pod_metadata",
                      "use_secret_as_env": "secret"}


@contextlib.contextmanager
def kfp_kubernetes_helpers():
    """``from kfp import kubernetes`` inside the block gives kfp-kubernetes' own helpers
    that the generated DSL calls, without the Kubernetes client.

    The package's ``__init__`` imports every helper module, and the node-affinity one
    imports the whole Kubernetes client: 0.4 s, three times what compiling the pipeline
    costs, for a module none of nb2pipe's settings use. Inside the block the package is
    the bare package with only the modules that define ``KUBERNETES_HELPERS`` loaded;
    afterwards it is taken out of ``sys.modules`` again, so a later ``import kfp.kubernetes``
    runs the real ``__init__`` (which reuses the modules already loaded). When the package is
    already imported, or its layout is not what this expects, the block uses it as it is.
    """
    import importlib
    import importlib.util
    import sys

    import kfp

    if "kfp.kubernetes" in sys.modules:
        yield
        return
    spec = importlib.util.find_spec("kfp.kubernetes")
    if spec is None:  # not installed: the generated import fails with kfp's own message
        yield
        return
    package = importlib.util.module_from_spec(spec)
    sys.modules["kfp.kubernetes"] = package
    try:
        for name, module in KUBERNETES_HELPERS.items():
            setattr(package, name,
                    getattr(importlib.import_module(f"kfp.kubernetes.{module}"), name))
    except (ImportError, AttributeError):
        del sys.modules["kfp.kubernetes"]
        yield
        return
    kfp.kubernetes = package
    try:
        yield
    finally:
        if sys.modules.get("kfp.kubernetes") is package:
            del sys.modules["kfp.kubernetes"]
        if getattr(kfp, "kubernetes", None) is package:
            del kfp.kubernetes


def compile_dsl(source: str, pipeline: Pipeline, local: bool = False) -> str:
    """Compile generated DSL source with kfp.compiler; return the YAML text."""
    import importlib.util

    compiler = import_kfp_compiler()

    folder = tempfile.mkdtemp(prefix="nb2pipe-kfp-")
    try:
        module_path = os.path.join(folder, "pipeline.py")
        with open(module_path, "w", encoding="utf-8") as handle:
            handle.write(source)
        previous = os.environ.get("NB2PIPE_KFP_LOCAL")
        os.environ["NB2PIPE_KFP_LOCAL"] = "1" if local else "0"
        try:
            spec = importlib.util.spec_from_file_location(f"nb2pipe_kfp_{os.getpid()}",
                                                          module_path)
            module = importlib.util.module_from_spec(spec)
            with kfp_kubernetes_helpers():
                spec.loader.exec_module(module)
                target = os.path.join(folder, "pipeline.yaml")
                compiler.Compiler().compile(getattr(module, _pipeline_function(pipeline)),
                                            target)
        finally:
            if previous is None:
                os.environ.pop("NB2PIPE_KFP_LOCAL", None)
            else:
                os.environ["NB2PIPE_KFP_LOCAL"] = previous
        with open(target, encoding="utf-8") as handle:
            return handle.read()
    finally:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


def _pipeline_function(pipeline: Pipeline) -> str:
    name = "".join(c if c.isalnum() else "_" for c in pipeline.name).strip("_") or "pipeline"
    if name[0].isdigit():
        name = "pipeline_" + name
    return name if name.endswith("pipeline") else f"{name}_pipeline"


#: Names the generated module uses itself: a step cannot take them as its function's name.
_TAKEN = frozenset({"os", "compiler", "dsl", "kubernetes", "Dataset", "Input", "Metrics",
                    "Model", "Output", "BASE_IMAGE", "LOCAL", "PACKAGES"})


def component_name(step: Step, pipeline: Pipeline) -> str:
    """The component's function name: the step's, unless the module or the pipeline
    function already uses that name (a parameter called like a step would hide it)."""
    taken = _TAKEN | {p.name for p in pipeline.parameters} | {_pipeline_function(pipeline)}
    return f"{step.name}_step" if step.name in taken else step.name


def _artifact_type(name: str, pipeline: Pipeline) -> str:
    """``Model`` for the model the gate registers (whatever its name: `vae`, `tpot`…; kfp's
    ``register_model`` takes an ``Input[Model]``) and names that read as models; else
    ``Dataset``."""
    registered = (pipeline.model or {}).get("name")
    return "Model" if name == registered or looks_like_model(name) else "Dataset"


def _output_name(name: str) -> str:
    return f"{name}_out"


def _list(items: list[str]) -> str:
    if not items:
        return "[]"
    return "[\n" + "".join(f"{INDENT}{json.dumps(i)},\n" for i in items) + "]"
