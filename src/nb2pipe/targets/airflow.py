"""The ``airflow`` target: ``airflow/DAG_ID.py``, an Apache Airflow 3 DAG of the pipeline.

One task per step (TaskFlow, ``airflow.sdk``), with the dependencies of ``pipeline.json``; a
``start`` task that opens the run record (``runs/ID/``, lineage, the validation baselines) and
a ``finish`` task that closes it whatever the steps did (metrics, validation's verdict, the
model gate, MLflow's registry when the gate passes). The pipeline's parameters are the DAG's
``params`` (typed, with their defaults), so a run with other values is ``airflow dags trigger
--conf '{"C": 0.5}'`` or the UI's form.

Each step runs its papermill step notebook in a kernel of its own, as ``nb2pipe run
--isolate`` does; values between steps go through the run's artifacts folder, never through
XCom (only the run's id does). The tasks import nb2pipe when they run: the DAG file itself
imports only ``airflow.sdk``, so that Airflow parses it fast.

Schedule: ``--schedule CRON`` (the ``nb2pipe.schedule`` of the notebook's metadata), else the
data files the steps read as Airflow assets (``file://`` URIs): a DAG that produces them (or
``airflow assets materialize``) triggers a retraining on new data — the level-1 trigger,
native to Airflow. No data file and no schedule: triggered by hand.
"""

from __future__ import annotations

import keyword
import re

from nb2pipe import __version__
from nb2pipe.notebook.model import Notebook
from nb2pipe.pipeline.literals import literal_text, plain_json
from nb2pipe.pipeline.model import Pipeline
from nb2pipe.targets import Rendered

#: Airflow params' JSON-schema types for the pipeline's parameter types.
_PARAM_TYPES = {"int": "integer", "float": "number", "str": "string", "bool": "boolean",
                "list": "array", "dict": "object"}


#: Airflow's schedule presets.
PRESETS = {"@once", "@continuous", "@hourly", "@daily", "@midnight", "@weekly", "@monthly",
           "@quarterly", "@yearly", "@annually"}
_CRON_FIELD = re.compile(r"[0-9A-Za-z*?/,#-]+")


def schedule_problem(schedule: str) -> str | None:
    """Why ``schedule`` is not one Airflow takes (a preset or a cron expression), or None.
    With croniter (Airflow's own cron reader) installed, it decides; otherwise the shape."""
    text = schedule.strip()
    if text in PRESETS:
        return None
    fields = text.split()
    hint = 'give a cron expression of 5 fields such as "0 3 * * *", or a preset (@daily…)'
    if text.startswith("@"):
        return f"Airflow has no preset {text}: {', '.join(sorted(PRESETS))}"
    if len(fields) not in (5, 6) or not all(_CRON_FIELD.fullmatch(f) for f in fields):
        return f"not a cron expression: {hint}"
    try:
        from croniter import croniter
    except ImportError:
        return None
    return None if croniter.is_valid(text) else f"croniter cannot read it: {hint}"


def dag_id(pipeline: Pipeline) -> str:
    """The DAG's id: the pipeline's name, as Airflow allows (letters, digits, ``_.-``)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", pipeline.name) or "pipeline"


def _identifier(name: str) -> str:
    name = re.sub(r"\W", "_", name)
    if not name.isidentifier():
        name = f"_{name}"
    return f"{name}_" if keyword.iskeyword(name) else name


def _function(step: str) -> str:
    """The Python name of a step's task function: ``step_NAME``, so that no step shadows
    what the DAG file uses (``task``, ``dag``, ``os``, ``run``…)."""
    return _identifier(f"step_{step}")


class AirflowTarget:
    name = "airflow"
    description = "an Apache Airflow 3 DAG (TaskFlow): one task per step, params, schedule"

    def render(self, pipeline: Pipeline, notebook: Notebook) -> Rendered:
        metadata = notebook.metadata.get("nb2pipe") if isinstance(
            notebook.metadata.get("nb2pipe"), dict) else {}
        schedule = pipeline.schedule or (metadata or {}).get("schedule")
        warnings = []
        problem = schedule_problem(schedule) if isinstance(schedule, str) else "not text"
        if schedule is not None and problem:
            warnings.append(f"airflow: the notebook's metadata nb2pipe.schedule {schedule!r} "
                            f"is not a schedule Airflow takes ({problem}): the DAG is "
                            f"triggered by hand or by its data instead")
            schedule = None
        for parameter in pipeline.parameters:
            if not plain_json(parameter.default):
                number = notebook.cells[parameter.cell].number \
                    if parameter.cell < len(notebook.cells) else parameter.cell + 1
                warnings.append(
                    f"cell {number}: parameter `{parameter.name}` = "
                    f"{_short(literal_text(parameter.default))} is not a JSON value, so the DAG's "
                    f"params carry its text: trigger with --conf "
                    f"'{{\"{parameter.name}\": \"{_short(literal_text(parameter.default))}\"}}' "
                    f"(the task reads it back with ast.literal_eval)")
        files = {f"airflow/{dag_id(pipeline)}.py": render_dag(pipeline, schedule)}
        if pipeline.airflow_tasks == "pod":
            files["airflow/Dockerfile"] = pod_dockerfile(pipeline, notebook)
        return Rendered(files, warnings)


def pod_dockerfile(pipeline: Pipeline, notebook: Notebook) -> str:
    """The pods' image: the notebook's packages and nb2pipe's runtime (the pipeline folder
    itself is not in it: the pods mount the folder Airflow deployed)."""
    from nb2pipe.targets.kfp_cluster import BASE_IMAGE, runtime_packages
    from nb2pipe.targets.project import requirements_for

    requirements, _unknown = requirements_for(notebook)
    listed = " \\\n    ".join(f'"{p}"' for p in
                                 runtime_packages(pipeline, notebook, set(requirements)))
    return f"""# The image of the Airflow pods of `{pipeline.name}`, written by nb2pipe {__version__}.
