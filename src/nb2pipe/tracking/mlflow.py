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

            import mlflow

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

    def end(self, parent: str, status: str, metrics: dict, files: list[str]) -> None:
        self._log_metrics(parent, metrics)
        for path in files:
            if os.path.exists(path):
                self.client.log_artifact(parent, path)
        self.client.set_terminated(parent, "FINISHED" if status == "succeeded" else "FAILED")


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
