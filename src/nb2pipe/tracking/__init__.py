"""Experiment tracking for ``nb2pipe run``: MLflow, or nothing.

One parent run per pipeline run, one nested run per step. The runner creates the runs with
MLflow's client, or, in an SQLite store MLflow has made, writes the same rows itself
(:mod:`nb2pipe.tracking.sqlite`); each step's kernel attaches to its own run (:func:`nb2pipe.runtime.start_step`)
to log what autologging and the metrics cells record.
"""

from __future__ import annotations

import os

from nb2pipe.tracking.errors import TrackingError
from nb2pipe.tracking.loading import import_mlflow

__all__ = ["NoTracking", "TrackingError", "check_tracker", "default_uri", "import_mlflow",
           "make_tracker"]

class NoTracking:
    """``--tracking none``: every call does nothing."""

    uri = None
    experiment_id = None

    def start(self, name: str, parameters: dict, tags: dict, start_time=None) -> str | None:
        return None

    def step(self, parent: str | None, step: str, start_time=None,
             tags: dict | None = None) -> str | None:
        return None

    def end_step(self, run_id, status: str, notebook: str | None, artifacts: list[str],
                 metrics: dict | None = None, end_time=None) -> None:
        pass

    def end(self, parent, status: str, metrics: dict, files: list[str]) -> None:
        pass

    def info(self) -> dict:
        return {}


def default_uri(folder: str) -> str:
    """``MLFLOW_TRACKING_URI`` when set, otherwise an SQLite store in ``folder``."""
    return os.environ.get("MLFLOW_TRACKING_URI") or \
        "sqlite:///" + os.path.join(os.path.abspath(folder), "mlflow.db")


def check_tracker(mode: str, folder: str) -> None:
    """The quick checks (a server that does not answer, a folder that cannot be written), made
    before anything runs; the tracker itself may then load in the background."""
    if mode == "none":
        return
    if mode not in ("mlflow", "auto"):
        raise TrackingError(f"unknown tracking `{mode}`: use `mlflow` or `none`")
    import importlib.util

    if importlib.util.find_spec("mlflow") is None:
        raise TrackingError("tracking needs MLflow: pip install 'nb2pipe[tracking]' (or run "
                            "with --tracking none)")
    from nb2pipe.tracking.mlflow import check_reachable

    check_reachable(default_uri(folder))


def make_tracker(mode: str, folder: str, experiment: str):
    """``mode`` is ``mlflow`` (or ``auto``, the same) or ``none``."""
    if mode == "none":
        return NoTracking()
    if mode not in ("mlflow", "auto"):
        raise TrackingError(f"unknown tracking `{mode}`: use `mlflow` or `none`")
    from nb2pipe.tracking.sqlite import open_tracker

    uri = default_uri(folder)
    from nb2pipe.tracking.mlflow import _artifacts

    # the store as MLflow makes it, without MLflow
    direct = open_tracker(uri, experiment, _artifacts(uri))
    if direct is not None:
        return direct
    from nb2pipe.tracking.mlflow import MlflowTracker

    try:
        return MlflowTracker(uri, experiment)
    except Exception as error:  # MLflow and SQLAlchemy raise many types
        lines = str(error).strip().splitlines()
        raise TrackingError(f"cannot open the MLflow store at {uri}: "
                            f"{lines[0][:200] if lines else type(error).__name__}; set "
                            f"MLFLOW_TRACKING_URI to one that works, or run with --tracking "
                            f"none") from None
