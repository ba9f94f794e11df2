"""What a step's kernel autologs, kept in a file for ``nb2pipe run`` to log.

MLflow's database store costs a kernel seconds before the first metric: importing SQLAlchemy
and alembic and opening the store take longer than most steps. ``nb2pipe run`` already has
that store open; so a step's kernel logs into this store instead — each call appended to a
JSON-lines file of the run's folder — and the runner writes the lines into the step's MLflow
run when the run ends (:func:`replay`). What MLflow records is the same: the metrics,
parameters, tags and dataset inputs autologging made, in the order it made them, and the files
it logged (its plots, kept in the run's folder until then), and the child runs it made (a
parameter search's candidates: the runner makes them under the step's run). The step never
waits for the runner's store to open: its kernel logs under a run id of its own until the
runner makes the step's MLflow run.

The kernel registers the ``nb2pipe-buffer`` URI scheme with MLflow's tracking-store registry
(:func:`register`); where MLflow has no such registry (another version), the kernel logs to
the real store as before.
"""

from __future__ import annotations

import json
import os
import threading
import urllib.parse

SCHEME = "nb2pipe-buffer"


def buffer_uri(path: str, run_id: str, experiment_id: str, artifact_uri: str = "") -> str:
    """The tracking URI a kernel logs ``run_id`` through: the file and the run's identity
    (its artifacts, autologging's plots, go straight to the run's artifact location)."""
    query = urllib.parse.urlencode({"path": path, "run": run_id, "experiment": experiment_id,
                                    "artifacts": artifact_uri})
    return f"{SCHEME}:?{query}"


def register() -> bool:
    """Teach MLflow the ``nb2pipe-buffer`` scheme, in this process. False when it cannot."""
    try:
        from mlflow.tracking._tracking_service import utils
    except ImportError:
        return False
    registry = getattr(utils, "_tracking_store_registry", None)
    if registry is None or not hasattr(registry, "register"):
        return False
    registry.register(SCHEME, lambda store_uri, artifact_uri=None: _store(store_uri))
    return True


_STORES: dict = {}
_LOCK = threading.Lock()


def _store(uri: str):
    with _LOCK:
        if uri not in _STORES:
            _STORES[uri] = _make_store(uri)
        return _STORES[uri]


def _make_store(uri: str):
    from mlflow.store.tracking.abstract_store import AbstractStore

    class BufferStore(AbstractStore):
        """The calls autologging makes, appended to a file; the run as the runner made it."""

        def __init__(self, store_uri: str) -> None:
            super().__init__()
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(store_uri).query))
            self.path, self.run_id = query["path"], query["run"]
            self.experiment_id = query.get("experiment", "0")
            self.artifact_uri = query.get("artifacts") or None
            # what each run holds: the step's, and the child runs autologging makes (one per
            # candidate of a parameter search)
            self.runs = {self.run_id: {"metrics": {}, "params": {}, "tags": {},
                                       "name": None, "start": 0}}
            os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)

        def _data(self, run_id):
            return self.runs.get(run_id) or self.runs[self.run_id]

        def _own(self, run_id, entry: dict) -> dict:
            """``entry``, naming the child run it is for (none: the step's run)."""
            if run_id != self.run_id and run_id in self.runs:
                entry["run"] = run_id
            return entry

        def _append(self, entry: dict) -> None:
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(entry) + "\n")

        def get_run(self, run_id):
            from mlflow.entities import (Metric, Param, Run, RunData, RunInfo, RunStatus,
                                         RunTag)
            from mlflow.entities.lifecycle_stage import LifecycleStage

            held = self._data(run_id)
            info = RunInfo(run_id=run_id, experiment_id=self.experiment_id, user_id="",
                           status=RunStatus.to_string(RunStatus.RUNNING),
                           start_time=held["start"], end_time=None,
                           lifecycle_stage=LifecycleStage.ACTIVE,
                           artifact_uri=self.artifact_uri if run_id == self.run_id else None,
                           run_name=held["name"])
            data = RunData(
                metrics=[Metric(k, v, t, s) for k, (v, t, s) in held["metrics"].items()],
                params=[Param(k, v) for k, v in held["params"].items()],
                tags=[RunTag(k, v) for k, v in held["tags"].items()])
            return Run(info, data)

        def create_run(self, experiment_id, user_id, start_time, tags, run_name):
            """A child run (a parameter search's candidate): made by the runner, under the
            step's run, when it writes what the kernel logged."""
            import uuid

            child = uuid.uuid4().hex  # (os.urandom: no draw from the notebook's generators)
            tags = [[t.key, t.value] for t in tags or []]
            self.runs[child] = {"metrics": {}, "params": {}, "tags": dict(tags),
                                "name": run_name, "start": start_time or 0}
            self._append({"create": child, "parent": self.run_id, "start_time": start_time,
                          "run_name": run_name, "tags": tags})
            return self.get_run(child)

        def update_run_info(self, run_id, run_status, end_time, run_name):
            if run_id != self.run_id and run_id in self.runs:  # a child run ends
                from mlflow.entities import RunStatus

                self._append({"end": run_id, "status": RunStatus.to_string(run_status),
                              "end_time": end_time})
            return self.get_run(run_id).info  # (the runner ends the step's run itself)

        def log_batch(self, run_id, metrics, params, tags):
            held = self._data(run_id)
            changed = [(p.key, held["params"][p.key], p.value) for p in params
                       if held["params"].get(p.key, p.value) != p.value]
            if changed:  # as MLflow's store: nothing of the batch is logged (autologging
                # then warns, and the fit goes on; a second fit's other parameters)
                from mlflow.exceptions import MlflowException
                from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

                raise MlflowException(f"Changing param values is not allowed. Params were "
                                      f"already logged='{changed}' for run ID='{run_id}'.",
                                      INVALID_PARAMETER_VALUE)
            entry = {"metrics": [[m.key, m.value, m.timestamp, m.step] for m in metrics],
                     "params": [[p.key, p.value] for p in params],
                     "tags": [[t.key, t.value] for t in tags]}
            for key, value, stamp, step in entry["metrics"]:
                held["metrics"][key] = (value, stamp, step)
            held["params"].update(dict(entry["params"]))
            held["tags"].update(dict(entry["tags"]))
            self._append(self._own(run_id, entry))

        def log_metric(self, run_id, metric):
            self.log_batch(run_id, [metric], [], [])

        def log_param(self, run_id, param):
            self.log_batch(run_id, [], [param], [])

        def set_tag(self, run_id, tag):
            self.log_batch(run_id, [], [], [tag])

        def log_inputs(self, run_id, datasets=None, models=None):
            from google.protobuf.json_format import MessageToDict

            if datasets:
                self._append(self._own(run_id, {"inputs": [MessageToDict(d.to_proto())
                                                           for d in datasets]}))

        def get_experiment(self, experiment_id):
            from mlflow.entities import Experiment
            from mlflow.entities.lifecycle_stage import LifecycleStage

            return Experiment(experiment_id, "nb2pipe", None, LifecycleStage.ACTIVE)

        def _search_runs(self, *args, **kwargs):
            return [], None

        def __getattr__(self, name):  # a call autologging should not make: say which
            raise NotImplementedError(f"nb2pipe's kernel tracking store has no `{name}`")

    return BufferStore(uri)


