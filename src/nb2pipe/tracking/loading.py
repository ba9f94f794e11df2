"""Loading MLflow in the runner: once, by one thread at a time, and pointed at one store."""

from __future__ import annotations

import contextlib
import os
import threading

_IMPORTING = threading.Lock()


def import_mlflow():
    """``import mlflow``, one thread at a time. The runner's threads (the model prefetch, the
    registry) may need it at the same moment; two threads importing MLflow's package together
    meet its circular imports half-initialised (``cannot import name … from partially
    initialized module 'mlflow.models'``). Raises ImportError when MLflow is not installed."""
    with _IMPORTING:
        import mlflow
    return mlflow


def importing():
    """The lock :func:`import_mlflow` holds: a thread that imports what MLflow imports (the
    model prefetch unpickling a scikit-learn model) holds it too."""
    return _IMPORTING


@contextlib.contextmanager
def using(uri: str):
    """MLflow's fluent API (``start_run``, ``log_model``) pointed at ``uri`` inside the block
    only. ``mlflow.set_tracking_uri`` also sets ``MLFLOW_TRACKING_URI`` in this process's
    environment, where every later run (a sweep, the Jupyter server) would find it: both the
    globals and the environment are put back afterwards."""
    mlflow = import_mlflow()
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    names = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
    environment = {name: os.environ.get(name) for name in names}
    saved = (getattr(tracking_utils, "_tracking_uri", None),
             getattr(registry_utils, "_registry_uri", None))
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        yield
    finally:
        tracking_utils._tracking_uri, registry_utils._registry_uri = saved
        for name, value in environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
