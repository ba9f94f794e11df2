"""scikit-learn's autologging as a step's kernel sets it up (nb2pipe.runtime.autolog_frameworks):
without training plots (unless asked), it logs what MLflow's own autologging logs, and it no
longer loads matplotlib for plots it does not draw. Real MLflow, real fits, generated data."""

import json
import os
import re
import subprocess
import sys

from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from tests.helpers import without_stamps

# One process fits every case twice: through nb2pipe's set-up, then through MLflow's own
# function for an estimator's content (plots off the way nb2pipe turns them off), each case
# into a run of its own logged through nb2pipe's buffer; it prints what each run logged.
SCRIPT = r'''
import json, os, sys, uuid

import numpy as np
import mlflow
from mlflow.sklearn import utils
from sklearn.cluster import KMeans
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from nb2pipe.autologbuffer import buffer_uri, read_entries, register
from nb2pipe.runtime import autolog_frameworks

cases, folder = json.loads(sys.argv[1]), sys.argv[2]
original = utils._log_specialized_estimator_content
original_content = utils._log_estimator_content
scored = []  # the rows of each call of a logistic regression's decision function
decision_function = LogisticRegression.decision_function


def counted(self, X):
    scored.append(len(X))
    return decision_function(self, X)


LogisticRegression.decision_function = counted
assert register()
autolog_frameworks(mlflow, ["sklearn"])
ours = utils._log_specialized_estimator_content
MODELS = {"logistic": lambda: LogisticRegression(max_iter=200),
          "tree": lambda: DecisionTreeClassifier(random_state=0),
          "linear": LinearRegression, "kmeans": lambda: KMeans(2, n_init=1, random_state=0)}


def logged(tag):
    runs = []
    calls[tag] = []
    for number, case in enumerate(cases):
        rng = np.random.default_rng(case["seed"])
        X = rng.normal(size=(case["rows"], case["columns"]))
        if case["model"] == "linear":
            y = X @ rng.normal(size=case["columns"]) + rng.normal(size=case["rows"])
        else:
            y = np.arange(case["rows"]) % case["classes"]
        path = os.path.join(folder, f"{tag}-{number}.jsonl")
        run_id = uuid.uuid4().hex
        artifacts = os.path.join(folder, f"{tag}-{number}")
        mlflow.set_tracking_uri(buffer_uri(path, run_id, "0", "file://" + artifacts))
        mlflow.start_run(run_id=run_id)
        try:
            model = MODELS[case["model"]]()
            if case["model"] == "kmeans":
                model.fit(X)
            elif case["weights"]:
                model.fit(X, y, sample_weight=rng.uniform(0.5, 2, size=case["rows"]))
            else:
                model.fit(X, y)
        finally:
            mlflow.end_run()
        page = os.path.join(artifacts, "estimator.html")
        runs.append(read_entries(path) + [open(page).read() if os.path.exists(page) else None])
        calls[tag].append(len(scored))
        scored.clear()
        kept.extend(set(vars(model)) & {"predict", "predict_proba", "decision_function"})
    return runs


calls, kept = {}, []
result = {"ours": logged("ours"), "pyplot": "matplotlib.pyplot" in sys.modules,
          "replaced": ours is not original}
utils._log_specialized_estimator_content = original
utils._log_estimator_content = original_content
mlflow.sklearn.autolog(log_models=False, silent=True)  # (binds MLflow's own content logging)
result["mlflow"] = logged("mlflow")
result["calls"] = calls
result["kept"] = kept  # (what the fitted models hold of the predictions made once)
print(json.dumps(result))
'''

def numbered(page: str) -> str:
    """scikit-learn's HTML page of an estimator with its element ids (a counter of the
    process) renumbered from 0 and objects' addresses left out."""
    ids: dict[str, str] = {}
    page = re.sub(r"sk-[a-z]+-id-\d+", lambda m: ids.setdefault(m[0], f"id{len(ids)}"), page)
    return re.sub(r"[0-9a-f]{8,}", "…", page)  # (an address, perhaps cut: "…x7fa59ff03ad0")


CASES = st.fixed_dictionaries({
    "model": st.sampled_from(["logistic", "tree", "linear", "kmeans"]),
    "rows": st.integers(8, 40), "columns": st.integers(1, 4), "classes": st.integers(2, 3),
    "weights": st.booleans(), "seed": st.integers(0, 2**16)})