def read_entries(path: str) -> list[dict]:
    """What a kernel buffered in ``path``, in order (nothing when there is no file)."""
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def replay(client, run_id: str, path: str) -> int:
    """Log what a kernel buffered in ``path`` into ``run_id`` with ``client`` (MLflow's,
    on the real store), and its child runs under it; the number of entries. The file is
    removed afterwards. (:meth:`nb2pipe.tracking.sqlite.SqliteTracker.replay` writes the same
    rows itself.)"""
    if not os.path.exists(path):
        return 0
    from mlflow.entities import DatasetInput, Metric, Param, RunTag

    entries = read_entries(path)
    experiment = []

    def create(name, tags, start_time):
        if not experiment:
            experiment.append(client.get_run(run_id).info.experiment_id)
        return client.create_run(experiment[0], start_time=start_time, run_name=name,
                                 tags=tags).info.run_id

    logged_params: dict[str, dict[str, str]] = {}
    for target, entry in runs_of(entries, run_id, create, client.set_terminated):
        if "inputs" in entry:
            from google.protobuf.json_format import ParseDict
            from mlflow.protos.service_pb2 import DatasetInput as DatasetInputProto

            client.log_inputs(target, [DatasetInput.from_proto(
                ParseDict(item, DatasetInputProto())) for item in entry["inputs"]])
            continue
        logged = logged_params.setdefault(target, {})
        params = [Param(k, v) for k, v in entry.get("params", []) if logged.get(k) != v]
        logged.update({p.key: p.value for p in params})
        metrics = [Metric(k, v, t, s) for k, v, t, s in entry.get("metrics", [])]
        tags = [RunTag(k, v) for k, v in entry.get("tags", [])]
        for start in range(0, max(len(metrics), len(params), len(tags)), 100):
            client.log_batch(target, metrics=metrics[start:start + 100],
                             params=params[start:start + 100], tags=tags[start:start + 100])
    os.remove(path)
    return len(entries)


_PARENT = "mlflow.parentRunId"


def runs_of(entries: list[dict], run_id: str, create, end):
    """Each entry of a kernel's buffer that logs something, with the run it is for:
    ``run_id`` (the step's), or a child run the kernel made. Child runs are made and ended
    on the way, by the writer: ``create(name, tags, start_time)`` gives the new run's id,
    ``end(run, status, end_time)`` ends it (``status``: MLflow's, ``FINISHED``…). A child's
    parent is the step's run (the kernel knew it by an id of its own until the runner made
    it); a child is named ``candidate-N`` when autologging gave no name (MLflow's store would
    draw a random one)."""
    children: dict[str, str] = {}
    kernel_ids: set = set()
    for entry in entries:
        if "create" in entry:
            tags = {str(k): str(v) for k, v in entry.get("tags", [])}
            kernel_ids.add(entry.get("parent"))
            parent = tags.get(_PARENT)
            if parent is None or parent in kernel_ids:
                tags[_PARENT] = run_id
            elif parent in children:
                tags[_PARENT] = children[parent]
            name = entry.get("run_name") or f"candidate-{len(children) + 1}"
            children[entry["create"]] = create(name, tags, entry.get("start_time"))
        elif "end" in entry:
            if entry["end"] in children:
                end(children[entry["end"]], entry.get("status") or "FINISHED",
                    entry.get("end_time"))
        elif entry.get("run") is None:
            yield run_id, entry
        elif entry["run"] in children:  # (a child never made: nothing of it is logged)
            yield children[entry["run"]], entry
