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
from nb2pipe.pipeline.model import Pipeline
from nb2pipe.targets import Rendered

#: Airflow params' JSON-schema types for the pipeline's parameter types.
_PARAM_TYPES = {"int": "integer", "float": "number", "str": "string", "bool": "boolean",
                "list": "array", "dict": "object"}


def dag_id(pipeline: Pipeline) -> str:
    """The DAG's id: the pipeline's name, as Airflow allows (letters, digits, ``_.-``)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", pipeline.name) or "pipeline"


def _identifier(name: str) -> str:
    name = re.sub(r"\W", "_", name)
    return f"{name}_" if keyword.iskeyword(name) or not name.isidentifier() else name


class AirflowTarget:
    name = "airflow"
    description = "an Apache Airflow 3 DAG (TaskFlow): one task per step, params, schedule"

    def render(self, pipeline: Pipeline, notebook: Notebook) -> Rendered:
        metadata = notebook.metadata.get("nb2pipe") if isinstance(
            notebook.metadata.get("nb2pipe"), dict) else {}
        schedule = pipeline.schedule or (metadata or {}).get("schedule")
        if not isinstance(schedule, str):
            schedule = None
        warnings = []
        for parameter in pipeline.parameters:
            if parameter.type not in _PARAM_TYPES:
                warnings.append(f"airflow: parameter `{parameter.name}` ({parameter.type}) "
                                f"has no Airflow param type: it is a free value in the DAG's "
                                f"params (cell {parameter.cell + 1})")
        return Rendered({f"airflow/{dag_id(pipeline)}.py": render_dag(pipeline, schedule)},
                        warnings)


def render_dag(pipeline: Pipeline, schedule: str | None = None) -> str:
    """The DAG file's text."""
    name = dag_id(pipeline)
    function = _identifier(name.replace("-", "_").replace(".", "_"))
    params = []
    for parameter in pipeline.parameters:
        kind = _PARAM_TYPES.get(parameter.type)
        typed = f", type={kind!r}" if kind else ""
        params.append(f"        {parameter.name!r}: Param({parameter.default!r}{typed}),")
    assets = sorted({read["path"] for read in pipeline.data
                     if isinstance(read.get("path"), str) and "{" not in read["path"]})
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
    tasks = []
    for step in steps:
        variable = _identifier(step.name)
        tasks.append(
            f"    @task(task_id={step.name!r})\n"
            f"    def {variable}(run: str, **context) -> str:\n"
            f'        """Step `{step.name}`: cell{"s" if len(step.cells) > 1 else ""} '
            f'{", ".join(str(c + 1) for c in step.cells)} of the notebook."""\n'
            f"        from nb2pipe.run.airflow_tasks import run_step\n\n"
            f"        return run_step(PIPELINE, {step.name!r}, run, context)\n")
    wiring = ["    run = start()"]
    for step in steps:
        wiring.append(f"    {_identifier(step.name)}_done = {_identifier(step.name)}(run)")
    for step in steps:
        for before in step.after:
            wiring.append(f"    {_identifier(before)}_done >> {_identifier(step.name)}_done")
    wiring.append("    [" + ", ".join(f"{_identifier(s.name)}_done" for s in steps) +
                  "] >> finish(run)")
    asset_helper = '''

def _asset(path: str) -> Asset:
    """A data file the steps read, as an Airflow asset."""
    return Asset(Path(WORK, os.path.expanduser(path)).resolve().as_uri())
''' if assets and not schedule else ""
    level1 = "the model gate and MLflow's registry" if pipeline.model else "no model to register"
    return f'''"""Apache Airflow 3 DAG of the pipeline `{pipeline.name}`.

Generated by nb2pipe {__version__} from {pipeline.notebook}: edit the notebook and convert it
again rather than editing this file. It runs {said}.

Run it here: `nb2pipe run PIPELINE_FOLDER --engine airflow` (`airflow dags test`). Deploy it:
`nb2pipe submit PIPELINE_FOLDER --to airflow --dags-folder PATH`. Each task runs a step's
notebook (`papermill/`) in a kernel of its own; values go through the run's artifacts folder
(`runs/ID/artifacts/`), not XCom. `finish` records the run: metrics, data validation,
{level1}.
"""

from __future__ import annotations

import os
from pathlib import Path

from airflow.sdk import {"Asset, " if assets and not schedule else ""}Param, dag, task

#: The converted pipeline's folder (NB2PIPE_PIPELINE, else this file's folder's parent).
PIPELINE = os.environ.get("NB2PIPE_PIPELINE") or str(Path(__file__).resolve().parent.parent)
#: The notebook's folder, where the steps run and its relative data paths start.
WORK = os.path.normpath(os.path.join(PIPELINE, os.path.dirname({pipeline.notebook!r})))
{asset_helper}

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
    doc_md=__doc__,
)
def {function}():
    @task(task_id="start")
    def start(**context) -> str:
        """Open the run record: runs/ID/run.json, lineage, validation baselines."""
        from nb2pipe.run.airflow_tasks import start_run

        return start_run(PIPELINE, context)

{chr(10).join(tasks)}
    @task(task_id="finish", trigger_rule="all_done")
    def finish(run: str, **context) -> None:
        """Close the run record: metrics, validation's verdict, {level1}."""
        from nb2pipe.run.airflow_tasks import finish_run

        finish_run(PIPELINE, run, context)

{chr(10).join(wiring)}


{function}()
'''