@settings(max_examples=2, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(CASES, min_size=4, max_size=8))
def test_autologging_without_plots_logs_what_mlflow_logs_and_loads_no_matplotlib(
        tmp_path_factory, cases):
    folder = tmp_path_factory.mktemp("autolog")
    done = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(cases), str(folder)],
                          capture_output=True, text=True, cwd=folder, timeout=300,
                          env={"MLFLOW_DISABLE_TELEMETRY": "true",
                               **{k: v for k, v in os.environ.items()
                                  if k != "NB2PIPE_AUTOLOG_PLOTS"}})
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["replaced"]
    # a classifier's fit with no plot to draw imports no matplotlib
    assert not result["pyplot"]
    for number, (case, ours, theirs) in enumerate(zip(cases, result["ours"], result["mlflow"])):
        ours, page = ours[:-1], ours[-1]
        theirs, their_page = theirs[:-1], theirs[-1]
        assert without_stamps(ours) == without_stamps(theirs), case
        assert page and numbered(page) == numbered(their_page), case  # estimator.html
        if case["model"] != "kmeans":  # the training metrics are there
            assert any(m[0].startswith("training_") for e in ours for m in e.get("metrics", []))
        if case["model"] == "logistic":  # the training set's scores are computed once
            assert result["calls"]["ours"][number] == 1, case
            assert result["calls"]["mlflow"][number] > 1, case
    assert result["kept"] == []  # the models keep no trace of it


# The same fits, plain and through nb2pipe's set-up (plots off, then on): the warnings each
# raised, as a user's cell would show them.
WARNINGS_SCRIPT = r'''
import json, os, sys, uuid, warnings

import numpy as np
import mlflow
from sklearn.cluster import KMeans
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from nb2pipe.autologbuffer import buffer_uri, register
from nb2pipe.runtime import autolog_frameworks

cases, folder = json.loads(sys.argv[1]), sys.argv[2]
MODELS = {"logistic": lambda: LogisticRegression(max_iter=3),  # (it warns: no convergence)
          "tree": lambda: DecisionTreeClassifier(random_state=0),
          "linear": LinearRegression, "kmeans": lambda: KMeans(2, n_init=1, random_state=0)}


def heard(tracked):
    seen = []
    for number, case in enumerate(cases):
        rng = np.random.default_rng(case["seed"])
        X = rng.normal(size=(case["rows"], case["columns"]))
        y = X @ rng.normal(size=case["columns"]) if case["model"] == "linear" else \
            np.arange(case["rows"]) % case["classes"]
        if tracked:
            run_id = uuid.uuid4().hex
            mlflow.set_tracking_uri(buffer_uri(os.path.join(folder, f"{run_id}.jsonl"),
                                               run_id, "0", "file://" + folder))
            mlflow.start_run(run_id=run_id)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = MODELS[case["model"]]()
            model.fit(X) if case["model"] == "kmeans" else model.fit(X, y)
        if tracked:
            mlflow.end_run()
        seen.append(sorted({f"{w.category.__name__}: {str(w.message)[:80]}" for w in caught}))
    return seen


plain = heard(False)
assert register()
autolog_frameworks(mlflow, ["sklearn"])
print(json.dumps({"plain": plain, "tracked": heard(True)}))
'''


@settings(max_examples=2, deadline=None, suppress_health_check=list(HealthCheck),
          phases=[Phase.explicit, Phase.reuse, Phase.generate])  # (no minutes of shrinking)
@given(st.lists(CASES, min_size=3, max_size=6), st.booleans())
def test_autologging_adds_no_warning_to_a_fit(tmp_path_factory, cases, plots):
    """What autologging computes after a fit (training metrics, plots) shows the user no
    warning the fit itself did not raise: scikit-learn 1.9 warned, under every classifier's
    fit, about an argument MLflow passes to `log_loss`."""
    folder = tmp_path_factory.mktemp("warnings")
    environment = {k: v for k, v in os.environ.items() if k != "NB2PIPE_AUTOLOG_PLOTS"}
    if plots:
        environment["NB2PIPE_AUTOLOG_PLOTS"] = "1"
    done = subprocess.run([sys.executable, "-c", WARNINGS_SCRIPT, json.dumps(cases),
                           str(folder)], capture_output=True, text=True, cwd=folder,
                          timeout=300, env={"MLFLOW_DISABLE_TELEMETRY": "true", **environment})
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["tracked"] == result["plain"]


