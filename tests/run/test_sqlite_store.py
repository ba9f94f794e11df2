"""nb2pipe's own writer into MLflow's SQLite store writes what MLflow's client writes.

The same calls go through :class:`MlflowTracker` (MLflow's client) into one store and through
:class:`SqliteTracker` (``sqlite3``) into another; MLflow's client then reads both back, and
what it reads must be the same, run ids and times aside. Both stores are made by MLflow."""

from __future__ import annotations

import contextlib
import math
import os
import re
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

mlflow = pytest.importorskip("mlflow")

from nb2pipe.tracking import make_tracker  # noqa: E402
from nb2pipe.tracking.mlflow import MlflowTracker  # noqa: E402
from tests.helpers import two_mlflow_stores  # noqa: E402
from nb2pipe.tracking.sqlite import (  # noqa: E402
    KNOWN_REVISIONS,
    SqliteTracker,
    open_tracker,
    revision,
)


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """Two stores MLflow made (with an experiment each, as ``nb2pipe run``'s first run)."""
    folder = tmp_path_factory.mktemp("stores")
    return folder, two_mlflow_stores(folder, ("client", "direct"), "first")


def test_the_schema_of_the_installed_mlflow_is_one_the_writer_knows(stores):
    """A new MLflow with another schema revision fails here until its tables are checked
    (and this comparison passes on them): until then nb2pipe writes through MLflow."""
    _, uris = stores
    assert revision(uris[1][len("sqlite:///"):]) in KNOWN_REVISIONS


names = st.sampled_from(["accuracy", "f1", "loss", "val/loss", "a.b", "n 2", "x:y", "é", "../up",
                         "a//b", "mlflow.runName"])
floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64),
                   st.integers(-10**6, 10**6).map(float))
metric = st.tuples(names, floats, st.integers(0, 5).map(lambda t: 1_700_000_000_000 + t),
                   st.integers(0, 3))
text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)),
               max_size=30) | st.sampled_from(["x" * 6000, "y" * 8000, "z" * 8001])
operation = st.one_of(
    st.tuples(st.just("metrics"), st.lists(metric, max_size=6)),
    st.tuples(st.just("params"), st.dictionaries(names, text, max_size=3)),
    st.tuples(st.just("tags"), st.dictionaries(names, text, max_size=3)),
    st.tuples(st.just("artifact"), st.sampled_from(["a.txt", "b.json"]),
              st.sampled_from([None, "notebooks", "model"])),
    st.tuples(st.just("inputs"), st.lists(st.tuples(
        st.sampled_from(["dataset", "train.csv", "d" * 501]),
        st.sampled_from(["b896e2b0", "18db11a9", "e" * 37]),
        st.sampled_from(["train", "eval", "c" * 501])), max_size=3)),
)


def _apply(tracker, run_id: str, op, files) -> str | None:
    """One call; what went wrong, by type, when it did (both must fail alike)."""
    try:
        kind = op[0]
        if kind == "metrics":
            tracker.log(run_id, metrics=op[1])
        elif kind == "params":
            tracker.log(run_id, params=op[1])
        elif kind == "tags":
            tracker.log(run_id, tags=op[1])
        elif kind == "artifact":
            tracker.log_artifact(run_id, str(files / op[1]), op[2])
        else:
            tracker.log_inputs(run_id, [
                {"dataset": {"name": name, "digest": digest, "sourceType": "local",
                             "source": '{"uri": "/data/train.csv"}'},
                 "tags": [{"key": "mlflow.data.context", "value": context}]}
                for name, digest, context in op[1]])
    except Exception:  # noqa: BLE001 - MLflow rejects some; the writer must reject them too
        return "rejected"
    return None


def _read(uri: str, experiment: str) -> list:
    client = mlflow.MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    runs = client.search_runs([found.experiment_id], order_by=["attributes.run_name"])
    names = {run.info.run_id: run.info.run_name for run in runs}
    seen = []
    for run in runs:
        run_id = run.info.run_id
        tags = {k: (names.get(v, v) if k == "mlflow.parentRunId" else v)
                for k, v in run.data.tags.items()}
        history = {key: sorted((m.step, _stamp(m.timestamp), _number(m.value))
                               for m in client.get_metric_history(run_id, key))
                   for key in run.data.metrics}
        root = run.info.artifact_uri[len("file://"):]
        files = sorted(os.path.relpath(os.path.join(where, name), root)
                       for where, _, listed in os.walk(root) for name in listed)
        inputs = sorted((d.dataset.name, d.dataset.digest, d.dataset.source_type,
                         d.dataset.source, d.dataset.schema, d.dataset.profile,
                         tuple(sorted((t.key, t.value) for t in d.tags)))
                        for d in run.inputs.dataset_inputs)
        seen.append({"name": run.info.run_name, "status": run.info.status,
                     "stage": run.info.lifecycle_stage, "user": run.info.user_id,
                     "start": run.info.start_time is not None,
                     "ended": run.info.end_time is not None,
                     "artifacts": run.info.artifact_uri.endswith(f"/{run_id}/artifacts"),
                     "params": run.data.params, "tags": tags,
                     "metrics": {k: _number(v) for k, v in run.data.metrics.items()},
                     "history": history, "files": files, "inputs": inputs})
    return seen


