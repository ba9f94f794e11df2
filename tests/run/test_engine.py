"""`nb2pipe run` for real: papermill, kernels, artifacts, failures, resume, tracking."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from tests.helpers import run_cli, run_top_to_bottom, write_notebook

ROOT = Path(__file__).resolve().parent.parent.parent
SAMPLES = ROOT / "sample_notebooks"


@pytest.fixture
def pipeline_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(SAMPLES / "classifier_pipeline.ipynb", tmp_path)
    code, _, err = run_cli("convert", "classifier_pipeline.ipynb", "-o", "pipeline")
    assert code == 0, err
    return tmp_path / "pipeline"


def only_run(folder: Path) -> Path:
    (run,) = list((folder / "runs").iterdir())
    return run


def test_converted_pipeline_runs_and_reproduces_the_notebook(pipeline_dir, tmp_path):
    code, out, err = run_cli("run", pipeline_dir, "--tracking", "none")
    assert code == 0, err
    assert "[1/5] load_data" in err and "succeeded" in out
    run = only_run(pipeline_dir)
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "succeeded"
    assert list(record["steps"]) == ["load_data", "split", "train", "evaluate", "metrics"]
    assert all(s["status"] == "succeeded" for s in record["steps"].values())
    assert record["parameters"]["N_ESTIMATORS"] == 200
    for step in record["steps"]:
        assert (run / "notebooks" / f"{step}.ipynb").exists()
        assert (run / "html" / f"{step}.html").read_text().startswith("<!DOCTYPE html>")
    assert json.loads((run / "artifacts" / "train" / "model.meta.json").read_text())[
        "format"] == "joblib"
    assert json.loads((run / "artifacts" / "load_data" / "df.meta.json").read_text())[
        "format"] in ("parquet", "pandas-pickle")

    # Equivalence: the original notebook, top to bottom through papermill, gives the same
    # metrics and a model that predicts the same on fixed data.
    import joblib
    from sklearn.datasets import load_breast_cancer

    expected = run_top_to_bottom(
        SAMPLES / "classifier_pipeline.ipynb",
        "{'accuracy': accuracy, 'f1': f1, 'predictions': model.predict(load_breast_cancer("
        "as_frame=True).frame.drop(columns=['target']).iloc[:60]).tolist()}", tmp_path)
    assert record["metrics"] == {"accuracy": expected["accuracy"], "f1": expected["f1"]}
    model = joblib.load(run / "artifacts" / "train" / "model.joblib")
    fixed = load_breast_cancer(as_frame=True).frame.drop(columns=["target"]).iloc[:60]
    assert model.predict(fixed).tolist() == expected["predictions"]


def test_mlflow_tracking_parent_and_nested_runs(pipeline_dir, tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    code, out, err = run_cli("run", pipeline_dir, "-p", "N_ESTIMATORS=20", "--no-html")
    assert code == 0, err
    assert (tmp_path / "mlflow.db").exists()
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("classifier-pipeline")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    (parent,) = parents
    children = {r.info.run_name: r for r in runs if r.data.tags.get("mlflow.parentRunId")
                == parent.info.run_id}
    assert set(children) == {"load_data", "split", "train", "evaluate", "metrics"}
    assert parent.data.params["N_ESTIMATORS"] == "20"
    assert set(parent.data.metrics) == {"accuracy", "f1"}
    assert parent.data.tags["nb2pipe.notebook_sha256"]
    assert parent.data.tags["nb2pipe.version"]
    train = children["train"]
    assert train.data.params["n_estimators"] == "20"  # sklearn autologging
    # what autologging made in the kernel (which logs through a buffer the runner writes
    # into the store: nb2pipe.autologbuffer) is all there: metrics, tags, datasets
    assert {"training_accuracy_score", "training_f1_score"} <= set(train.data.metrics)
    assert train.data.tags["estimator_name"] == "RandomForestClassifier"
    assert train.inputs.dataset_inputs
    artifacts = [a.path for a in client.list_artifacts(train.info.run_id)]
    assert "notebooks" in artifacts and "model" in artifacts
    # not its training plots, unless asked (--autolog-plots: tests/targets/test_kfp.py)
    assert not [a for a in artifacts if a.endswith(".png")], artifacts
    assert all(r.info.status == "FINISHED" for r in runs)
    # the train step did not wait for the store: its run, made when the pipeline's run
    # ended, still has the step's own times; no other run (the kernel's id) was made
    assert len(runs) == 6
    assert parent.info.start_time <= train.info.start_time <= train.info.end_time
    assert train.info.end_time <= children["evaluate"].info.start_time
    (run,) = (pipeline_dir / "runs").iterdir()
    if (run / "io").exists():
        assert not list((run / "io").glob("*.mlflow.jsonl"))
        assert not list((run / "io").glob("*.mlflow-artifacts"))


def test_unreachable_tracker_fails_up_front(pipeline_dir, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    code, _, err = run_cli("run", pipeline_dir)
    assert code == 2
    assert "cannot reach the MLflow tracking server at http://127.0.0.1:9" in err
    assert "--tracking none" in err
    assert not (pipeline_dir / "runs").exists()


def test_a_store_that_cannot_be_opened_fails_up_front(pipeline_dir, monkeypatch, tmp_path):
    """MLflow itself would retry for a minute and a half, while the steps ran."""
    (tmp_path / "broken.db").write_text("not a database")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'broken.db'}")
    code, _, err = run_cli("run", pipeline_dir)
    assert code == 2 and "Traceback" not in err
    assert "cannot open the MLflow store" in err and "file is not a database" in err
    assert not (pipeline_dir / "runs").exists()


def test_folders_that_cannot_be_written_are_one_line(pipeline_dir, tmp_path):
    (tmp_path / "a-file").write_text("")
    code, _, err = run_cli("run", pipeline_dir, "--tracking", "none",
                           "--runs-dir", tmp_path / "a-file" / "runs")
    assert code == 2 and err.startswith("error: ") and "Traceback" not in err
    assert "can be written" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli("convert", tmp_path / "classifier_pipeline.ipynb", "-o",
                           tmp_path / "a-file" / "out")
    assert code == 2 and "cannot write" in err and "choose another -o" in err


FAILING = '''# %% tags=["pipeline-parameters"]
FLAG = "flag.txt"
# %% tags=["step:first"]
import time
stamp = time.time()
# %% tags=["step:second"]
import os
if os.path.exists("sleep.txt"):
    time.sleep(60)
with open(FLAG) as handle:
    content = handle.read()
# %% tags=["step:third"]
result = content + str(stamp)
# %% tags=["step:other", "prev:first"]
print("independent of second")
'''


def test_failing_step_stops_its_dependants_and_resume_continues(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_notebook(tmp_path / "flaky.ipynb", FAILING)
    assert run_cli("convert", "flaky.ipynb", "-o", "out")[0] == 0
    code, out, err = run_cli("run", "out", "--tracking", "none", "--no-html")
    assert code == 1
    assert "step `second` failed in cell 3" in err and "FileNotFoundError" in err
    assert "--resume" in err
    run = only_run(tmp_path / "out")
    record = json.loads((run / "run.json").read_text())
    assert [record["steps"][s]["status"] for s in ("first", "second", "third", "other")] == \
        ["succeeded", "failed", "skipped", "succeeded"]
    executed = nbformat.read(run / "notebooks" / "second.ipynb", as_version=4)
    assert any(o.get("output_type") == "error" for c in executed.cells for o in c.get("outputs", []))
    first_started = record["steps"]["first"]["started"]

    (tmp_path / "flag.txt").write_text("ok")
    code, out, err = run_cli("run", "out", "--tracking", "none", "--no-html", "--resume",
                             run.name)
    assert code == 0, err
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "succeeded"
    assert record["steps"]["first"]["started"] == first_started  # not run again


def test_a_killed_run_can_be_resumed(tmp_path):
    write_notebook(tmp_path / "flaky.ipynb", FAILING)
    (tmp_path / "flag.txt").write_text("ok")
    (tmp_path / "sleep.txt").write_text("zz")
    command = [sys.executable, "-m", "nb2pipe", "run", "out", "--tracking", "none", "--no-html"]
    subprocess.run([sys.executable, "-m", "nb2pipe", "convert", "flaky.ipynb", "-o", "out"],
                   cwd=tmp_path, check=True, capture_output=True)
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.time() + 60
    record = None
    while time.time() < deadline:
        runs = list((tmp_path / "out" / "runs").glob("*/run.json"))
        if runs:
            record = json.loads(runs[0].read_text())
            if record["steps"]["second"]["status"] == "running":
                break
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert record and record["steps"]["second"]["status"] == "running"
    (tmp_path / "sleep.txt").unlink()
    run_id = runs[0].parent.name
    result = subprocess.run(command + ["--resume", run_id], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    record = json.loads(runs[0].read_text())
    assert record["status"] == "succeeded"


def test_plain_notebook_runs_as_one_step_with_parameters_and_sweeps(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(SAMPLES / "wine_report.ipynb", tmp_path)
    code, out, err = run_cli("run", "wine_report.ipynb", "-p", "MIN_ALCOHOL=13",
                             "--tracking", "none", "--no-html")
    assert code == 0, err
    run = only_run(tmp_path)
    executed = nbformat.read(run / "notebooks" / "notebook.ipynb", as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert "MIN_ALCOHOL = 13" in injected[0].source
    assert "at least 13" in json.dumps([c.get("outputs") for c in executed.cells])
    record = json.loads((run / "run.json").read_text())
    assert 0 < record["metrics"]["share"] < 1
    shutil.rmtree(tmp_path / "runs")
    code, out, err = run_cli("run", "wine_report.ipynb", "-p", "MIN_ALCOHOL=12,14",
                             "--tracking", "none", "--no-html", "--jobs", "2")
    assert code == 0, err
    assert "2 parameter sets: 2 runs" in err and out.count(": succeeded in") == 2
    assert "sweep of 2 runs" in out  # and the table of the two
    shares = sorted(json.loads(r.read_text())["metrics"]["share"]
                    for r in (tmp_path / "runs").glob("*/run.json"))
    assert shares[0] < shares[1]


def test_unknown_parameter_and_missing_pipeline_are_clear(pipeline_dir, tmp_path):
    code, _, err = run_cli("run", pipeline_dir, "-p", "N_ESTIMATOR=3", "--tracking", "none")
    assert code == 2 and "unknown parameter `N_ESTIMATOR`; did you mean `N_ESTIMATORS`?" in err
    code, _, err = run_cli("run", tmp_path, "--tracking", "none")
    assert code == 2 and "has no pipeline.json" in err


def test_a_folder_without_step_notebooks_is_refused_before_running(tmp_path):
    shutil.copy(SAMPLES / "classifier_pipeline.ipynb", tmp_path)
    assert run_cli("convert", tmp_path / "classifier_pipeline.ipynb", "-o", tmp_path / "out",
                   "--target", "components")[0] == 0
    code, _, err = run_cli("run", tmp_path / "out", "--tracking", "none")
    assert code == 2 and "has no papermill/ step notebooks" in err
    assert not (tmp_path / "out" / "runs").exists()


def test_isolate_runs_every_step_in_a_fresh_kernel(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_notebook(tmp_path / "pids.ipynb", '# %% tags=["step:first"]\nimport os\n'
                   'first_pid = os.getpid()\n# %% tags=["step:second"]\n'
                   'same = os.getpid() == first_pid\n# %% tags=["pipeline-metrics"]\n'
                   'shared = int(same)\n')
    assert run_cli("convert", "pids.ipynb", "-o", "out")[0] == 0
    code, _, err = run_cli("run", "out", "--tracking", "none", "--no-html", "--isolate")
    assert code == 0, err
    (run,) = list((tmp_path / "out" / "runs").iterdir())
    assert json.loads((run / "run.json").read_text())["metrics"] == {"shared": 0.0}
    shutil.rmtree(tmp_path / "out" / "runs")
    code, _, err = run_cli("run", "out", "--tracking", "none", "--no-html")
    assert code == 0, err
    (run,) = list((tmp_path / "out" / "runs").iterdir())
    assert json.loads((run / "run.json").read_text())["metrics"] == {"shared": 1.0}


CYCLE = '''# %% tags=["imports"]
import sys
import weakref
# %% tags=["step:first"]
class Node:
    pass
node = Node()
node.me, node.payload = node, bytearray(10**7)
sys.nb2pipe_probe = weakref.ref(node)
size = len(node.payload)
# %% tags=["step:second", "prev:first"]
print("freed:", sys.nb2pipe_probe() is None, size)
'''


def test_what_a_step_leaves_in_a_shared_kernel_is_freed_before_the_next(tmp_path, monkeypatch):
    """The kernel keeps its modules out of the collector's full passes between steps (a
    cheaper reset), but not what a step made: a step's garbage, cycles included, is gone
    when the next step starts."""
    monkeypatch.chdir(tmp_path)
    write_notebook(tmp_path / "cycle.ipynb", CYCLE)
    assert run_cli("convert", "cycle.ipynb", "-o", "out")[0] == 0
    code, _, err = run_cli("run", "out", "--tracking", "none", "--no-html", "--no-cache")
    assert code == 0, err
    second = nbformat.read(only_run(tmp_path / "out") / "notebooks" / "second.ipynb", 4)
    printed = "".join(o.get("text", "") for c in second.cells for o in c.get("outputs", []))
    assert "freed: True" in printed


THREADS_AFTER_IMPORTS = """
import json, sys, threading
started = []
original = threading.Thread.start
def start(self):
    started.append([self.name, "IPython.paths" in sys.modules,
                    "jupyter_client.manager" in sys.modules])
    return original(self)
threading.Thread.start = start
from nb2pipe.cli import main
code = main(sys.argv[1:])
print("THREADS", json.dumps(started))
sys.exit(code)
"""


def test_a_run_starts_its_threads_after_what_a_kernel_start_imports(tmp_path):
    """A run's threads (the tracker, a sweep's runs, the HTML pages) start only once what
    starting a kernel imports is imported: a thread that imports a package while the main
    thread starts a kernel can make one of the two imports fail (MLflow's client imports
    IPython on its first request to a tracking server while jupyter_client imports
    IPython.paths; the kernel then failed to start with KeyError: 'IPython')."""
    shutil.copy(SAMPLES / "wine_report.ipynb", tmp_path)
    done = subprocess.run([sys.executable, "-c", THREADS_AFTER_IMPORTS, "run",
                           "wine_report.ipynb", "-p", "MIN_ALCOHOL=12,14", "--jobs", "2"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    threads = json.loads(done.stdout.split("THREADS", 1)[1])
    assert any(name.startswith("nb2pipe-tracker") for name, *_ in threads)
    assert len(threads) >= 3  # the tracker, the sweep's two runs
    assert all(ipython and client for _, ipython, client in threads), threads