# Several fits in one step's run, as an elbow loop makes them (the same parameter, another
# value): autologged into nb2pipe's buffer and written by the runner, and autologged by MLflow
# straight into its own store; MLflow's client reads both runs.
ONE_RUN_SCRIPT = r'''
import json, os, sys, uuid

import numpy as np
import mlflow
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV

from nb2pipe.autologbuffer import buffer_uri, register, replay
from nb2pipe.runtime import autolog_frameworks
from nb2pipe.tracking.sqlite import open_tracker

fits, folder, uris = json.loads(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
assert register()
autolog_frameworks(mlflow, ["sklearn"])
rng = np.random.default_rng(0)
X = rng.normal(size=(30, 3))
y = np.arange(30) % 2


def fit_all():
    for kind, value in fits:
        if kind == "kmeans":
            KMeans(value, n_init=1, random_state=0).fit(X)
        elif kind == "search":  # a child run per candidate, the best in the step's run
            GridSearchCV(LogisticRegression(max_iter=200), {"C": value}, cv=2).fit(X, y)
        else:
            LogisticRegression(C=value, max_iter=200).fit(X, y)


tracker = open_tracker(uris["nb2pipe"], "steps")
run_id = tracker.step(tracker.start("run", {}, {}), "fit")
path = os.path.join(folder, "buffer.jsonl")
mlflow.set_tracking_uri(buffer_uri(path, run_id, "0", "file://" + folder))
mlflow.start_run(run_id=run_id)
fit_all()
mlflow.end_run()
tracker.replay(run_id, path)
mlflow.set_tracking_uri(uris["mlflow"])
client = mlflow.MlflowClient(uris["mlflow"])
experiment = client.get_experiment_by_name("steps").experiment_id
direct = client.create_run(experiment).info.run_id
mlflow.start_run(run_id=direct)
fit_all()
mlflow.end_run()
# the same through MLflow's client (NB2PIPE_MLFLOW_CLIENT=1, a tracking server)
through_client = client.create_run(experiment).info.run_id
mlflow.set_tracking_uri(buffer_uri(path, through_client, "0", "file://" + folder))
mlflow.start_run(run_id=through_client)
fit_all()
mlflow.end_run()
replay(client, through_client, path)


def held(uri, run):
    data = mlflow.MlflowClient(uri).get_run(run).data
    return {"params": data.params,
            "metrics": sorted((k, [round(m.value, 9) for m in
                                   mlflow.MlflowClient(uri).get_metric_history(run, k)])
                              for k in data.metrics if "time" not in k),
            "tags": {k: v for k, v in data.tags.items()
                     if not k.startswith(("mlflow.", "nb2pipe."))}}


def seen(uri, run):
    """The run, and its child runs (a parameter search's candidates), finished, in order."""
    children = mlflow.MlflowClient(uri).search_runs(
        [mlflow.MlflowClient(uri).get_run(run).info.experiment_id],
        f"tags.mlflow.parentRunId = '{run}'")
    return {"run": held(uri, run), "children": sorted(
        (json.dumps(held(uri, child.info.run_id), sort_keys=True), child.info.status)
        for child in children)}


print(json.dumps({"buffered": seen(uris["nb2pipe"], run_id), "mlflow": seen(uris["mlflow"], direct),
                  "client": seen(uris["mlflow"], through_client)}))
'''


@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck),
          phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(st.lists(st.one_of(st.tuples(st.just("kmeans"), st.integers(1, 4)),
                          st.tuples(st.just("logistic"), st.sampled_from([0.1, 1.0, 10.0])),
                          st.tuples(st.just("search"), st.lists(
                              st.sampled_from([0.01, 0.1, 1.0, 10.0]), min_size=1, max_size=3,
                              unique=True))),
                min_size=2, max_size=5))
