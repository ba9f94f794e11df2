"""What makes a run level 1, for both engines: before it, the lineage and the validation
settings; after it, the validation verdict, new baselines, drift logged to MLflow, and the
model gate with the registry.

The steps validate their frames themselves (:mod:`nb2pipe.validation`); this module hands
them their baselines and reads their reports. The gate runs here for the papermill engine;
on Kubeflow (and ``--engine kfp-local``) it is a ``validate_model`` component with a
``dsl.If`` around registration, and this module only reads its decision.
"""

from __future__ import annotations

import json
import os
import shlex

from nb2pipe.run.record import RunRecord


def prepare(runner, record: RunRecord, folder: str, parameters: dict) -> dict | None:
    """Record the run's lineage; return what each step gets for data validation (``None``
    when validation is off)."""
    from nb2pipe.run.lineage import lineage
    from nb2pipe.run.validation import load_baselines, step_settings

    source = runner.source
    record.lineage = lineage(source, parameters, getattr(runner, "engine", "papermill"),
                             getattr(runner, "data_dir", None),
                             getattr(runner, "uploaded", False))
    options = runner.validation_options
    if source.notebook is not None or not options.enabled:
        record.validation = {"status": "off"}
        return None
    baselines = load_baselines(source.folder)
    hint = (f"If the new data is right, accept it: nb2pipe baseline "
            f"{shlex.quote(os.path.relpath(source.folder))} {record.run_id}")
    return step_settings(options, baselines, folder, hint)


class ModelPrefetch:
    """What registering the model needs, loaded in threads while the steps run (the runner
    mostly waits on the kernel then): MLflow, its map of packages and its stores from the
    moment the step that trains the model starts (not when the cache serves it: that model
    is most often registered already), the model and its input example once that step has
    succeeded. The gate finds them ready instead of spending seconds on imports, SQLAlchemy
    and unpickling after the last step. (On one core this only moves the work.)"""

    def __init__(self, runner, folder: str, record: RunRecord | None = None):
        pipeline = runner.source.pipeline
        self._model = pipeline.model if runner.register and runner.tracking_mode != "none" \
            and runner.source.notebook is None else None
        self._pipeline, self._folder = pipeline, folder
        self._runner, self._record = runner, record
        self._uri = runner.tracking_uri if self._model else None
        self._thread = self._warming = None
        self._result: tuple | None = None
        #: what the training step's kernel is asked to save (:func:`nb2pipe.runtime.keep_model`)
        self.plan: dict | None = None

    def step_starting(self, step_name: str) -> dict | None:
        """The step that trains the model is about to run (not from the cache): a model will
        be registered when the gate passes. In an SQLite store nb2pipe writes, the step's
        kernel is asked to save MLflow's files of the model (returned: what the step gets in
        its settings) and nothing loads here; otherwise MLflow loads now, while the step
        trains."""
        if not self._model or self._model["step"] != step_name or self._warming is not None \
                or self.plan is not None:
            return None
        try:
            self.plan = self._plan()
        except Exception:  # noqa: BLE001 (the tracker failed to open: the run reports it)
            self.plan = None
        if self.plan is not None:
            return self.plan
        import threading

        self._warming = threading.Thread(target=self._warm, name="nb2pipe-mlflow-warm",
                                         daemon=True)
        self._warming.start()

    def _plan(self) -> dict | None:
        """The model's id, its files' place, and the pipeline run's MLflow run id, chosen now
        so that the kernel's MLmodel names them; ``None`` when MLflow logs the model."""
        from nb2pipe.tracking.sqlite import SqliteTracker, model_location, new_model_id

        if self._record is None or self._model is None:
            return None
        future = getattr(self._runner, "_tracker_future", None)
        if future is None or not future.done():
            return None  # (a store still opening, or a server: the step does not wait for it)
        tracker = self._runner.tracker
        if not isinstance(tracker, SqliteTracker):
            return None
        parent = self._record.tracking.get("run_id") or self._runner.planned_parent(
            self._record.run_id)
        model_id = new_model_id()
        step = self._pipeline.step(self._model["step"])
        return {"id": model_id, "run_id": parent, "folder": os.path.join(self._folder, "model"),
                "artifact_location": model_location(tracker.location, model_id),
                "input": self._model.get("input"),
                "producer": step.inputs.get(self._model.get("input") or "")}

    def step_done(self, step_name: str) -> None:
        if not self._model or self._model["step"] != step_name or self._thread is not None \
                or self.plan is not None:
            return
        import threading

        self._thread = threading.Thread(target=self._load, name="nb2pipe-model-prefetch",
                                        daemon=True)
        self._thread.start()

    def _warm(self) -> None:
        try:
            from nb2pipe.tracking.loading import import_mlflow, importing

            import_mlflow()
            with importing():
                from mlflow.models import infer_signature  # noqa: F401
                # MLflow maps the installed distributions to their modules when it logs a
                # model (0.6 s) and keeps the map for the process: filled now, from nb2pipe's
                # cache while the environment is unchanged.
                from mlflow.utils import requirements_utils

                from nb2pipe import packagemap

                packagemap.fill(requirements_utils)
                # and MLflow's stores for the run's URI (SQLAlchemy, the schema check: 1.5 s),
                # which MLflow keeps per URI: the registry's client finds them open
                from mlflow.tracking._model_registry import utils as registry_utils
                from mlflow.tracking._tracking_service import utils as tracking_utils

                tracking_utils._get_store(self._uri)
                registry_utils._get_store(self._uri, self._uri)
        except Exception:  # noqa: S110  (the registry opens them itself, and reports)
            pass

    def _load(self) -> None:
        try:
            from nb2pipe.tracking.loading import importing

            with importing():
                self._result = load_model(self._pipeline, self._folder)
                from nb2pipe.tracking.registry import _flavour

                _flavour(self._result[0])
        except Exception:  # noqa: S110  (the gate loads again, and reports what fails)
            pass

    def wait(self) -> None:
        """Until the thread has loaded what it loads. The level-1 checks after the run call it
        first: two threads importing the same packages at once (MLflow's, pandas') can meet
        their circular imports half-initialised."""
        for thread in (self._warming, self._thread):
            if thread is not None:
                thread.join()

    def result(self) -> tuple:
        """``(model, example)``: the thread's when it loaded them, else loaded now (so that
        an error is raised here, for the gate to report)."""
        if self._thread is not None:
            self._thread.join()
            if self._result is not None:
                return self._result
        return load_model(self._pipeline, self._folder)


