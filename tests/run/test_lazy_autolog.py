"""scikit-learn's autologging set up as its modules are imported (nb2pipe.lazyautolog), as a
step's kernel sets it up: generated steps import some of scikit-learn before the set-up and
the rest after, then fit estimators of both; every fit logs what it logs under MLflow's own
set-up (which imports all of scikit-learn first), and once every module is imported the same
methods of the same classes are patched. Real MLflow, real fits."""

import json
import os
import subprocess
import sys

from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from tests.helpers import without_stamps

# One step's kernel: imports `before`, sets autologging up (MLflow's way or nb2pipe's), fits
# each estimator in a run of its own logged through nb2pipe's buffer, then imports every
# module scikit-learn has and prints what each run logged and which methods are patched.
SCRIPT = r'''
import importlib, json, os, sys, uuid

mode, before, fits, folder = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4]
for name in before:
    importlib.import_module(name)
import numpy as np
import mlflow
from nb2pipe.autologbuffer import buffer_uri, read_entries, register
from nb2pipe.lazyautolog import estimators_as_imported
from nb2pipe.runtime import autolog_frameworks

assert register()
if mode == "nb2pipe":
    with estimators_as_imported(["sklearn"]):
        autolog_frameworks(mlflow, ["sklearn"])
else:
    autolog_frameworks(mlflow, ["sklearn"])
imported_at_setup = sorted(m for m in sys.modules if m.startswith("sklearn."))
runs = []
for number, (module, name, seed) in enumerate(fits):
    import sklearn.base
    cls = getattr(importlib.import_module(module), name)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(24, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) if sklearn.base.is_regressor(cls()) else np.arange(24) % 2
    run_id = uuid.uuid4().hex
    path = os.path.join(folder, f"{run_id}.jsonl")
    mlflow.set_tracking_uri(buffer_uri(path, run_id, "0", "file://" + folder))
    mlflow.start_run(run_id=run_id)
    try:
        model = cls()
        if "random_state" in model.get_params():
            model.set_params(random_state=0)
        model.fit(X, y)
    finally:
        mlflow.end_run()
    runs.append(read_entries(path))
from sklearn.utils import all_estimators
all_estimators()  # every module of scikit-learn imported
from mlflow.utils.autologging_utils.safety import _AUTOLOGGING_PATCHES
patched = sorted({f"{getattr(p.destination, '__module__', '')}.{getattr(p.destination, '__qualname__', type(p.destination).__name__)}:{p.name}"
                  for p in _AUTOLOGGING_PATCHES.get("sklearn", ())})
print(json.dumps({"runs": runs, "patched": patched, "at_setup": imported_at_setup}))
'''

# Estimators of modules a notebook may or may not have imported when its step starts.
ESTIMATORS = [
    ("sklearn.svm", "SVC"), ("sklearn.naive_bayes", "GaussianNB"),
    ("sklearn.neighbors", "KNeighborsClassifier"), ("sklearn.tree", "DecisionTreeRegressor"),
    ("sklearn.linear_model", "Ridge"), ("sklearn.ensemble", "ExtraTreesClassifier"),
    ("sklearn.discriminant_analysis", "LinearDiscriminantAnalysis"),
    ("sklearn.gaussian_process", "GaussianProcessRegressor"),
    ("sklearn.kernel_ridge", "KernelRidge"), ("sklearn.dummy", "DummyClassifier"),
]
MODULES = sorted({module for module, _ in ESTIMATORS} | {"sklearn.metrics", "pandas"})


def _kernel(mode: str, before: list, fits: list, folder, cache) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode, json.dumps(before), json.dumps(fits), str(folder)],
        capture_output=True, text=True, cwd=folder, timeout=300,
        env={**{k: v for k, v in os.environ.items() if k != "NB2PIPE_AUTOLOG_PLOTS"},
             "MLFLOW_DISABLE_TELEMETRY": "true", "NB2PIPE_STORE_TEMPLATES": str(cache)})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


#: The cache folder the examples share: the first computes MLflow's list and keeps it there.
_CACHE: dict = {}


@settings(max_examples=1, deadline=None, suppress_health_check=list(HealthCheck),
          phases=[Phase.explicit, Phase.reuse, Phase.generate])  # (5 kernels: 30 s under load)
@given(st.lists(st.sampled_from(MODULES), unique=True, max_size=4),
       st.lists(st.tuples(st.sampled_from(ESTIMATORS), st.integers(0, 2**16)),
                min_size=1, max_size=4))