@example(fits=[("search", [0.1, 1.0]), ("logistic", 1.0)])
def test_fits_in_one_run_log_what_mlflows_store_keeps(tmp_path_factory, fits):
    """A parameter MLflow will not change (a second fit's `n_clusters`) never fails the run's
    tracking: the buffer refuses the batch as MLflow's store does, and the run the runner
    writes has what MLflow's own autologging leaves in its store. A parameter search's
    candidates are child runs of the step's run, and its best score and parameters are the
    step's, as MLflow's autologging logs them (the buffer had dropped them all: it could not
    make a run)."""
    from tests.helpers import two_mlflow_stores

    folder = tmp_path_factory.mktemp("one-run")
    uris = dict(zip(("nb2pipe", "mlflow"),
                    two_mlflow_stores(folder, ("nb2pipe", "mlflow"), "steps")))
    done = subprocess.run([sys.executable, "-c", ONE_RUN_SCRIPT, json.dumps(fits),
                           str(folder), json.dumps(uris)], capture_output=True, text=True,
                          cwd=folder, timeout=300,
                          env={"MLFLOW_DISABLE_TELEMETRY": "true",
                               **{k: v for k, v in os.environ.items()
                                  if k != "NB2PIPE_AUTOLOG_PLOTS"}})
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["buffered"] == result["mlflow"] == result["client"]
    if any(kind == "search" for kind, _ in fits):
        assert result["buffered"]["children"]
        assert "best_cv_score" in dict(result["buffered"]["run"]["metrics"])


# Fits, each in a run of its own, with the step's autologging set up or not at all; after
# each fit the notebook draws from the global generators again. Prints those draws.
RANDOM_SCRIPT = r'''
import json, os, random, sys, uuid

import numpy as np
import mlflow
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import RandomForestClassifier

from nb2pipe.autologbuffer import buffer_uri, register

cases, folder, tracked = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3] == "tracked"
assert register()
if tracked:
    from nb2pipe.runtime import autolog_frameworks

    autolog_frameworks(mlflow, ["sklearn"])
MODELS = {  # predicting draws from NumPy's global generator / fitting does / neither
    "stratified": lambda: DummyClassifier(strategy="stratified"),
    "uniform": lambda: DummyClassifier(strategy="uniform"),
    "forest": lambda: RandomForestClassifier(3, max_depth=2),
    "mean": DummyRegressor}
seen = []
for number, case in enumerate(cases):
    np.random.seed(case["seed"])
    random.seed(case["seed"])
    X = np.random.normal(size=(case["rows"], 2))
    y = np.arange(case["rows"]) % 2
    run_id = uuid.uuid4().hex
    path = os.path.join(folder, f"{number}.jsonl")
    mlflow.set_tracking_uri(buffer_uri(path, run_id, "0", "file://" + folder))
    mlflow.start_run(run_id=run_id)
    try:
        model = MODELS[case["model"]]().fit(X, y)
    finally:
        mlflow.end_run()
    seen.append([np.random.rand(2).tolist(), random.random(), model.predict(X[:4]).tolist()])
print(json.dumps(seen))
'''


@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.fixed_dictionaries({
    "model": st.sampled_from(["stratified", "uniform", "forest", "mean"]),
    "rows": st.integers(6, 40), "seed": st.integers(0, 2**16)}), min_size=2, max_size=6))
def test_autologging_leaves_the_global_generators_as_the_fit_left_them(tmp_path_factory,
                                                                       cases):
    """A tracked step draws what its untracked run draws: MLflow predicts and scores on the
    training set after a fit, and an estimator that draws from NumPy's global generator when
    it predicts (a stratified `DummyClassifier`) moved every later draw of the notebook (found
    while looking for what tracking changes in a run's results). What a fit itself draws
    stays drawn."""
    folder = tmp_path_factory.mktemp("random")
    runs = {}
    for mode in ("untracked", "tracked"):
        done = subprocess.run([sys.executable, "-c", RANDOM_SCRIPT, json.dumps(cases),
                               str(folder), mode], capture_output=True, text=True, cwd=folder,
                              timeout=300, env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"})
        assert done.returncode == 0, done.stderr[-3000:]
        runs[mode] = json.loads(done.stdout.strip().splitlines()[-1])
    assert runs["tracked"] == runs["untracked"]
