"""``nb2pipe submit``: send a converted pipeline to a Kubeflow Pipelines cluster.

The compiled ``kfp/pipeline.yaml`` is uploaded and started with ``kfp.Client`` (authentication
as kfp does it: ``KF_PIPELINES_SA_TOKEN_PATH``, an existing token, or the kubeconfig of a
cluster the machine belongs to), one run per parameter set, or as a recurring run with
``--schedule``. ``--dry-run`` prints what would be sent and sends nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import socket
import urllib.parse
from dataclasses import dataclass

from nb2pipe.run.params import parameter_sets
from nb2pipe.run.source import load_source


class SubmitError(Exception):
    """The pipeline could not be sent; the message says why and what to try."""


@dataclass
class Submission:
    kind: str  # "run" or "recurring run"
    identifier: str
    url: str
    arguments: dict


def plan(folder: str, cli=(), file=None, data_dir: str | None = None) \
        -> tuple[str, list[dict]]:
    """The compiled YAML and the parameter sets to send (with the data folder the steps read
    the notebook's data files from, for a pipeline compiled with that input)."""
    source = load_source(folder)
    if source.notebook is not None:
        raise SubmitError("submit sends a converted pipeline: nb2pipe convert NOTEBOOK -o DIR "
                          "first (with kfp installed)")
    package = os.path.join(source.folder, "kfp", "pipeline.yaml")
    if not os.path.exists(package):
        raise SubmitError(f"{package} is missing: convert again with kfp installed "
                          f"(pip install 'nb2pipe[kfp]')")
    from nb2pipe.targets.kfp import kfp_arguments

    sets = parameter_sets(source.pipeline.parameters, cli, file)
    level1 = level1_arguments(source, package)
    if data_dir and "nb2pipe_data_dir" in _pipeline_inputs(package):
        level1["nb2pipe_data_dir"] = data_dir
    elif data_dir:
        raise SubmitError(f"{package} predates data folders: convert the notebook again")
    return package, [{**kfp_arguments(source.pipeline, s), **level1} for s in sets]


def _pipeline_inputs(package: str) -> dict:
    import yaml

    with open(package, encoding="utf-8") as handle:
        spec = next(yaml.safe_load_all(handle)) or {}
    return ((spec.get("root") or {}).get("inputDefinitions") or {}).get("parameters") or {}


def data_plan(folder: str, cli=(), file=None) -> list:
    """The data files the runs read (every parameter set's), as :mod:`nb2pipe.run.datadir`
    finds them in the notebook's folder."""
    from nb2pipe.run.datadir import sweep_data_files

    source = load_source(folder)
    return sweep_data_files(source, parameter_sets(source.pipeline.parameters, cli, file))


def data_summary(files: list, upload: str | None, data_dir: str | None) -> dict:
    """What a dry run says of the data: the files, where they would go, and what is missing."""
    summary: dict = {"files": [{"path": f.path, "local": f.local, "bytes": f.size,
                                "key": f.key} for f in files]}
    if upload:
        summary["would_upload_to"] = upload
    elif data_dir:
        summary["read_from"] = data_dir
    elif files:
        summary["problem"] = ("the steps read these files, which a pod does not have: add "
                              "--upload s3://BUCKET/PREFIX or --data-dir URI")
    return summary


def level1_arguments(source, package: str) -> dict:
    """The pipeline inputs that carry level 1 into the run: the validation baselines (their
    schemas travel inside the run) — for a pipeline compiled with them."""
    import json

    import yaml

    from nb2pipe.run.validation import (
        ValidationConfigError,
        load_baselines,
        options_for,
        step_settings,
    )

    with open(package, encoding="utf-8") as handle:
        spec = next(yaml.safe_load_all(handle)) or {}
    inputs = ((spec.get("root") or {}).get("inputDefinitions") or {}).get("parameters") or {}
    if "nb2pipe_validation" not in inputs:
        return {}
    try:
        options = options_for(source.pipeline, source.folder)
        if not options.enabled:
            return {}
        baselines = load_baselines(source.folder)
    except ValidationConfigError as error:
        raise SubmitError(str(error)) from None
    settings = step_settings(options, baselines, "", "accept new data with nb2pipe "
                                                     "baseline after a local run")
    return {"nb2pipe_validation": json.dumps(settings, sort_keys=True)}


def dry_run(host: str | None, package: str, sets: list[dict], experiment: str,
            run_name: str | None, schedule: str | None) -> dict:
    import json

    with open(package, "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    folder = os.path.dirname(os.path.dirname(os.path.abspath(package)))
    level1: dict = {}
    validation = next((json.loads(s["nb2pipe_validation"]) for s in sets
                       if s.get("nb2pipe_validation")), None)
    if validation is not None:
        level1["validation"] = {
            "frames": sorted(validation["baselines"]),
            "drift_threshold": validation["drift_threshold"], "strict": validation["strict"],
            "schemas": "in the nb2pipe_validation argument of each run (from "
                       "validation/*.schema.yaml)"}
    with open(os.path.join(folder, "pipeline.json"), encoding="utf-8") as handle:
        pipeline = json.load(handle)
    if pipeline.get("model"):
        level1["gate"] = {
            "conditions": pipeline.get("gate", []), "registered_model": pipeline["name"],
            "in_the_pipeline": "validate_model, then dsl.If(validate_model == 'register') "
                               "around register_model",
            "tracking_uri": "MLFLOW_TRACKING_URI in the components' environment"}
    return {"host": host, "experiment": experiment, "package": package,
            "package_sha256": digest, "runs": [{"run_name": run_name, "arguments": s}
                                               for s in sets],
            "schedule": kfp_cron(schedule) if schedule else None, "level1": level1}


def kfp_cron(expression: str) -> str:
    """KFP's cron has a seconds field: a five-field expression gets ``0`` seconds."""
    fields = expression.split()
    if len(fields) == 5:
        return "0 " + expression
    if len(fields) == 6:
        return expression
    raise SubmitError(f"`{expression}` is not a cron expression: write five fields "
                      f"(minute hour day month weekday), e.g. \"0 3 * * *\" for 03:00 daily")


def submit(host: str, package: str, sets: list[dict], experiment: str,
           run_name: str | None, schedule: str | None, timeout: float = 30) -> list[Submission]:
    _check_reachable(host, timeout)
    _check_answers(host, timeout)
    try:
        from kfp.client import Client
    except ImportError:
        raise SubmitError("submit needs the kfp SDK: pip install 'nb2pipe[kfp]'") from None
    cron = kfp_cron(schedule) if schedule else None
    results = []
    chatter = io.StringIO()
    import warnings

    logged = _Records()
    try:
        with contextlib.redirect_stdout(chatter), warnings.catch_warnings(), logged:
            # kfp prints links as it goes, and warns that it needs KFP ≥ 2.0.0-beta.2 (the
            # versions docs/kubeflow.md lists).
            warnings.simplefilter("ignore", FutureWarning)
            client = Client(host=host)
            for number, arguments in enumerate(sets, 1):
                name = run_name or os.path.basename(os.path.dirname(os.path.dirname(package)))
                if len(sets) > 1:
                    name = f"{name}-{number}"
                if cron:
                    found = client.create_experiment(experiment)
                    job = client.create_recurring_run(
                        experiment_id=found.experiment_id, job_name=name, cron_expression=cron,
                        pipeline_package_path=package, params=arguments)
                    identifier = job.recurring_run_id
                    results.append(Submission("recurring run", identifier,
                                              f"{host.rstrip('/')}/#/recurringruns/details/"
                                              f"{identifier}", arguments))
                else:
                    run = client.create_run_from_pipeline_package(
                        package, arguments=arguments, run_name=name, experiment_name=experiment)
                    results.append(Submission("run", run.run_id, f"{host.rstrip('/')}/#/runs/"
                                              f"details/{run.run_id}", arguments))
    except SubmitError:
        raise
    except Exception as error:  # kfp and its API client raise many types
        text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        why = f" (last: {logged.last_problem()})" if logged.last_problem() else ""
        raise SubmitError(f"the Kubeflow Pipelines API at {host} refused the pipeline: "
                          f"{type(error).__name__}: {text[:300]}{why}") from None
    return results


class _Records(logging.Handler):
    """Inside ``with``: the root logger's records are kept here instead of printed.

    kfp.Client logs each failed health check with ``logging.exception`` on the root logger,
    which (no handler being set) prints a full traceback per attempt. What they said is
    summed up in the one-line error instead.
    """

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def __enter__(self):
        root = logging.getLogger()
        self._saved = root.handlers[:]
        root.handlers = [self]
        return self

    def __exit__(self, *exc) -> None:
        logging.getLogger().handlers = self._saved

    def last_problem(self) -> str:
        for record in reversed(self.records):
            if record.levelno >= logging.WARNING:
                error = record.exc_info[1] if record.exc_info else None
                status = getattr(error, "status", None)
                reason = getattr(error, "reason", None)
                if status:
                    return f"HTTP {status} {reason or ''}".strip()
                return (str(error) if error else record.getMessage()).splitlines()[0][:200]
        return ""


def _check_reachable(host: str, timeout: float) -> None:
    parsed = urllib.parse.urlparse(host)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise SubmitError(f"`{host}` is not a URL: pass --host https://kubeflow.example.com/"
                          f"pipeline (or http://127.0.0.1:8080 with kubectl port-forward)")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname, port), timeout=timeout):
            pass
    except socket.timeout:
        raise SubmitError(f"the Kubeflow Pipelines API at {host} did not answer within "
                          f"{timeout:g} s; check the URL and your network") from None
    except OSError as error:
        raise SubmitError(f"cannot reach the Kubeflow Pipelines API at {host}: "
                          f"{error.strerror or error}; check the URL (kubectl port-forward "
                          f"svc/ml-pipeline-ui 8080:80 -n kubeflow for a local tunnel)") from None


