"""The model gate and the MLflow Model Registry.

After a run's metrics are known, the gate compares them with its conditions: absolute
thresholds, and the current champion's metrics (the registered model named after the
pipeline, at alias ``champion``). When every condition holds, the trained model is logged
with its flavour, signature and input example, registered as a new version, and
``champion`` moves to it; the version it leaves gets the alias ``previous``. When one fails,
nothing is registered and no alias moves; the reasons go to ``run.json``, to MLflow tags and
to the terminal.

Conditions that MLflow's own ``MetricThreshold`` can say are checked with
``mlflow.validate_evaluation_results``; the others (strict comparisons, tolerances below the
champion) by :meth:`nb2pipe.pipeline.gate.Condition.holds`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from nb2pipe.pipeline.gate import Condition, parse_all
from nb2pipe.tracking.errors import TrackingError
from nb2pipe.tracking.loading import import_mlflow, using  # noqa: F401 (using: theirs too)

CHAMPION, PREVIOUS = "champion", "previous"
#: Tag of a registered version: the metrics of the run that made it, as JSON.
METRICS_TAG = "nb2pipe.metrics"


@dataclass
class Decision:
    """The gate's verdict on one run's model."""

    passed: bool
    reasons: list[str] = field(default_factory=list)
    champion: dict | None = None  # {"version", "metrics"} of the champion compared with
    registered: dict | None = None  # {"name", "version"} when registered
    note: str = ""  # why nothing was registered although the gate passed

    def to_dict(self) -> dict:
        return {"passed": self.passed, "reasons": self.reasons, "champion": self.champion,
                "registered": self.registered, "note": self.note}


def evaluate(conditions: list[Condition], metrics: dict, champion: dict | None) -> Decision:
    """Check ``metrics`` against the conditions (``champion``'s metrics for the relative
    ones; ``None`` when there is no champion yet: those then hold).

    MLflow is imported only for a condition its thresholds can say (seconds of a run that
    has no such condition, or no tracking); without MLflow, the condition's own test."""
    mlflow_check = _mlflow_threshold_check() if any(
        c.metric_threshold() is not None for c in conditions) else None
    numbers = {k: float(v) for k, v in metrics.items()
               if isinstance(v, (int, float)) and not isinstance(v, bool)}
    baseline = {k: float(v) for k, v in (champion or {}).get("metrics", {}).items()}
    reasons, passed = [], True
    for condition in conditions:
        value = numbers.get(condition.metric)
        best = baseline.get(condition.metric) if champion else None
        if value is None:
            holds = False
        elif condition.relative and best is None:
            holds = True
        elif condition.metric_threshold() is not None and mlflow_check is not None:
            holds = mlflow_check(condition, numbers, baseline)
        else:
            holds = bool(condition.holds(value, best))
        passed = passed and holds
        reasons.append(condition.describe(value, best))
    return Decision(passed, reasons, champion)


def _mlflow_threshold_check():
    """``check(condition, metrics, champion_metrics) -> bool`` with MLflow's
    ``validate_evaluation_results``; ``None`` when MLflow is not installed."""
    try:
        import logging

        from mlflow import validate_evaluation_results
        from mlflow.exceptions import MlflowException
        from mlflow.models import EvaluationResult, MetricThreshold
    except ImportError:
        return None
    logging.getLogger("mlflow.models.evaluation").setLevel(logging.WARNING)

    def check(condition: Condition, numbers: dict, baseline: dict) -> bool:
        try:
            validate_evaluation_results(
                {condition.metric: MetricThreshold(**condition.metric_threshold())},
                EvaluationResult(numbers, {}),
                EvaluationResult(baseline, {}) if condition.relative else None)
            return True
        except MlflowException:
            return False

    return check


