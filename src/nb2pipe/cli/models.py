"""``nb2pipe models``: the versions of a pipeline's model in MLflow's registry."""

from __future__ import annotations

import datetime
import json
import os

from nb2pipe.cli.console import EXIT_OK, UsageError


def add_parser(commands) -> None:
    models = commands.add_parser(
        "models", help="list the registered versions of a pipeline's model",
        description="List the versions of the pipeline's registered model, newest first: "
                    "aliases, metrics, the run that made each.")
    models.add_argument("source", metavar="DIR", help="a folder written by nb2pipe convert")
    models.add_argument("--json", action="store_true", help="print JSON")


def registry_for(folder: str):
    """The registry the pipeline's runs used: ``MLFLOW_TRACKING_URI`` when set, else the
    tracking store named in its latest run."""
    from nb2pipe.run.source import RunError, load_source, runs_dir_for
    from nb2pipe.tracking import TrackingError, check_tracker, default_uri
    from nb2pipe.tracking.registry import Registry

    try:
        source = load_source(folder)
    except RunError as error:
        raise UsageError(str(error)) from None
    if source.notebook is not None:
        raise UsageError("the registry holds a converted pipeline's model: give its folder")
    uri = os.environ.get("MLFLOW_TRACKING_URI") or _uri_of_last_run(runs_dir_for(source))
    if uri is None:
        uri = default_uri(os.getcwd())
    try:
        if uri.startswith("sqlite:///") and not os.path.exists(uri[len("sqlite:///"):]):
            raise TrackingError(f"no MLflow store at {uri}: run the pipeline first (nb2pipe "
                                f"run {folder}), or set MLFLOW_TRACKING_URI")
        if "MLFLOW_TRACKING_URI" in os.environ:
            check_tracker("mlflow", os.getcwd())
        return Registry(uri, source.pipeline.name)
    except TrackingError as error:
        raise UsageError(str(error)) from None


def _uri_of_last_run(runs_dir: str) -> str | None:
    if not os.path.isdir(runs_dir):
        return None
    for run_id in sorted(os.listdir(runs_dir), reverse=True):
        try:
            with open(os.path.join(runs_dir, run_id, "run.json"), encoding="utf-8") as handle:
                uri = (json.load(handle).get("tracking") or {}).get("uri")
        except (OSError, ValueError):
            continue
        if uri:
            return uri
    return None


def run(args) -> int:
    registry = registry_for(args.source)
    versions = registry.versions()
    if args.json:
        print(json.dumps({"model": registry.name, "uri": registry.uri, "versions": versions},
                         indent=2, default=str))
        return EXIT_OK
    if not versions:
        print(f"No version of `{registry.name}` is registered in {registry.uri} yet: a run "
              f"whose model passes the gate registers one.")
        return EXIT_OK
    print(f"{registry.name} ({registry.uri})")
    for row in versions:
        aliases = ", ".join(row["aliases"]) or "-"
        metrics = ", ".join(f"{k}={v:.4g}" for k, v in sorted(row["metrics"].items()))
        created = datetime.datetime.fromtimestamp(row["created"] / 1000).strftime(
            "%Y-%m-%d %H:%M") if row["created"] else ""
        print(f"  version {row['version']:<3} {aliases:<18} {metrics or '(no metrics)'}  "
              f"{created}  run {row['nb2pipe_run'] or row['run_id']}")
    return EXIT_OK
