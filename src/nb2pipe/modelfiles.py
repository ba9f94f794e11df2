"""MLflow's files of a trained model, made where the model is.

What nb2pipe gives MLflow's ``log_model`` (and ``save_model``) for a pipeline's model: its
flavour (scikit-learn's API), the signature inferred from the first rows of the frame it was
fit on and the prediction on them, those rows as the input example, cloudpickle, and the
requirements pinned to this environment. :func:`save_files` runs in the kernel of the step
that trains the model (MLflow, the model and its frame are loaded there); the runner then
logs and registers the files without loading any of them
(:meth:`nb2pipe.tracking.registry.Registry.register_saved`). When the runner logs the model
itself, :func:`log_arguments` gives ``log_model`` the same arguments.
"""

from __future__ import annotations

import contextlib
import io
import os
from typing import Any

#: Model classes from these packages are logged with ``mlflow.sklearn`` (scikit-learn's API).
SKLEARN_LIKE = ("sklearn", "xgboost", "lightgbm", "catboost", "imblearn")


class NotLoggable(Exception):
    """The model is not one nb2pipe logs (the message says what it is)."""


def flavour(model: Any):
    """MLflow's flavour module for ``model``."""
    import importlib

    package = type(model).__module__.partition(".")[0]
    if package in SKLEARN_LIKE or hasattr(model, "predict") and hasattr(model, "get_params"):
        return importlib.import_module("mlflow.sklearn")
    raise NotLoggable(f"nb2pipe registers scikit-learn-like models; "
                      f"{type(model).__module__}.{type(model).__qualname__} is not one "
                      f"(the model stays with the run's artifacts)")


def requirements(model: Any) -> list[str]:
    """What loading the model needs, pinned to this environment (MLflow would spend seconds
    inferring it)."""
    from importlib import metadata

    distributions = {"sklearn": "scikit-learn", "xgboost": "xgboost", "lightgbm": "lightgbm",
                     "catboost": "catboost", "imblearn": "imbalanced-learn"}
    wanted = ["cloudpickle", "numpy", "pandas", "scikit-learn"]
    package = type(model).__module__.partition(".")[0]
    if package in distributions and distributions[package] not in wanted:
        wanted.append(distributions[package])
    pinned = []
    for name in wanted:
        try:
            pinned.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return pinned


@contextlib.contextmanager
def quiet():
    """MLflow's chatter ("Successfully registered model …", cloudpickle's caution: nb2pipe
    chose the format) goes; nb2pipe says what happened itself."""
    import warnings

    from mlflow.utils.logging_utils import disable_logging, enable_logging

    disable_logging()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        enable_logging()


def log_arguments(module, model: Any, example: Any) -> tuple:
    """``(module, arguments)``: the flavour ``module`` and what nb2pipe gives its
    ``log_model`` / ``save_model`` for ``model``."""
    from mlflow.utils import requirements_utils

    from nb2pipe import packagemap

    packagemap.fill(requirements_utils)  # (MLflow checks the requirements with it)
    signature = None
    if example is not None:
        from mlflow.models import infer_signature

        try:
            signature = infer_signature(example, model.predict(example))
        except Exception:  # noqa: BLE001 - predict needs more than the frame: no signature
            signature = None
    return module, {"signature": signature, "input_example": example,
                    "serialization_format": "cloudpickle",
                    "pip_requirements": requirements(model)}


def save_files(model: Any, example: Any, folder: str, model_id: str, artifact_location: str,
               run_id: str) -> None:
    """The files ``log_model`` would log for ``model`` as ``model_id`` of run ``run_id``
    (whose files will be in ``artifact_location``), made by MLflow's ``save_model`` into
    ``folder``: no store, no client. ``folder`` is complete or absent."""
    import shutil

    from mlflow.models import Model

    partial = f"{folder}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    with quiet():
        module, arguments = log_arguments(flavour(model), model, example)
        module.save_model(model, partial, mlflow_model=Model(
            artifact_path=artifact_location, model_uuid=model_id, run_id=run_id,
            model_id=model_id), **arguments)
    for where, folders, _ in os.walk(partial):  # (as log_model: no __pycache__)
        if "__pycache__" in folders:
            shutil.rmtree(os.path.join(where, "__pycache__"), ignore_errors=True)
    os.replace(partial, folder)
