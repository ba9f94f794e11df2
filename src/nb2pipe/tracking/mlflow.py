"""MLflow tracking for pipeline runs (a parent run per pipeline run, a nested run per step)."""

from __future__ import annotations

import os
import socket
import urllib.parse
import urllib.request

from nb2pipe.tracking.errors import TrackingError

#: Tags set on every run nb2pipe creates.
TAG_PREFIX = "nb2pipe."


class MlflowTracker:
    def __init__(self, uri: str, experiment: str) -> None:
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        self.uri = uri
        try:
            import logging

            from nb2pipe.tracking.loading import import_mlflow

            mlflow = import_mlflow()

            logging.getLogger("mlflow").setLevel(logging.WARNING)
            logging.getLogger("alembic").setLevel(logging.WARNING)
        except ImportError:
            raise TrackingError("tracking needs MLflow: pip install 'nb2pipe[tracking]' (or run "
                                "with --tracking none)") from None
        self.client = mlflow.MlflowClient(tracking_uri=uri)
        try:
            found = self.client.get_experiment_by_name(experiment)
            self.experiment_id = found.experiment_id if found else \
                self.client.create_experiment(experiment, artifact_location=_artifacts(uri))
        except Exception as error:  # MLflow raises many types for a broken store
            raise TrackingError(f"the MLflow tracking store at {uri} cannot be used: "
                                f"{type(error).__name__}: {str(error)[:300]}; fix it, set "
                                f"MLFLOW_TRACKING_URI to another store, or run with "
                                f"--tracking none") from None

    def info(self) -> dict:
        return {"uri": self.uri, "experiment_id": self.experiment_id}

    def start(self, name: str, parameters: dict, tags: dict, start_time: int | None = None) -> str:
        from mlflow.entities import Param, RunTag

        run = self.client.create_run(self.experiment_id, run_name=name, start_time=start_time,
                                     tags={k: str(v) for k, v in tags.items()})
        params = [Param(k, _text(v)) for k, v in sorted(parameters.items())]
        if params:
            self.client.log_batch(run.info.run_id, params=params,
                                  tags=[RunTag(TAG_PREFIX + "parameter_set", _text(parameters))])
        return run.info.run_id

    def step(self, parent: str, step: str, start_time: int | None = None,
             tags: dict | None = None) -> str:
        run = self.client.create_run(self.experiment_id, run_name=step, start_time=start_time,
                                     tags={
            "mlflow.parentRunId": parent, TAG_PREFIX + "step": step, **(tags or {})})
        return run.info.run_id

    def end_step(self, run_id: str, status: str, notebook: str | None,
                 artifacts: list[str], metrics: dict | None = None,
                 end_time: int | None = None) -> None:
        self._log_metrics(run_id, metrics or {})
        if notebook and os.path.exists(notebook):
            self.client.log_artifact(run_id, notebook, "notebooks")
        for path in artifacts:
            self.client.log_artifact(run_id, path, "model")
        self.client.set_terminated(run_id, "FINISHED" if status == "succeeded" else "FAILED",
                                   end_time=end_time)

    def _log_metrics(self, run_id: str, metrics: dict) -> None:
        import time

        from mlflow.entities import Metric

        stamp = int(time.time() * 1000)
        numbers = [Metric(k, float(v), stamp, 0) for k, v in sorted(metrics.items())
                   if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if numbers:
            self.client.log_batch(run_id, metrics=numbers)

    def log(self, run_id: str, metrics=(), params: dict | None = None,
            tags: dict | None = None) -> None:
        """``metrics``: ``(key, value, timestamp, step)`` tuples (or a dict, logged now at step
        0); ``params`` and ``tags``: dicts of text."""
        import time

        from mlflow.entities import Metric, Param, RunTag

        if isinstance(metrics, dict):
            stamp = int(time.time() * 1000)
            metrics = [(k, v, stamp, 0) for k, v in metrics.items()]
        metrics = [Metric(k, float(v), int(t), int(s)) for k, v, t, s in metrics]
        params = [Param(k, str(v)) for k, v in (params or {}).items()]
        tags = [RunTag(k, str(v)) for k, v in (tags or {}).items()]
        for start in range(0, max(len(metrics), len(params), len(tags)), 100):
            self.client.log_batch(run_id, metrics=metrics[start:start + 100],
                                  params=params[start:start + 100], tags=tags[start:start + 100])

    def log_artifact(self, run_id: str, path: str, folder: str | None = None) -> None:
        self.client.log_artifact(run_id, path, folder)

    def log_artifacts(self, run_id: str, folder: str) -> None:
        self.client.log_artifacts(run_id, folder)

    def log_inputs(self, run_id: str, inputs: list[dict]) -> None:
        """Dataset inputs as MLflow's protobuf JSON has them."""
        from google.protobuf.json_format import ParseDict
        from mlflow.entities import DatasetInput
        from mlflow.protos.service_pb2 import DatasetInput as DatasetInputProto

        self.client.log_inputs(run_id, [DatasetInput.from_proto(
            ParseDict(item, DatasetInputProto())) for item in inputs])

    def log_files_read(self, run_id: str, files: list[dict], work_dir: str) -> None:
        log_files_read(self.uri, run_id, files, work_dir)

    def replay(self, run_id: str, path: str) -> int:
        from nb2pipe.autologbuffer import replay

        return replay(self.client, run_id, path)

    def end(self, parent: str, status: str, metrics: dict, files: list[str]) -> None:
        self._log_metrics(parent, metrics)
        for path in files:
            if os.path.exists(path):
                self.client.log_artifact(parent, path)
        self.client.set_terminated(parent, "FINISHED" if status == "succeeded" else "FAILED")


def log_files_read(uri: str, run_id: str, files: list[dict], work_dir: str) -> None:
    """``mlflow.log_input`` of every data file lineage hashed, so it shows in MLflow's UI."""
    import warnings

    from nb2pipe.tracking.loading import import_mlflow, using

    mlflow = import_mlflow()
    from mlflow.data.dataset_source_registry import resolve_dataset_source
    from mlflow.data.meta_dataset import MetaDataset

    with using(uri), warnings.catch_warnings(), mlflow.start_run(run_id=run_id):
        warnings.simplefilter("ignore")
        for entry in files:
            where = entry.get("uri") or os.path.normpath(os.path.join(work_dir, entry["path"]))
            try:
                origin = resolve_dataset_source(where)
            except Exception:  # noqa: BLE001 - a scheme MLflow has no source for
                origin = resolve_dataset_source(entry["path"])
            dataset = MetaDataset(origin, name=entry["path"],
                                  digest=(entry.get("sha256") or entry["etag"])[:16])
            mlflow.log_input(dataset, context=entry.get("step") or "input")


def _text(value) -> str:
    import json

    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text[:6000]


def check_reachable(uri: str) -> None:
    """Fail now, with a clear message, rather than after an hour of training."""
    parsed = urllib.parse.urlparse(uri)
    if parsed.scheme in ("http", "https"):
        host = parsed.hostname or "localhost"
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        try:
            with socket.create_connection((host, port), timeout=5):
                pass
        except OSError as error:
            raise TrackingError(
                f"cannot reach the MLflow tracking server at {uri}: "
                f"{error.strerror or error}; start it, point MLFLOW_TRACKING_URI at a running "
                f"server, or run with --tracking none") from None
        try:
            with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=10) as answer:
                if answer.status >= 400:
                    raise OSError(f"HTTP {answer.status}")
        except Exception as error:
            raise TrackingError(
                f"the MLflow tracking server at {uri} does not answer /health ({error}); check "
                f"the URL, or run with --tracking none") from None
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    elif parsed.scheme == "sqlite":
        path = uri[len("sqlite:///"):]
        folder = os.path.dirname(os.path.abspath(path)) or "."
        if not os.access(folder, os.W_OK):
            raise TrackingError(f"cannot write the MLflow store {path}: {folder} is not "
                                f"writable; set MLFLOW_TRACKING_URI, or run with "
                                f"--tracking none")
        if not os.path.exists(path):
            return  # a new store: the folder is writable, nothing more to check
        # Open it once: MLflow itself would retry for a minute and a half before giving up.
        import sqlite3

        try:
            connection = sqlite3.connect(path, timeout=5)
            try:
                connection.execute("PRAGMA schema_version")
            finally:
                connection.close()
        except sqlite3.Error as error:
            raise TrackingError(f"cannot open the MLflow store {path}: {error}; set "
                                f"MLFLOW_TRACKING_URI, or run with --tracking none") from None


def _artifacts(uri: str) -> str | None:
    """Where a new experiment keeps its runs' files (the executed notebooks, models): beside
    the SQLite store, in `mlruns/` (MLflow's default is `./mlruns` in whatever folder the run
    started from). A tracking server decides for itself."""
    if not uri.startswith("sqlite:///"):
        return None
    folder = os.path.dirname(os.path.abspath(uri[len("sqlite:///"):]))
    return "file://" + os.path.join(folder, "mlruns")