class Registry:
    """The registered model of one pipeline in an MLflow tracking store.

    Reading it (the champion, the versions) needs no MLflow in an SQLite store MLflow made
    (:mod:`nb2pipe.tracking.sqlite` knows its schema): the gate of a run that registers
    nothing, and ``nb2pipe models``, read the tables. Writing goes through MLflow's client,
    opened on first need."""

    def __init__(self, uri: str, name: str) -> None:
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        from nb2pipe.tracking.sqlite import open_reader

        self.uri, self.name = uri, name
        self._client = None
        self._reader = open_reader(uri)
        if self._reader is None:
            self.client  # noqa: B018 - MLflow now, so that a missing MLflow says so at once

    @property
    def client(self):
        if self._client is None:
            try:
                mlflow = import_mlflow()
            except ImportError:
                raise TrackingError("the model registry needs MLflow: pip install "
                                    "'nb2pipe[tracking]'") from None
            self._client = mlflow.MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
        return self._client

    def version(self, alias: str):
        """The version at ``alias``, or ``None``."""
        if self._reader is not None:
            return self._reader.version_at(self.name, alias)
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_model_version_by_alias(self.name, alias)
        except MlflowException:
            return None

    def metrics_of(self, version) -> dict:
        import json

        text = (version.tags or {}).get(METRICS_TAG)
        if text:
            try:
                return json.loads(text)
            except ValueError:
                pass
        if version.run_id:
            if self._reader is not None:
                return self._reader.run_metrics(version.run_id)
            return dict(self.client.get_run(version.run_id).data.metrics)
        return {}

    def champion(self) -> dict | None:
        version = self.version(CHAMPION)
        if version is None:
            return None
        return {"version": int(version.version), "metrics": self.metrics_of(version)}

    def versions(self) -> list[dict]:
        """Every version, newest first: number, aliases, metrics, the run that made it."""
        if self._reader is not None:
            found, aliases = self._reader.versions(self.name)
        else:
            from mlflow.exceptions import MlflowException

            try:
                found = self.client.search_model_versions(f"name='{self.name}'")
                aliases = self.client.get_registered_model(self.name).aliases or {}
            except MlflowException:
                return []
        by_version: dict[str, list[str]] = {}
        for alias, number in sorted(aliases.items()):
            by_version.setdefault(str(number), []).append(alias)
        rows = []
        for version in sorted(found, key=lambda v: -int(v.version)):
            rows.append({"version": int(version.version),
                         "aliases": by_version.get(str(version.version), []),
                         "metrics": self.metrics_of(version), "run_id": version.run_id,
                         "created": version.creation_timestamp,
                         "nb2pipe_run": (version.tags or {}).get("nb2pipe.run"),
                         "trained_in": (version.tags or {}).get("nb2pipe.trained_in")
                         or (version.tags or {}).get("nb2pipe.run")})
        return rows

    def register(self, model, parent_run: str, example, metrics: dict, run_id: str,
                 trained_in: str | None = None) -> int:
        """Log ``model`` in the MLflow run ``parent_run``, register it, move the aliases;
        return the new version. ``trained_in``: the run whose step trained it, when this run
        reused that step's results (the step cache)."""
        import mlflow

        from nb2pipe.modelfiles import log_arguments, quiet

        with quiet():
            flavour, arguments = log_arguments(_flavour(model), model, example)
            with using(self.uri), mlflow.start_run(run_id=parent_run):
                info = flavour.log_model(model, name="model", registered_model_name=self.name,
                                         **arguments)
        version = int(info.registered_model_version)
        for key, value in _version_tags(metrics, run_id, trained_in).items():
            self.client.set_model_version_tag(self.name, str(version), key, value)
        self.promote(version)
        return version

    def register_saved(self, saved: str, model_id: str, parent_run: str, metrics: dict,
                       run_id: str) -> int | None:
        """Register the model the training step's kernel saved in ``saved`` (MLflow's
        ``save_model``, as :func:`nb2pipe.modelfiles.save_files` calls it) as ``log_model`` would have logged
        and registered it, without loading MLflow here (:class:`nb2pipe.tracking.sqlite.
        ModelRegistrar`); ``None`` when MLflow must log it (the model is then registered by
        :meth:`register`)."""
        from nb2pipe.tracking.sqlite import ModelRegistrar, context_tags

        if self._reader is None or not _saved_by_this_mlflow(saved, model_id, parent_run):
            return None
        context = context_tags()
        if context is None:
            return None
        try:
            return ModelRegistrar(self._reader.store).register(
                self.name, model_id, saved, parent_run, context,
                _version_tags(metrics, run_id, None), CHAMPION, PREVIOUS)
        except ValueError:
            return None

    def promote(self, version: int) -> int | None:
        """Make ``version`` the champion; the champion it replaces becomes ``previous``.
        Returns the version that was champion."""
        from mlflow.exceptions import MlflowException

        try:
            self.client.get_model_version(self.name, str(version))
        except MlflowException:
            known = ", ".join(str(v["version"]) for v in self.versions()) or "none"
            raise TrackingError(f"model `{self.name}` has no version {version} (versions: "
                                f"{known})") from None
        old = self.version(CHAMPION)
        if old is not None and int(old.version) != version:
            self.client.set_registered_model_alias(self.name, PREVIOUS, old.version)
        self.client.set_registered_model_alias(self.name, CHAMPION, str(version))
        return int(old.version) if old is not None else None

    def rollback(self) -> tuple[int, int]:
        """``champion`` back to ``previous`` (which becomes the version rolled back from, so
        that a second rollback undoes the first). Returns (from, to)."""
        previous = self.version(PREVIOUS)
        champion = self.version(CHAMPION)
        if previous is None:
            raise TrackingError(f"model `{self.name}` has no `previous` version to roll back "
                                f"to (nb2pipe models shows its versions; nb2pipe promote sets "
                                f"one)")
        self.client.set_registered_model_alias(self.name, CHAMPION, previous.version)
        if champion is not None:
            self.client.set_registered_model_alias(self.name, PREVIOUS, champion.version)
        return (int(champion.version) if champion is not None else 0), int(previous.version)


def _saved_by_this_mlflow(saved: str, model_id: str, run_id: str) -> bool:
    """``saved`` holds a model MLflow saved for ``model_id`` of ``run_id``, and the MLflow
    that saved it is the one installed here (whose store this is)."""
    from nb2pipe.tracking.sqlite import _mlflow_distribution

    try:
        with open(os.path.join(saved, "MLmodel"), encoding="utf-8") as handle:
            text = handle.read()
    except OSError:
        return False
    installed = _mlflow_distribution() or ""
    lines = set(text.splitlines())
    return f"model_id: {model_id}" in lines and f"run_id: {run_id}" in lines and \
        f"mlflow_version: {installed.rpartition('-')[2]}" in lines


def _version_tags(metrics: dict, run_id: str, trained_in: str | None) -> dict:
    """nb2pipe's tags of a registered version: the run's metrics, the run, where the model
    was trained."""
    import json

    numbers = {k: float(v) for k, v in metrics.items()
               if isinstance(v, (int, float)) and not isinstance(v, bool)}
    return {METRICS_TAG: json.dumps(numbers, sort_keys=True), "nb2pipe.run": run_id,
            "nb2pipe.trained_in": trained_in or run_id}


def _flavour(model):
    from nb2pipe.modelfiles import NotLoggable, flavour

    try:
        return flavour(model)
    except NotLoggable as error:
        raise TrackingError(str(error)) from None


def conditions_of(pipeline) -> list[Condition]:
    return parse_all(pipeline.gate)
