"""MLflow's map of the modules installed here to the distributions that install them, kept
between runs.

When MLflow logs a model it checks the requirements it is given against what is installed,
through a map of every importable top-level module to its distributions
(``mlflow.utils.requirements_utils._MODULES_TO_PACKAGES``, from
``importlib.metadata.packages_distributions()``): it reads every distribution's file list,
0.6 s here, in every run that registers a model. The map is MLflow's own: it is computed by
MLflow once, kept in nb2pipe's cache folder, and given back to MLflow while the environment
is the one it was computed in: the same Python, the same MLflow, and every ``*.dist-info``
and ``*.egg-info`` folder on ``sys.path`` with the same name and the same modification time
(installing, removing or reinstalling anything changes them).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys


def template_folder() -> str:
    """Where this machine keeps nb2pipe's caches of MLflow's work: its empty stores, one per
    MLflow version (:mod:`nb2pipe.tracking.sqlite`), and this map (``NB2PIPE_STORE_TEMPLATES``,
    else ``$XDG_CACHE_HOME/nb2pipe``, else ``~/.cache/nb2pipe``)."""
    return os.environ.get("NB2PIPE_STORE_TEMPLATES") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "nb2pipe")


def fill(requirements_utils) -> None:
    """Give MLflow its map from the cache, or let it compute the map and keep it."""
    if getattr(requirements_utils, "_MODULES_TO_PACKAGES", "") is not None or \
            not callable(getattr(requirements_utils, "_init_modules_to_packages_map", None)):
        return  # made already, or an MLflow this was not written for: MLflow's own way
    path = cache_path()
    cached = _read(path)
    if cached is not None:
        requirements_utils._MODULES_TO_PACKAGES = cached
        return
    requirements_utils._init_modules_to_packages_map()
    made = requirements_utils._MODULES_TO_PACKAGES
    if isinstance(made, dict):
        write_whole(path, made)


def cache_path() -> str:
    """The cache file of this environment's map."""
    import mlflow

    return os.path.join(template_folder(),
                        f"mlflow-{mlflow.__version__}-packages-{environment_key()[:20]}.json")


def environment_key() -> str:
    """What the map depends on: Python, the folders distributions are found in, and each
    distribution's metadata folder with its modification time."""
    parts = [sys.version, sys.executable, os.environ.get("DATABRICKS_RUNTIME_VERSION", "")]
    for folder, name in metadata_folders():
        try:
            stamp = os.stat(os.path.join(folder, name)).st_mtime_ns
        except OSError:
            stamp = None
        parts.append(f"{folder}/{name}@{stamp}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def metadata_folders() -> list[tuple[str, str]]:
    """``(folder on sys.path, NAME-VERSION.dist-info or .egg-info)`` for every installed
    distribution, as ``importlib.metadata`` finds them, without opening their metadata."""
    found = []
    for entry in sys.path:
        folder = entry or "."
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        found += [(folder, n) for n in names if n.endswith((".dist-info", ".egg-info"))]
    return found


def _read(path: str) -> dict | None:
    value = read_json(path)
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, list) and all(isinstance(p, str) for p in v)
            for k, v in value.items()):
        return None
    return value


def read_json(path: str):
    """The JSON value in the cache file ``path``; ``None`` when it is missing or unreadable."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def write_whole(path: str, value) -> None:
    """Write the cache file ``path``, whole or not at all (another run or kernel may read it
    at the same moment)."""
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        temporary = f"{path}.{os.getpid()}.tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(value, handle)
        os.replace(temporary, path)
    except OSError:
        pass  # (a cache: computed again next time)