def _stamp(millis: int):
    """The times the test gives, as they are; "now" for those the trackers take."""
    return millis if 1_700_000_000_000 <= millis < 1_700_000_001_000 else "now"


def _number(value: float):
    return "nan" if math.isnan(value) else value


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(parameters=st.dictionaries(st.sampled_from(["N", "seed", "path"]),
                                  st.integers() | st.text(max_size=10), max_size=3),
       steps=st.lists(st.tuples(st.sampled_from(["load", "train", "evaluate"]),
                                st.lists(operation, max_size=6),
                                st.sampled_from(["succeeded", "failed"])),
                      max_size=3, unique_by=lambda s: s[0]),
       final=st.dictionaries(names, floats, max_size=3), batch=st.booleans())
def test_the_writer_and_mlflows_client_leave_the_same_runs(stores, parameters, steps, final,
                                                           batch):
    """(``batch``: the writer's calls in one transaction, as ``nb2pipe run`` makes them at the
    end of a run; MLflow's client, for what the writer leaves to it, writes between.)"""
    folder, uris = stores
    experiment = f"pipeline-{len(os.listdir(folder))}-{os.urandom(4).hex()}"
    files = folder / "files"
    files.mkdir(exist_ok=True)
    (files / "a.txt").write_text("a")
    (files / "b.json").write_text("{}")
    outcomes = []
    for uri in uris:
        mlflow.MlflowClient(tracking_uri=uri).create_experiment(
            experiment, artifact_location="file://" + os.path.dirname(uri[len("sqlite:///"):])
            + "/mlruns")
        tracker = MlflowTracker(uri, experiment) if uri.endswith("client/mlflow.db") else \
            open_tracker(uri, experiment)
        assert tracker is not None
        with tracker.batch() if batch and isinstance(tracker, SqliteTracker) else \
                contextlib.nullcontext():
            rejected = _calls(tracker, parameters, steps, final, files)
        outcomes.append((rejected, _read(uri, experiment)))
    assert outcomes[0] == outcomes[1]


def _calls(tracker, parameters, steps, final, files) -> list:
    """What ``nb2pipe run`` asks of a tracker; which calls were rejected."""
    parent = tracker.start("pipe 1", parameters, {"nb2pipe.pipeline": "pipe"},
                           1_700_000_000_000)
    rejected: list = []
    for name, operations, status in steps:
        child = tracker.step(parent, name, 1_700_000_000_100, tags={"nb2pipe.cached_from": "r0"})
        rejected.append([_apply(tracker, child, op, files) for op in operations])
        tracker.end_step(child, status, None, [str(files / "a.txt")], {"m": 1.0},
                         1_700_000_000_900)
    try:  # a metric name MLflow refuses fails the end alike
        tracker.end(parent, "succeeded", final, [str(files / "b.json")])
    except Exception:  # noqa: BLE001
        rejected.append("end rejected")
    return rejected


def _dump(path: Path, folder: Path) -> list[str]:
    """The whole database as SQL statements, its folder and the times (milliseconds) masked,
    in order. Two stores MLflow makes differ in ways that mean nothing, and they are
    normalised: the order of their indexes, of a table's constraints and of the values in a
    CHECK's ``IN (…)`` (MLflow's migrations list them from Python sets, in the order of the
    process's string hashes)."""
    with sqlite3.connect(path) as connection:
        lines = list(connection.iterdump())

    def normal(line: str) -> str:
        line = re.sub(r"\b1[6-9]\d{11}\b", "<ms>", line.replace(str(folder), "<folder>"))
        line = re.sub(r"IN \(([^()]*)\)", lambda m: "IN (" + ", ".join(
            sorted(v.strip() for v in m.group(1).split(","))) + ")", line)
        if line.startswith("CREATE TABLE"):  # one clause a line: the clauses as a set
            line = "\n".join(sorted(part.strip().rstrip(",").strip()
                                    for part in line.splitlines()))
        return line

    return sorted(normal(line) for line in lines)


