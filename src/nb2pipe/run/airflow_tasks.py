"""What the tasks of an nb2pipe Airflow DAG (:mod:`nb2pipe.targets.airflow`) do, in the
Airflow worker's Python: open the run record, run one step, close the record.

A run is the same as with the papermill engine under ``--isolate``: ``runs/ID/`` with
``run.json``, the executed step notebooks and the artifacts; each step in a kernel of its own;
the lineage, the validation baselines, the gate and the registry as ``nb2pipe run`` does
them. The run's settings travel in the DAG run's ``conf`` (``nb2pipe_run_id``,
``nb2pipe_tracking``…: ``nb2pipe run --engine airflow`` sets them); a run triggered from
Airflow gets a new run id and MLflow's URI from ``MLFLOW_TRACKING_URI`` (the environment, or
an Airflow variable of that name).
"""

from __future__ import annotations

import json
import os
import re
import sys
import time

_SETTINGS = "airflow.json"


def start_run(pipeline_folder: str, context) -> str:
    """The ``start`` task: a new run record; returns the run's id (the only XCom)."""
    from nb2pipe import __version__
    from nb2pipe.run.record import RunRecord, StepRecord, new_run_id

    conf = _conf(context)
    runner = _runner(pipeline_folder, conf)
    pipeline = runner.source.pipeline
    parameters = _parameters(pipeline, dict(context["params"]))
    run_id = conf.get("nb2pipe_run_id") or context.get("nb2pipe_run_id") or new_run_id()
    folder = os.path.join(runner.runs_dir, run_id)
    for sub in ("notebooks", "artifacts", "html"):
        os.makedirs(os.path.join(folder, sub), exist_ok=True)
    record = RunRecord(run_id=run_id, pipeline=pipeline.name, source=runner.source.folder,
                       parameters=parameters, engine="airflow", nb2pipe=__version__,
                       steps={s.name: StepRecord() for s in pipeline.steps})
    record.status = "running"
    validation = runner._prepare_level1(record, folder, parameters)
    with open(os.path.join(folder, _SETTINGS), "w", encoding="utf-8") as handle:
        json.dump({"conf": conf, "validation": validation,
                   "started_ms": int(time.time() * 1000),
                   "dag_run": str(context.get("run_id") or "")}, handle, indent=1)
    record.write(folder)
    return run_id


def run_step(pipeline_folder: str, step_name: str, run_id: str, context) -> str:
    """A step's task: its notebook in a kernel of its own; fails the task when the step
    fails, with the step, cell and line the papermill engine gives."""
    from nb2pipe.run.kernel import SharedKernel

    runner, record, folder, settings = _open(pipeline_folder, run_id, _conf(context))
    pipeline = runner.source.pipeline
    step = pipeline.step(step_name)
    print(f"[{pipeline.step_names.index(step_name) + 1}/{len(pipeline.steps)}] {step_name} …",
          flush=True)
    runner._validations[run_id] = settings.get("validation")
    kernel = SharedKernel(runner.source.work_dir, os.path.join(folder, "kernel.log"))
    try:
        ok = runner._run_step(step, record.parameters, record, folder, kernel,
                              settings["started_ms"])
    finally:
        kernel.shutdown()
    if not ok:
        error = record.steps[step_name].error or {}
        raise RuntimeError(f"step `{step_name}` failed: {_where(error)}")
    return run_id


def finish_run(pipeline_folder: str, run_id: str, context) -> None:
    """The ``finish`` task (it runs whatever the steps did): the run's status and metrics,
    validation's verdict, the model gate and the registry, MLflow. It fails when a step
    failed, so that the DAG run does."""
    from nb2pipe.run.engine import _read_metrics
    from nb2pipe.run.record import now

    runner, record, folder, settings = _open(pipeline_folder, run_id, _conf(context))
    pipeline = runner.source.pipeline
    failed = []
    for step in pipeline.steps:
        step_record = record.steps[step.name]
        if step_record.status == "failed":
            failed.append(step.name)
        elif step_record.status != "succeeded":
            blocked = next((a for a in step.after if a in failed), None)
            step_record.status = "skipped"
            step_record.error = {"message": f"not run: step `{blocked}` failed" if blocked
                                 else "not run"}
            failed.append(step.name)
    record.status = "failed" if failed else "succeeded"
    record.finished = now()
    started = settings["started_ms"]
    record.seconds = round(time.time() - started / 1000, 3)
    record.metrics = _read_metrics(folder)
    record.write(folder)
    runner._finish_level1(record, folder, started)
    if runner.tracking_mode != "none":
        ran = [s.name for s in pipeline.steps if record.steps[s.name].status in
               ("succeeded", "failed")]
        runner._finish_tracking(record, folder, ran, started)
    record.write(folder)
    if failed:
        raise RuntimeError(f"run {run_id}: step{'s' if len(failed) > 1 else ''} "
                           f"{', '.join(failed)} did not succeed (runs/{run_id}/run.json)")


def _parameters(pipeline, params: dict) -> dict:
    """The run's parameter values from the DAG run's params: a parameter whose default JSON
    cannot carry (a tuple, a set, ``None``…) comes as its text, read back here."""
    from nb2pipe.pipeline.literals import parse_literal, plain_json

    values = {}
    for parameter in pipeline.parameters:
        if parameter.name not in params:
            continue
        value = params[parameter.name]
        if not plain_json(parameter.default) and isinstance(value, str):
            value = parse_literal(value)
        values[parameter.name] = value
    return values