def load_model(pipeline, folder: str) -> tuple:
    """The model the pipeline trained and the first rows of the frame it was fit on."""
    from nb2pipe.runtime import load, model_example

    model = pipeline.model
    artifacts = os.path.join(folder, "artifacts")
    producer = pipeline.step(model["step"]).inputs.get(model["input"]) \
        if model.get("input") else None
    return load(artifacts, model["step"], model["name"]), \
        model_example(artifacts, producer, model.get("input"))


def finish(runner, record: RunRecord, folder: str, gate_in_pipeline: bool = False,
           prefetch: ModelPrefetch | None = None) -> None:
    """After the steps: the validation verdict (and new baselines when the run succeeded),
    then the gate and the registry (unless the pipeline ran its own gate)."""
    from nb2pipe.run.validation import record_new_baselines, summary

    if record.validation.get("status") != "off":
        record.enter(folder, "validating data")
        result = summary(folder)
        frames = {f["frame"]: {k: f.get(k) for k in ("status", "failures", "drifted", "drift",
                                                   "rows")}
                  for f in result["frames"]}
        record.validation = {"status": result["status"], "frames": frames}
        from nb2pipe.run import drift_report

        report = drift_report.write(folder, result, runner.validation_options.drift_threshold,
                                    record.run_id)
        if report:
            record.validation["report"] = os.path.relpath(report, folder)
            if result["status"] in ("drifted", "failed"):
                runner.report(f"data validation report: {os.path.relpath(report)}")
        for name, frame in frames.items():
            for column in frame.get("drifted") or []:
                runner.report(f"warning: `{name}` drifted: column `{column}` has PSI "
                              f"{frame['drift'][column]:.2f} against its baseline "
                              f"(threshold {runner.validation_options.drift_threshold})")
        if record.status == "succeeded":
            new = record_new_baselines(runner.source.folder, folder, result["frames"])
            if new:
                record.validation["recorded"] = new
                runner.report(f"Recorded the data baseline of {len(new)} frame"
                              f"{'s' if len(new) != 1 else ''} in "
                              f"{os.path.join(os.path.relpath(runner.source.folder), 'validation')}"
                              f"/ ({', '.join(new)}): review and commit it")
    if gate_in_pipeline:
        decision = os.path.join(folder, "artifacts", "gate.json")
        if os.path.exists(decision):
            with open(decision, encoding="utf-8") as handle:
                record.gate = json.load(handle)
    elif record.status == "succeeded" and runner.source.notebook is None:
        pipeline = runner.source.pipeline
        if pipeline.model and runner.tracking_mode != "none" and runner.register:
            record.enter(folder, "registering the model")
        elif pipeline.gate:
            record.enter(folder, "checking the model gate")
        record.gate = _gate(runner, record, folder, prefetch)
    record.enter(folder, None)