def test_a_new_store_is_the_one_mlflow_would_make(tmp_path, monkeypatch):
    """The first run in a folder copies this machine's template of an empty store (made once
    by MLflow) and adds the experiment: the same database, table by table and row by row, as
    MLflow makes in the same place; MLflow is not loaded."""
    monkeypatch.setenv("NB2PIPE_STORE_TEMPLATES", str(tmp_path / "templates"))
    by_mlflow, by_nb2pipe = tmp_path / "by-mlflow", tmp_path / "by-nb2pipe"
    for folder in (by_mlflow, by_nb2pipe):
        folder.mkdir()
    monkeypatch.chdir(by_mlflow)
    MlflowTracker(f"sqlite:///{by_mlflow / 'mlflow.db'}", "pipe")
    monkeypatch.chdir(by_nb2pipe)
    assert isinstance(make_tracker("mlflow", str(by_nb2pipe), "pipe"), SqliteTracker)
    assert _dump(by_nb2pipe / "mlflow.db", by_nb2pipe) == \
        _dump(by_mlflow / "mlflow.db", by_mlflow)
    assert list((tmp_path / "templates").iterdir())  # made once, for the next new store
    assert not [p for p in by_nb2pipe.iterdir() if p.name != "mlflow.db"]  # no partial copy
    # and a second pipeline in the same store: its experiment as MLflow makes it
    monkeypatch.chdir(by_mlflow)
    MlflowTracker(f"sqlite:///{by_mlflow / 'mlflow.db'}", "other")
    monkeypatch.chdir(by_nb2pipe)
    assert isinstance(make_tracker("mlflow", str(by_nb2pipe), "other"), SqliteTracker)
    assert _dump(by_nb2pipe / "mlflow.db", by_nb2pipe) == \
        _dump(by_mlflow / "mlflow.db", by_mlflow)


def test_mlflows_client_is_used_when_asked(tmp_path, monkeypatch):
    monkeypatch.setenv("NB2PIPE_STORE_TEMPLATES", str(tmp_path / "templates"))
    monkeypatch.setenv("NB2PIPE_MLFLOW_CLIENT", "1")
    assert isinstance(make_tracker("mlflow", str(tmp_path), "pipe"), MlflowTracker)
    assert not (tmp_path / "templates").exists()


def test_a_store_at_another_schema_revision_goes_through_mlflow(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    MlflowTracker(uri, "pipe")
    with sqlite3.connect(tmp_path / "mlflow.db") as connection:
        connection.execute("UPDATE alembic_version SET version_num = 'somethingnew'")
    assert open_tracker(uri, "pipe") is None
    assert open_tracker(uri.replace("mlflow.db", "absent.db"), "pipe") is None


def test_an_experiment_whose_files_are_elsewhere_goes_through_mlflow(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    MlflowTracker(uri, "first")
    mlflow.MlflowClient(tracking_uri=uri).create_experiment(
        "on-s3", artifact_location="s3://bucket/runs")
    assert open_tracker(uri, "on-s3") is None
    assert open_tracker(uri, "not-made-yet") is None
    assert open_tracker(uri, "first") is not None


registry_operation = st.one_of(
    st.tuples(st.just("version"), st.booleans(), st.booleans()),
    st.tuples(st.just("alias"), st.sampled_from(["champion", "previous"]), st.integers(1, 4)),
    st.tuples(st.just("delete"), st.integers(1, 4)),
)


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(operations=st.lists(registry_operation, max_size=8))
def test_the_registry_reads_what_mlflows_client_reads(stores, operations, monkeypatch):
    """The gate's reads (the champion, the versions) without MLflow, as MLflow answers them."""
    from nb2pipe.tracking.registry import Registry

    _, uris = stores
    uri = uris[1]
    name = f"model-{os.urandom(4).hex()}"
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.get_experiment_by_name("first").experiment_id
    run = client.create_run(experiment, run_name="trained")
    client.log_batch(run.info.run_id, metrics=[mlflow.entities.Metric("accuracy", 0.9, 1, 0),
                                               mlflow.entities.Metric("loss", math.nan, 1, 0)])
    client.create_registered_model(name)
    for op in operations:
        try:
            if op[0] == "version":
                version = client.create_model_version(
                    name, f"runs:/{run.info.run_id}/model",
                    run_id=run.info.run_id if op[1] else None)
                if op[2]:
                    client.set_model_version_tag(name, version.version, "nb2pipe.metrics",
                                                 '{"accuracy": 0.5}')
                    client.set_model_version_tag(name, version.version, "nb2pipe.run", "r1")
            elif op[0] == "alias":
                client.set_registered_model_alias(name, op[1], str(op[2]))
            else:
                client.delete_model_version(name, str(op[1]))
        except mlflow.exceptions.MlflowException:
            pass  # an alias to a version that is not there: MLflow refuses, nothing changes
    direct = Registry(uri, name)
    assert direct._reader is not None and direct._client is None
    with monkeypatch.context() as patch:  # (one patch per example)
        patch.setenv("NB2PIPE_MLFLOW_CLIENT", "1")
        through_mlflow = Registry(uri, name)
        assert through_mlflow._reader is None

    def seen(registry):
        rows = registry.versions()
        for row in rows:
            row["metrics"] = {k: ("nan" if math.isnan(v) else v)
                              for k, v in row["metrics"].items()}
        champion = registry.champion()
        if champion:
            champion["metrics"] = {k: ("nan" if math.isnan(v) else v)
                                   for k, v in champion["metrics"].items()}
        return champion, rows

    assert seen(direct) == seen(through_mlflow)
    assert direct._client is None  # reading never opened MLflow