@example(before=[], fits=[(("sklearn.svm", "SVC"), 1), (("sklearn.dummy", "DummyClassifier"), 2)])
def test_autologging_as_modules_are_imported_logs_what_mlflows_own_set_up_logs(
        tmp_path_factory, before, fits):
    folder = tmp_path_factory.mktemp("lazy-autolog")
    fits = [[module, name, seed] for (module, name), seed in fits]
    theirs = _kernel("mlflow", before, fits, folder, _CACHE.get("folder", folder / "cache"))
    made = []
    if "folder" not in _CACHE:  # MLflow's own set-up, its list kept for the next kernels
        _CACHE["folder"] = folder / "cache"
        made.append(_kernel("nb2pipe", before, fits, folder, _CACHE["folder"]))
        assert len(list(_CACHE["folder"].glob("*sklearn-estimators*.json"))) == 1
        assert made[0]["at_setup"] == theirs["at_setup"]
    ours = _kernel("nb2pipe", before, fits, folder, _CACHE["folder"])  # from the kept list
    made.append(ours)
    # the lazy set-up left most of scikit-learn unimported
    assert len(ours["at_setup"]) < len(theirs["at_setup"])
    for kernel in made:
        assert kernel["patched"] == theirs["patched"]
        assert len(kernel["runs"]) == len(theirs["runs"])
        for fit, mine, mlflows in zip(fits, kernel["runs"], theirs["runs"]):
            assert without_stamps(mine) == without_stamps(mlflows), fit
            assert any(e.get("params") for e in mine), fit  # the fit was autologged


def _first_then(script: str, tmp_path) -> dict:
    """``script`` run twice, as two kernels of one machine: the first computes MLflow's list
    and keeps it, the second (whose printed JSON this returns) uses it."""
    for time in ("first", "then"):
        done = subprocess.run([sys.executable, "-c", script, time], capture_output=True,
                              text=True, cwd=tmp_path, timeout=300,
                              env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true",
                                   "NB2PIPE_STORE_TEMPLATES": str(tmp_path / "cache")})
        assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_later_autolog_call_takes_over(tmp_path):
    """The notebook's own `mlflow.sklearn.autolog(disable=True)` after the step's set-up:
    a class imported afterwards is not patched by nb2pipe's hook (MLflow's choice stands)."""
    script = r'''
import json, sys
import mlflow
from nb2pipe.lazyautolog import estimators_as_imported
from nb2pipe.runtime import autolog_frameworks
with estimators_as_imported(["sklearn"]):
    autolog_frameworks(mlflow, ["sklearn"])
if sys.argv[1] == "first":  # (computes MLflow's list and keeps it)
    sys.exit()
hooked = [type(f).__name__ for f in sys.meta_path].count("_Hook")
mlflow.sklearn.autolog(disable=True)
from sklearn.naive_bayes import GaussianNB
from mlflow.utils.autologging_utils.safety import _AUTOLOGGING_PATCHES
print(json.dumps({"hooked": hooked, "patches": len(_AUTOLOGGING_PATCHES.get("sklearn", ())),
                  "left": [type(f).__name__ for f in sys.meta_path].count("_Hook")}))
'''
    result = _first_then(script, tmp_path)
    assert result == {"hooked": 1, "patches": 0, "left": 0}


def test_no_hook_when_mlflows_own_set_up_stopped_half_way(tmp_path):
    """MLflow's loop over the classes fails on one (a broken estimator, another MLflow): its
    set-up is left as MLflow left it, and no class is patched later with half its calls."""
    script = r'''
import json, sys
import mlflow, mlflow.sklearn
from nb2pipe.lazyautolog import estimators_as_imported
from nb2pipe.runtime import autolog_frameworks
if sys.argv[1] == "first":  # (computes MLflow's list and keeps it)
    with estimators_as_imported(["sklearn"]):
        autolog_frameworks(mlflow, ["sklearn"])
    sys.exit()
original = mlflow.sklearn._patch_estimator_method_if_available
seen = set()
def failing(flavor_name, class_def, func_name, patched_fn, manage_run, extra_tags=None):
    seen.add(class_def)
    if len(seen) > 2:
        raise RuntimeError("an estimator MLflow cannot patch")
    return original(flavor_name, class_def, func_name, patched_fn, manage_run, extra_tags)
mlflow.sklearn._patch_estimator_method_if_available = failing
with estimators_as_imported(["sklearn"]):
    autolog_frameworks(mlflow, ["sklearn"])
print(json.dumps({"hooked": [type(f).__name__ for f in sys.meta_path].count("_Hook"),
                  "stopped": len(seen) > 2}))
'''
    assert _first_then(script, tmp_path) == {"hooked": 0, "stopped": True}
