"""A model registered from the files its training kernel saved is the model MLflow registers.

``nb2pipe run`` asks the step that trains the model to save MLflow's files of it (MLflow's own
``save_model``, :func:`nb2pipe.modelfiles.save_files`); when the gate passes, the runner
logs and registers them with :class:`nb2pipe.tracking.sqlite.ModelRegistrar`, without loading
MLflow. Here the same model is registered both ways, into two stores MLflow made, from runs
with the same parameters and metrics; MLflow's client then reads both stores, and MLflow loads
both models: what it reads and predicts must be the same, ids and times aside."""

from __future__ import annotations

import math
import os

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

mlflow = pytest.importorskip("mlflow")
pd = pytest.importorskip("pandas")

from nb2pipe.tracking.loading import using  # noqa: E402
from nb2pipe.modelfiles import save_files  # noqa: E402
from nb2pipe.tracking.registry import Registry  # noqa: E402
from nb2pipe.tracking.sqlite import model_location, new_model_id, open_tracker  # noqa: E402
from tests.helpers import two_mlflow_stores  # noqa: E402


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    folder = tmp_path_factory.mktemp("registrar")
    return folder, two_mlflow_stores(folder, ("mlflow", "direct"), "models")


def _model(kind: str, frame):
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    numbers = frame.select_dtypes("number")
    labels = (numbers.sum(axis=1).rank(method="first") > len(numbers) // 2).astype(int)
    if kind == "logistic":
        return LogisticRegression(max_iter=200).fit(numbers, labels), numbers
    if kind == "tree":
        return DecisionTreeClassifier(max_depth=3, random_state=0).fit(numbers, labels), numbers
    if kind == "pipeline":
        return make_pipeline(StandardScaler(), LogisticRegression()).fit(numbers, labels), \
            numbers
    return LinearRegression().fit(numbers, numbers.sum(axis=1) * 0.5), numbers


frames = st.fixed_dictionaries({
    "a": st.lists(st.floats(-100, 100), min_size=12, max_size=12),
    "b": st.lists(st.integers(-5, 5), min_size=12, max_size=12),
    "c": st.lists(st.sampled_from(["x", "y"]), min_size=12, max_size=12),
}).map(lambda columns: pd.DataFrame(columns))
metric_names = st.sampled_from(["accuracy", "f1", "loss", "val/loss", "r2"])
metrics = st.lists(st.tuples(metric_names, st.floats(-1e6, 1e6, allow_nan=False),
                             st.integers(0, 3), st.integers(0, 1)), max_size=5,
                   unique_by=lambda m: (m[0], m[2]))  # (the same time twice: MLflow fails)
params = st.dictionaries(st.sampled_from(["SEED", "N", "path", "alpha"]),
                         st.text(alphabet="abc0123456789./", max_size=12), max_size=3)


@settings(max_examples=6, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(frame=frames, kind=st.sampled_from(["logistic", "tree", "pipeline", "linear"]),
       logged=metrics, parameters=params, with_example=st.booleans(),
       registrations=st.integers(1, 2))
def test_a_model_registered_from_its_saved_files_is_the_one_mlflow_registers(
        stores, tmp_path, frame, kind, logged, parameters, with_example, registrations):
    folder, uris = stores
    name = f"model-{os.urandom(4).hex()}"
    model, numbers = _model(kind, frame)
    example = numbers[:5] if with_example else None
    seen = []
    for uri, direct in zip(uris, (False, True)):
        tracker = open_tracker(uri, "models")
        registry = Registry(uri, name)
        for number in range(registrations):
            parent = tracker.start(f"run {number}", parameters, {"nb2pipe.pipeline": name})
            tracker.log(parent, metrics=[(k, v, 1_700_000_000_000 + t, s)
                                         for k, v, t, s in logged])
            run_metrics = {k: v for k, v, *_ in logged}
            if direct:
                model_id = new_model_id()
                saved = str(tmp_path / f"saved-{number}")
                save_files(model, example, saved, model_id,
                           model_location(tracker.location, model_id), parent)
                version = registry.register_saved(saved, model_id, parent, run_metrics,
                                                  f"r{number}")
                assert version is not None, "the registrar refused a plain model"
                assert not os.path.exists(saved)  # (moved into the store's folder)
            else:
                version = registry.register(model, parent, example, run_metrics, f"r{number}")
            assert version == number + 1
        seen.append(_read(uri, name, numbers[:5]))
    assert seen[0] == seen[1]


def _read(uri: str, name: str, rows) -> dict:
    """What MLflow's client reads of the registered model ``name``, and what it predicts."""
    import yaml

    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    registered = client.get_registered_model(name)
    versions = []
    for version in sorted(client.search_model_versions(f"name='{name}'"),
                          key=lambda v: int(v.version)):
        model_id = version.source.removeprefix("models:/")
        logged = client.get_logged_model(model_id)
        run = client.get_run(version.run_id)
        assert logged.source_run_id == version.run_id
        with using(uri):  # (MLflow resolves `models:/<id>` with its default client)
            assert client.get_model_version_download_uri(name, version.version) == \
                logged.artifact_location
        assert logged.artifact_location.endswith(f"/models/{model_id}/artifacts")
        root = logged.artifact_location.removeprefix("file://")
        files = sorted(os.listdir(root))
        with open(os.path.join(root, "MLmodel"), encoding="utf-8") as handle:
            described = yaml.safe_load(handle)
        assert described.pop("model_id") == described.pop("model_uuid") == model_id
        assert described.pop("run_id") == version.run_id
        assert described.pop("artifact_path") == logged.artifact_location
        described.pop("utc_time_created")
        with using(uri):
            loaded = mlflow.pyfunc.load_model(f"models:/{name}/{version.version}")
        predicted = [round(float(x), 9) for x in loaded.predict(rows)]
        versions.append({
            "version": version.version, "status": version.status,
            "stage": version.current_stage, "tags": version.tags,
            "description": version.description, "user": version.user_id,
            "run_name": run.info.run_name,
            "outputs": [(o.model_id == model_id, o.step) for o in run.outputs.model_outputs],
            "logged": {"name": logged.name, "status": str(logged.status),
                       "type": logged.model_type,
                       "params": logged.params, "tags": logged.tags,
                       "metrics": sorted((m.key, _number(m.value), m.step, m.timestamp)
                                         for m in logged.metrics or [])},
            "files": files, "MLmodel": described, "predicted": predicted})
    return {"name": registered.name, "aliases": registered.aliases, "versions": versions}


def _number(value: float):
    return "nan" if math.isnan(value) else value


def test_what_mlflow_must_log_is_left_to_it(stores, tmp_path):
    """A run whose metrics MLflow would copy otherwise (NaN), or files MLflow did not save
    for this model and run: the registrar declines, writes nothing, and the files stay."""
    _, uris = stores
    uri = uris[1]
    tracker = open_tracker(uri, "models")
    name = f"model-{os.urandom(4).hex()}"
    registry = Registry(uri, name)
    model, numbers = _model("logistic", pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0] * 3,
                                                      "b": [1, 0, 1, 0] * 3}))
    parent = tracker.start("run", {}, {})
    model_id = new_model_id()
    saved = str(tmp_path / "saved")
    save_files(model, numbers[:2], saved, model_id, model_location(tracker.location, model_id),
               parent)
    assert registry.register_saved(saved, model_id, "another-run", {}, "r") is None
    assert registry.register_saved(saved, new_model_id(), parent, {}, "r") is None
    tracker.log(parent, metrics=[("loss", math.nan, 1_700_000_000_000, 0)])
    assert registry.register_saved(saved, model_id, parent, {}, "r") is None
    other = tracker.start("run", {}, {})
    tracker.log(other, metrics=[("f1", 0.5, 1_700_000_000_000, 0),
                                ("f1", 0.6, 1_700_000_000_000, 0)])
    assert registry.register_saved(saved, model_id, other, {}, "r") is None
    assert os.path.exists(os.path.join(saved, "MLmodel"))
    assert registry.versions() == []