def _where(error: dict) -> str:
    place = ", ".join(f"{key} {error[key]}" for key in ("cell", "line") if error.get(key))
    message = error.get("message") or "see its notebook"
    return f"{message} ({place})" if place else message


def _conf(context) -> dict:
    dag_run = context.get("dag_run")
    conf = getattr(dag_run, "conf", None) or {}
    return dict(conf)


def _runner(pipeline_folder: str, conf: dict):
    from nb2pipe.run.engine import Runner
    from nb2pipe.run.source import load_source

    _tracking_uri()
    source = load_source(pipeline_folder)
    runner = Runner(source, tracking=conf.get("nb2pipe_tracking") or "mlflow",
                    runs_dir=conf.get("nb2pipe_runs_dir"), isolate=True, html=False,
                    report=lambda message: print(message, flush=True),
                    validate=conf.get("nb2pipe_validate"), strict=conf.get("nb2pipe_strict"),
                    register=conf.get("nb2pipe_register", True),
                    cache=False)  # (Airflow decides what runs: its own clearing and retries)
    runner.engine = "airflow"
    return runner


def _open(pipeline_folder: str, run_id: str, conf: dict):
    from nb2pipe.run.record import RunRecord
    from nb2pipe.run.source import load_source, runs_dir_for

    source = load_source(pipeline_folder)
    folder = os.path.join(runs_dir_for(source, conf.get("nb2pipe_runs_dir")), run_id)
    if not os.path.exists(os.path.join(folder, _SETTINGS)):
        raise RuntimeError(f"run {run_id} has no record in {folder}: did the `start` task "
                           f"run?")
    with open(os.path.join(folder, _SETTINGS), encoding="utf-8") as handle:
        settings = json.load(handle)
    runner = _runner(pipeline_folder, settings.get("conf") or {})
    return runner, RunRecord.read(folder), folder, settings


#: The Airflow connection that names the MLflow server (``NB2PIPE_MLFLOW_CONN_ID`` for another).
MLFLOW_CONNECTION = "mlflow_default"


def _tracking_uri() -> None:
    """MLflow's URI, when the environment has none: from an Airflow connection
    (``mlflow_default``: its ``extra`` ``{"tracking_uri": …}``, else the URL its type, host,
    port and schema make, ``http://mlflow:5000``), else from the Airflow variable
    ``MLFLOW_TRACKING_URI``."""
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return
    value = _from_connection(os.environ.get("NB2PIPE_MLFLOW_CONN_ID", MLFLOW_CONNECTION))
    if not value:
        try:
            from airflow.sdk import Variable

            value = Variable.get("MLFLOW_TRACKING_URI", default=None)
        except Exception:  # noqa: BLE001 - no Airflow, no variable store: the default then
            value = None
    if value:
        os.environ["MLFLOW_TRACKING_URI"] = value


def _from_connection(conn_id: str) -> str | None:
    try:
        from airflow.sdk import Connection

        connection = Connection.get(conn_id)
    except Exception:  # noqa: BLE001 - no such connection (or no Airflow)
        return None
    extra = connection.extra_dejson or {}
    if extra.get("tracking_uri"):
        return str(extra["tracking_uri"])
    if not connection.host:
        return None
    scheme = "https" if connection.conn_type in ("https",) or extra.get("https") else "http"
    host = connection.host if "://" in connection.host else f"{scheme}://{connection.host}"
    port = f":{connection.port}" if connection.port else ""
    path = f"/{connection.schema.strip('/')}" if connection.schema else ""
    return f"{host}{port}{path}"


def pod_context(environ=os.environ) -> dict:
    """What a pod of the DAG's pod variant knows of its DAG run (``RUN_ENV`` of the DAG
    file): the DAG run's conf and params, and the run's id — the conf's ``nb2pipe_run_id``,
    else one made from the DAG run's id, the same in every pod of the run."""
    from types import SimpleNamespace

    conf = json.loads(environ.get("NB2PIPE_AIRFLOW_CONF") or "{}") or {}
    params = json.loads(environ.get("NB2PIPE_AIRFLOW_PARAMS") or "{}") or {}
    dag_run = environ.get("NB2PIPE_AIRFLOW_RUN") or ""
    run_id = conf.get("nb2pipe_run_id") or \
        "airflow-" + (re.sub(r"[^A-Za-z0-9_.-]+", "_", dag_run).strip("_.") or "run")
    return {"dag_run": SimpleNamespace(conf=conf), "params": params, "run_id": dag_run,
            "nb2pipe_run_id": run_id}


def main(argv: list[str] | None = None) -> int:
    """``python -m nb2pipe.run.airflow_tasks start|step NAME|finish PIPELINE_FOLDER``: what
    each pod of the DAG's pod variant runs. Exit code 1, with one line, when the task fails."""
    args = list(sys.argv[1:] if argv is None else argv)
    usage = "usage: python -m nb2pipe.run.airflow_tasks start|step NAME|finish PIPELINE_FOLDER"
    if not args or args[0] not in ("start", "step", "finish") or \
            len(args) != (3 if args[0] == "step" else 2):
        print(usage, file=sys.stderr)
        return 2
    context = pod_context()
    folder = args[-1]
    try:
        if args[0] == "start":
            print(f"run {start_run(folder, context)} opened", flush=True)
        elif args[0] == "step":
            run_step(folder, args[1], context["nb2pipe_run_id"], context)
        else:
            finish_run(folder, context["nb2pipe_run_id"], context)
    except RuntimeError as error:
        print(f"nb2pipe: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