def _gate(runner, record: RunRecord, folder: str,
          prefetch: ModelPrefetch | None = None) -> dict:
    """Check the run's metrics and register the model when they pass."""
    from nb2pipe.pipeline.gate import parse_all
    from nb2pipe.tracking import TrackingError

    pipeline = runner.source.pipeline
    model = pipeline.model
    conditions = parse_all(pipeline.gate)
    if not conditions and not model:
        return {}
    parent = record.tracking.get("run_id")
    registry = None
    champion = None
    if parent and runner.register:
        from nb2pipe.tracking.registry import Registry

        registry = Registry(runner.tracker.uri, pipeline.name)
        champion = registry.champion()
    from nb2pipe.tracking.registry import evaluate

    decision = evaluate(conditions, record.metrics, champion)
    if not decision.passed:
        return decision.to_dict()
    if registry is None:
        decision.note = "not registered: tracking is off" if not parent else \
            "not registered: --no-register"
        return decision.to_dict()
    if not model:
        decision.note = "not registered: nb2pipe found no trained model in the pipeline"
        return decision.to_dict()
    step = record.steps.get(model["step"])
    trained_in = step.cached_from if step is not None else None
    if trained_in:  # the same model as an earlier run's (the step cache): registered once
        known = next((v for v in registry.versions() if v.get("trained_in") == trained_in),
                     None)
        if known:
            decision.note = (f"not registered again: the model is the one trained in run "
                             f"{trained_in} (step `{model['step']}` reused from the cache), "
                             f"version {known['version']}")
            return decision.to_dict()
    plan = prefetch.plan if prefetch is not None and not trained_in else None
    version = None
    if plan is not None and os.path.isdir(plan["folder"]):
        # the training step's kernel saved MLflow's files of the model: logged and
        # registered as log_model would, without loading MLflow, the model or its libraries
        version = registry.register_saved(plan["folder"], plan["id"], parent, record.metrics,
                                          record.run_id)
    try:
        if version is None:
            value, example = prefetch.result() if prefetch is not None else \
                load_model(pipeline, folder)
            version = registry.register(value, parent, example, record.metrics, record.run_id,
                                        trained_in)
    except (TrackingError, FileNotFoundError) as error:
        decision.note = f"not registered: {error}"
        return decision.to_dict()
    finally:
        if plan is not None:  # (what MLflow logged instead, or nothing: the files go)
            import shutil

            shutil.rmtree(plan["folder"], ignore_errors=True)
    decision.registered = {"name": pipeline.name, "version": version}
    return decision.to_dict()


def log_to_tracker(runner, record: RunRecord, folder: str) -> None:
    """Drift as metrics, the validation report and the gate's decision as tags and files, in
    the run's MLflow run; the data files read as MLflow datasets (lineage)."""
    parent = record.tracking.get("run_id")
    if not parent:
        return
    tracker = runner.tracker
    if not hasattr(tracker, "log"):
        return
    import time

    stamp = int(time.time() * 1000)
    metrics, tags = [], {}
    for name, frame in (record.validation.get("frames") or {}).items():
        for column, value in (frame.get("drift") or {}).items():
            metrics.append((_metric_name(f"drift.{name}.{column}"), float(value), stamp, 0))
    if record.validation.get("status"):
        tags["nb2pipe.validation"] = record.validation["status"]
    if record.gate:
        tags["nb2pipe.gate"] = "passed" if record.gate.get("passed") else "failed"
        tags["nb2pipe.gate.reasons"] = "; ".join(record.gate.get("reasons", []))[:5000]
        if record.gate.get("registered"):
            tags["nb2pipe.model.version"] = str(record.gate["registered"]["version"])
    lineage = record.lineage or {}
    tags["nb2pipe.fingerprint"] = lineage.get("fingerprint", "")
    tracker.log(parent, metrics=metrics, tags=tags)
    for name in ("validation.json", "validation.html"):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            tracker.log_artifact(parent, path)
    files = [d for d in lineage.get("data", []) if d.get("sha256") or d.get("etag")]
    if files:  # lineage in MLflow's UI: each data file hashed, a dataset of the run
        tracker.log_files_read(parent, files, runner.source.work_dir)


def _metric_name(name: str) -> str:
    """MLflow metric names allow letters, digits, ``_ - . /`` and spaces."""
    import re

    return re.sub(r"[^A-Za-z0-9_\-. /]", "_", name)[:250]