# Each task of airflow/{dag_id(pipeline)}.py runs `python -m nb2pipe.run.airflow_tasks` in a
# pod of this image, with the deployed pipeline folder mounted (docs/airflow.md). Build it from
# the pipeline's folder, push it where the cluster pulls images from, and convert again with
# --image:
#
#   docker build -f airflow/Dockerfile -t REGISTRY/{pipeline.name}:1 .
#   docker push REGISTRY/{pipeline.name}:1
#   nb2pipe convert NOTEBOOK -o DIR --target airflow --airflow-tasks pod --image REGISTRY/{pipeline.name}:1
#
# Where nb2pipe is not on your package index, build its wheel (`make wheel` in nb2pipe's
# source) and install it first: COPY nb2pipe-*.whl /tmp/ and add /tmp/nb2pipe-*.whl below.
FROM {BASE_IMAGE}
COPY requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir -r /tmp/requirements.txt \\
    {listed}
"""


def data_files(pipeline: Pipeline) -> list[str]:
    """The data files the steps read, as paths (the reads' source text resolved with the
    parameters' defaults); a path computed at run time is not one."""
    from nb2pipe.analysis.inputs import Unresolved, resolve

    defaults = {p.name: p.default for p in pipeline.parameters}
    found = set()
    for read in pipeline.data:
        try:
            path = resolve(read["path"], defaults)
        except (Unresolved, KeyError, TypeError):
            continue
        if isinstance(path, str) and path and "://" not in path:
            found.add(path)
    return sorted(found)


def _short(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def airflow_value(value, default):
    """A value of the parameter whose notebook default is ``default``, as Airflow's params
    and ``--conf`` carry it: itself when JSON gives the default back unchanged, else its text
    (``"(32, 32, 3)"``: the param is a string), which the tasks read back with
    ``ast.literal_eval`` (:func:`nb2pipe.run.airflow_tasks.start_run`)."""
    return value if plain_json(default) else literal_text(value)


def _doc(text: str) -> str:
    """``text`` safe inside a triple-quoted docstring: backslashes, quotes and what cannot be
    printed are escaped."""
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if text.endswith('"'):
        text = text[:-1] + '\\"'
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in text)


def _bookkeeping(pipeline: Pipeline, word: str) -> str:
    """The id of the ``start`` or ``finish`` task: ``word``, unless a step has that name."""
    names = set(pipeline.step_names)
    return next(candidate for candidate in (word, f"{word}-run", f"nb2pipe-{word}")
                if candidate not in names)


def render_dag(pipeline: Pipeline, schedule: str | None = None) -> str:
    """The DAG file's text."""
    name = dag_id(pipeline)
    function = _identifier("pipeline_" + name.replace("-", "_").replace(".", "_"))
    params = []
    for parameter in pipeline.parameters:
        value = airflow_value(parameter.default, parameter.default)
        if plain_json(parameter.default):
            kind = _PARAM_TYPES.get(parameter.type)
            typed = f", type={kind!r}" if kind else ""
        else:  # its text: read back with ast.literal_eval
            typed = ', type="string", description="a Python literal"'
        params.append(f"        {parameter.name!r}: Param({value!r}{typed}),")
    assets = data_files(pipeline)
    if schedule:
        when = f"{schedule!r}"
        said = f"on the schedule `{schedule}`"
    elif assets:
        when = "[" + ", ".join(f"_asset({path!r})" for path in assets) + "]"
        said = ("when Airflow sees new data: an asset event on " +
                ", ".join(f"`{p}`" for p in assets))
    else:
        when = "None"
        said = "when triggered (no schedule, no data file to watch)"
    steps = [s for s in pipeline.steps]
    start, finish = _bookkeeping(pipeline, "start"), _bookkeeping(pipeline, "finish")
    tasks = []
    for step in steps:
        variable = _function(step.name)
        tasks.append(
            f"    @task(task_id={step.name!r})\n"
            f"    def {variable}(run: str, **context) -> str:\n"
            f'        """Step `{step.name}`: cell{"s" if len(step.cells) > 1 else ""} '
            f'{", ".join(str(c + 1) for c in step.cells)} of the notebook."""\n'
            f"        from nb2pipe.run.airflow_tasks import run_step\n\n"
            f"        return run_step(PIPELINE, {step.name!r}, run, context)\n")
    wiring = ["    run = open_run()"]
    for step in steps:
        wiring.append(f"    {_function(step.name)}_done = {_function(step.name)}(run)")
    for step in steps:
        for before in step.after:
            wiring.append(f"    {_function(before)}_done >> {_function(step.name)}_done")
    wiring.append("    [" + ", ".join(f"{_function(s.name)}_done" for s in steps) +
                  "] >> close_run(run)")
    if pipeline.airflow_tasks == "pod":
        tasks, wiring = _pod_tasks(pipeline, start, finish)
    asset_helper = '''

def _asset(path: str) -> Asset:
    """A data file the steps read, as an Airflow asset."""
    return Asset(Path(WORK, os.path.expanduser(path)).resolve().as_uri())
''' if assets and not schedule else ""
    level1 = "the model gate and MLflow's registry" if pipeline.model else "no model to register"
    where = (", in a Kubernetes pod of IMAGE that mounts the deployed folder"
             if pipeline.airflow_tasks == "pod" else "")
    return f'''"""Apache Airflow 3 DAG of the pipeline `{_doc(pipeline.name)}`.

Generated by nb2pipe {__version__} from {_doc(pipeline.notebook)}: edit the notebook and convert it
again rather than editing this file. It runs {_doc(said)}.

Run it here: `nb2pipe run PIPELINE_FOLDER --engine airflow` (`airflow dags test`). Deploy it:
`nb2pipe submit PIPELINE_FOLDER --to airflow --dags-folder PATH`. Each task runs a step's
notebook (`papermill/`) in a kernel of its own{where}; values go through the run's artifacts folder
(`runs/ID/artifacts/`), not XCom. `finish` records the run: metrics, data validation,
{level1}.
"""

from __future__ import annotations

import os
from pathlib import Path

from airflow.sdk import {"Asset, " if assets and not schedule else ""}Param, dag, task
{_POD_IMPORTS if pipeline.airflow_tasks == "pod" else ""}
#: The converted pipeline's folder (NB2PIPE_PIPELINE, else this file's folder's parent).
PIPELINE = os.environ.get("NB2PIPE_PIPELINE") or str(Path(__file__).resolve().parent.parent)
#: The notebook's folder, where the steps run and its relative data paths start.
WORK = os.path.normpath(os.path.join(PIPELINE, os.path.dirname({pipeline.notebook!r})))
{asset_helper}{_pod_settings(pipeline) if pipeline.airflow_tasks == "pod" else ""}

@dag(
    dag_id={name!r},
    schedule={when},
    catchup=False,
    max_active_runs=1,
    max_active_tasks=1,  # a run's tasks share its record (runs/ID/run.json): one at a time
    tags=["nb2pipe"],
    params={{
{chr(10).join(params)}
    }},
    doc_md=__doc__,{_POD_MACROS if pipeline.airflow_tasks == "pod" else ""}
)
def {function}():
{_worker_bookkeeping(start, finish, level1, tasks) if pipeline.airflow_tasks != "pod"
 else chr(10).join(tasks)}
{chr(10).join(wiring)}


{function}()
'''


def _worker_bookkeeping(start: str, finish: str, level1: str, tasks: list[str]) -> str:
    return f'''    @task(task_id={start!r})
    def open_run(**context) -> str:
        """Open the run record: runs/ID/run.json, lineage, validation baselines."""
        from nb2pipe.run.airflow_tasks import start_run

        return start_run(PIPELINE, context)

{chr(10).join(tasks)}
    @task(task_id={finish!r}, trigger_rule="all_done")
    def close_run(run: str, **context) -> None:
        """Close the run record: metrics, validation's verdict, {level1}."""
        from nb2pipe.run.airflow_tasks import finish_run

        finish_run(PIPELINE, run, context)
'''


_POD_IMPORTS = """from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import models as k8s
"""

_POD_MACROS = """
    user_defined_macros={"nb2pipe_mlflow_uri": _mlflow_uri},"""


def _pod_settings(pipeline: Pipeline) -> str:
    return f'''
#: The pods' image (convert --image; airflow/Dockerfile builds one): nb2pipe's runtime and the
#: notebook's packages. NB2PIPE_IMAGE in the scheduler's environment names another.
IMAGE = os.environ.get("NB2PIPE_IMAGE") or {pipeline.image!r}
#: The PersistentVolumeClaim that holds the deployed pipeline (Airflow's DAGs volume), and
#: where the pods mount it: where the workers see it, the folder above the deployed one.
CLAIM = os.environ.get("NB2PIPE_VOLUME_CLAIM", "airflow-dags")
MOUNT = os.environ.get("NB2PIPE_MOUNT_PATH") or os.path.dirname(WORK)
#: The pods' namespace (None: the Kubernetes connection's, or the cluster's default).
NAMESPACE = os.environ.get("NB2PIPE_NAMESPACE") or None
#: What a pod knows of its DAG run: the run's id, conf and params, and MLflow's URI.
RUN_ENV = {{
    "NB2PIPE_AIRFLOW_RUN": "{{{{ run_id }}}}",
    "NB2PIPE_AIRFLOW_CONF": "{{{{ dag_run.conf | tojson }}}}",
    "NB2PIPE_AIRFLOW_PARAMS": "{{{{ params | tojson }}}}",
    "MLFLOW_TRACKING_URI": "{{{{ nb2pipe_mlflow_uri() }}}}",
}}


def _mlflow_uri() -> str:
    """MLflow's URI for the pods, found on the worker: its MLFLOW_TRACKING_URI, else the
    Airflow connection mlflow_default (its extra `tracking_uri`, or its URL), else the
    Airflow variable MLFLOW_TRACKING_URI; empty: a store in the run's folder."""
    from airflow.sdk import Connection, Variable

    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    try:
        connection = Connection.get(os.environ.get("NB2PIPE_MLFLOW_CONN_ID", "mlflow_default"))
        uri = (connection.extra_dejson or {{}}).get("tracking_uri") or connection.get_uri()
    except Exception:  # noqa: BLE001 - no such connection
        uri = Variable.get("MLFLOW_TRACKING_URI", default="")
    return uri or ""


def _pod(task_id: str, *arguments: str, **options) -> KubernetesPodOperator:
    """A task that runs `python -m nb2pipe.run.airflow_tasks ARGUMENTS PIPELINE` in a pod."""
    return KubernetesPodOperator(
        task_id=task_id,
        name=f"nb2pipe-{{task_id}}".replace("_", "-"),
        image=IMAGE,
        namespace=NAMESPACE,
        cmds=["python", "-m", "nb2pipe.run.airflow_tasks"],
        arguments=[*arguments, PIPELINE],
        env_vars=RUN_ENV,
        volumes=[k8s.V1Volume(name="pipeline", persistent_volume_claim=(
            k8s.V1PersistentVolumeClaimVolumeSource(claim_name=CLAIM)))],
        volume_mounts=[k8s.V1VolumeMount(name="pipeline", mount_path=MOUNT)],
        get_logs=True,
        on_finish_action="delete_pod",
        **options,
    )
'''


def _pod_tasks(pipeline: Pipeline, start: str, finish: str) -> tuple[list[str], list[str]]:
    """The pod variant's tasks (``KubernetesPodOperator``) and their wiring."""
    tasks = [f"    open_run = _pod({start!r}, \"start\")"]
    for step in pipeline.steps:
        tasks.append(f"    {_function(step.name)} = _pod({step.name!r}, \"step\", "
                     f"{step.name!r})")
    tasks.append(f"    close_run = _pod({finish!r}, \"finish\", trigger_rule=\"all_done\")")
    wiring = []
    for step in pipeline.steps:
        for name in ["open_run", *(_function(b) for b in step.after)]:
            wiring.append(f"    {name} >> {_function(step.name)}")
    ends = ", ".join(_function(s.name) for s in pipeline.steps)
    wiring.append(f"    [{ends}] >> close_run")
    return tasks, wiring