def _check_answers(host: str, timeout: float) -> None:
    """Ask the API's health endpoint once: a server that is not the Kubeflow Pipelines API
    (404), or an API that is down (5xx), gets a clear message now rather than after the kfp
    client's five attempts five seconds apart. Anything else (a login page, 401, 403) is left
    to kfp.Client, which knows how to authenticate."""
    import urllib.error
    import urllib.request

    url = host.rstrip("/") + HEALTHZ
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return
    except urllib.error.HTTPError as error:
        status = error.code
    except (urllib.error.URLError, OSError, ValueError):
        return  # kfp.Client's own attempt reports it
    if status == 404:
        raise SubmitError(f"{host} is not the Kubeflow Pipelines API: {HEALTHZ} answered "
                          f"HTTP 404; check the URL (the API of a full Kubeflow is usually "
                          f"https://HOST/pipeline)")
    if status >= 500:
        raise SubmitError(f"the Kubeflow Pipelines API at {host} is not healthy: {HEALTHZ} "
                          f"answered HTTP {status}; check the ml-pipeline deployment "
                          f"(kubectl get pods -n kubeflow)")


#: The KFP v2 API's health endpoint (what kfp.Client asks first).
HEALTHZ = "/apis/v2beta1/healthz"

__all__ = ["SubmitError", "dry_run", "plan", "submit"]
