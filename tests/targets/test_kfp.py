"""The Kubeflow target: compiled by kfp, checked strictly, run locally, submitted."""

import json
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from tests.helpers import run_cli, write_notebook

ROOT = Path(__file__).resolve().parent.parent.parent
SAMPLES = ROOT / "sample_notebooks"

# A notebook tagged for Kale 2.3, written from Kale's documented tag grammar (step:, prev:,
# limit:, annotation:, label:, secret:, cache:, imports, functions, pipeline-parameters,
# pipeline-metrics as print(name) lines, skip) — plus nb2pipe's own retry:.
KALE = '''# %% tags=["imports"]
import json
import random
# %% tags=["pipeline-parameters"]
SIZE = 50
SEED = 7
# %% tags=["functions"]
def mean(values):
    return sum(values) / len(values)
# %% tags=["step:generate", "limit:memory:1Gi", "limit:cpu:500m", "annotation:team/owner:ml"]
random.seed(SEED)
values = [random.random() for _ in range(SIZE)]
# %% tags=["skip"]
print("a look at the data")
# %% tags=["step:stats", "prev:generate", "label:stage:analysis", "retry:2", "cache:disabled"]
average = mean(values)
spread = max(values) - min(values)
# %% tags=["step:report", "prev:generate", "secret:db-credentials:password:DB_PASSWORD"]
summary = json.dumps({"n": len(values)})
# %% tags=["pipeline-metrics"]
print(average)
print(spread)
'''


def strict_check(text: str) -> dict:
    """RECIPES' strict validation: protobuf parse, cross references, kfp's loader round trip."""
    from google.protobuf import json_format
    from kfp.pipeline_spec import pipeline_spec_pb2

    documents = list(yaml.safe_load_all(text))
    spec = documents[0]
    json_format.ParseDict(spec, pipeline_spec_pb2.PipelineSpec(), ignore_unknown_fields=False)
    components = spec["components"]
    executors = spec["deploymentSpec"]["executors"]
    for name, component in components.items():
        if "executorLabel" in component:
            assert component["executorLabel"] in executors, name
    tasks = spec["root"]["dag"]["tasks"]
    for name, task in tasks.items():
        assert task["componentRef"]["name"] in components, name
        for dependency in task.get("dependentTasks", []):
            assert dependency in tasks, (name, dependency)
    return {"spec": spec, "platform": documents[1] if len(documents) > 1 else None}


def loader_round_trip(path: Path, tmp_path: Path) -> None:
    from kfp import compiler, components

    loaded = components.load_component_from_file(str(path))
    again = tmp_path / "again.yaml"
    compiler.Compiler().compile(loaded, str(again))
    strict_check(again.read_text())


# Every sample that can become a pipeline: the tagged one, the untagged ones through --auto
# (level0_classifier.ipynb cannot: it reads names no cell defines, which --auto refuses).
@pytest.mark.parametrize("name", ["classifier_pipeline.ipynb", "kale", "diabetes_untagged.ipynb",
                                  "magics_tour.ipynb", "wine_report.ipynb"])
def test_every_generated_yaml_passes_the_strict_checks(tmp_path, name):
    if name == "kale":
        notebook = write_notebook(tmp_path / "kale.ipynb", KALE)
    else:
        notebook = tmp_path / name
        shutil.copy(SAMPLES / name, notebook)
    tagged = name in ("classifier_pipeline.ipynb", "kale")
    code, _, err = run_cli("convert", notebook, "-o", tmp_path / "out",
                           *([] if tagged else ["--auto"]))
    assert code == 0, err
    path = tmp_path / "out" / "kfp" / "pipeline.yaml"
    checked = strict_check(path.read_text())
    loader_round_trip(path, tmp_path)
    source = (tmp_path / "out" / "kfp" / "pipeline.py").read_text()
    compile(source, "pipeline.py", "exec")
    # kfp-kubernetes (and the Kubernetes client it loads) only when a step needs it
    assert ("from kfp import compiler, dsl, kubernetes\n" in source) == (name == "kale")
    if name == "kale":
        spec = checked["spec"]
        tasks = spec["root"]["dag"]["tasks"]
        assert set(tasks) == {"generate", "stats", "report", "metrics"}
        assert tasks["stats"]["dependentTasks"] == ["generate"]
        assert tasks["report"]["dependentTasks"] == ["generate"]  # prev: without data: .after()
        assert "retryPolicy" in tasks["stats"] and tasks["stats"]["cachingOptions"] == {}
        inputs = spec["root"]["inputDefinitions"]["parameters"]
        assert inputs["SIZE"]["parameterType"] == "NUMBER_INTEGER"
        assert inputs["SIZE"]["defaultValue"] == 50
        executors = spec["deploymentSpec"]["executors"]
        resources = executors["exec-generate"]["container"]["resources"]
        assert resources["memoryLimit"] and resources["cpuLimit"]
        assert executors["exec-generate"]["container"]["image"] == "python:3.11-slim"
        platform = json.dumps(checked["platform"])
        assert "db-credentials" in platform and "DB_PASSWORD" in platform
        assert "team/owner" in platform and "stage" in platform
        metrics = spec["components"]["comp-metrics"]["outputDefinitions"]["artifacts"]
        assert metrics["metrics"]["artifactType"]["schemaTitle"] == "system.Metrics"


def test_kubernetes_settings_compile_without_the_kubernetes_client(tmp_path):
    """The Kale sample's labels, annotations and secret go through kfp-kubernetes' helpers,
    without its package loading the Kubernetes client (0.4 s); the YAML is the same as with
    the whole package imported first, and the whole package is still importable after."""
    notebook = write_notebook(tmp_path / "kale.ipynb", KALE)
    script = (
        "import sys\nfrom nb2pipe.cli import main\n"
        "if sys.argv[1] == 'full':\n    import kfp.kubernetes\n"
        "code = main(['convert', sys.argv[2], '-o', sys.argv[3], '--target', 'kfp'])\n"
        "loaded = 'kubernetes' in sys.modules\n"
        "import kfp.kubernetes\n"
        "print(code, loaded, callable(kfp.kubernetes.add_node_affinity))\n")
    outputs = {}
    for mode in ("light", "full"):
        result = subprocess.run([sys.executable, "-c", script, mode, str(notebook),
                                 str(tmp_path / mode)], capture_output=True, text=True)
        outputs[mode] = result.stdout.strip().splitlines()[-1]
    assert outputs == {"light": "0 False True", "full": "0 True True"}
    light = (tmp_path / "light" / "kfp" / "pipeline.yaml").read_text()
    assert "DB_PASSWORD" in light and "team/owner" in light
    assert light == (tmp_path / "full" / "kfp" / "pipeline.yaml").read_text()


@pytest.mark.slow
def test_kfp_local_gives_the_same_metrics_and_mlflow_runs_as_papermill(tmp_path, monkeypatch):
    """Tracked in one MLflow store, both engines give a pipeline run with the same metrics
    and, under it, a finished run per step: the metrics step's metrics, and the training
    step's autologged parameters, training metrics and (asked for) plots."""
    from mlflow import MlflowClient

    monkeypatch.chdir(tmp_path)
    shutil.copy(SAMPLES / "classifier_pipeline.ipynb", tmp_path)
    assert run_cli("convert", "classifier_pipeline.ipynb", "-o", "out")[0] == 0
    trees = {}
    for engine in ("kfp-local", "papermill"):
        code, out, err = run_cli("run", "out", "--engine", engine, "--no-html",
                                 "--no-validate", "--no-register", "-p", "N_ESTIMATORS=30",
                                 "--autolog-plots")
        assert code == 0, err
        assert "warning" not in err, err
        run = max((tmp_path / "out" / "runs").iterdir(), key=lambda p: p.stat().st_mtime)
        record = json.loads((run / "run.json").read_text())
        assert record["engine"] == engine and record["status"] == "succeeded"
        assert all(s["status"] == "succeeded" for s in record["steps"].values())
        client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
        parent = client.get_run(record["tracking"]["run_id"])
        assert parent.data.tags["nb2pipe.engine"] == engine
        children = client.search_runs(
            [parent.info.experiment_id], f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'")
        trees[engine] = {
            "metrics": record["metrics"], "parent": parent.data.metrics,
            # (papermill's steps share a kernel: the training step's run also gets the
            # scores later steps compute with its model, and the model itself)
            "steps": {c.info.run_name: (c.info.status, sorted(c.data.params),
                                        sorted(m for m in c.data.metrics
                                               if m in ("accuracy", "f1")
                                               or m.startswith("training_")),
                                        sorted(a.path for a in client.list_artifacts(
                                            c.info.run_id) if a.path.endswith(".png")))
                      for c in children}}
    assert trees["kfp-local"] == trees["papermill"]
    steps = trees["papermill"]["steps"]
    assert set(trees["papermill"]["metrics"]) == {"accuracy", "f1"}
    assert steps["metrics"][2] == ["accuracy", "f1"]
    status, params, metrics, files = steps["train"]
    assert status == "FINISHED" and "n_estimators" in params
    assert "training_accuracy_score" in metrics and "training_confusion_matrix.png" in files


@pytest.mark.parametrize("buffered", [True, False])
def test_a_kfp_local_component_logs_through_the_runs_file_or_names_its_own_run(
        tmp_path, monkeypatch, buffered):
    """What a component does with `nb2pipe_tracking` from kfp-local: with MLflow able to log
    into the run's file, it opens no store and its autologging goes to the file; where it
    cannot (an MLflow without a tracking-store registry), the component makes its own run
    under the pipeline's and names it in the file, for the runner to use."""
    import mlflow
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from nb2pipe import autologbuffer
    from nb2pipe.targets.kfp import _runtime_source

    from mlflow.sklearn import utils

    monkeypatch.chdir(tmp_path)  # (MLflow's default artifact folder: ./mlruns)
    # what the component changes in this process comes back after the test
    monkeypatch.setattr(utils, "_is_plotting_supported", utils._is_plotting_supported)
    monkeypatch.setattr(utils, "_log_specialized_estimator_content",
                        utils._log_specialized_estimator_content)
    if not buffered:
        monkeypatch.setattr(autologbuffer, "register", lambda: False)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = mlflow.MlflowClient(uri)
    parent = client.create_run("0").info.run_id
    component: dict = {}
    exec(compile(_runtime_source(), "component", "exec"), component)
    tracking = json.dumps({"uri": uri, "parent": parent, "experiment_id": "0",
                           "buffer": str(tmp_path / "io")})
    logged = component["_nb2pipe_tracking"]("train", tracking, ["sklearn"])
    try:
        LogisticRegression().fit(np.arange(20.0).reshape(10, 2), [0, 1] * 5)
        logged.log_metrics({"accuracy": 0.5})
    finally:
        logged.end_run()
        mlflow.sklearn.autolog(disable=True)
        mlflow.set_tracking_uri(None)
    entries = autologbuffer.read_entries(str(tmp_path / "io" / "train.mlflow.jsonl"))
    assert {"metrics": [["accuracy", 0.5, entries[-1]["metrics"][0][2], 0]]} == entries[-1]
    made = [e["run_id"] for e in entries if "run_id" in e]
    runs = client.search_runs(["0"])
    if buffered:  # autologging's parameters are in the file; no run was made but the parent
        assert made == [] and [r.info.run_id for r in runs] == [parent]
        assert any(["C", "1.0"] in e.get("params", []) for e in entries)
    else:
        (own,) = [r for r in runs if r.info.run_id != parent]
        assert made == [own.info.run_id]
        assert own.data.tags["mlflow.parentRunId"] == parent
        assert own.data.params["C"] == "1.0"


@pytest.mark.parametrize("name", ["diabetes_untagged.ipynb", "magics_tour.ipynb",
                                  "wine_report.ipynb"])
@pytest.mark.slow
def test_the_auto_converted_samples_run_the_same_on_both_engines(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    shutil.copy(SAMPLES / name, tmp_path)
    assert run_cli("convert", name, "--auto", "-o", "out")[0] == 0
    records = []
    for engine in ("kfp-local", "papermill"):
        code, _, err = run_cli("run", "out", "--engine", engine, "--tracking", "none",
                               "--no-html")
        assert code == 0, (engine, err)
        (run,) = [r for r in (tmp_path / "out" / "runs").iterdir()
                  if all(r.name != done["run_id"] for done in records)]
        records.append(json.loads((run / "run.json").read_text()))
    assert records[0]["status"] == records[1]["status"] == "succeeded"
    assert records[0]["metrics"] == records[1]["metrics"]


class _Recorder(BaseHTTPRequestHandler):
    """A stand-in for the KFP API server: answers like it and records every request."""

    requests: list = []
    fail = False
    status = 0

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}") if length else {}
        type(self).requests.append((self.command, self.path.split("?")[0], body))
        if type(self).status:  # a server that answers everything with this status
            self.send_response(type(self).status)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if type(self).fail and self.command == "POST":
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"error": "pipeline spec rejected", "code": 3}')
            return
        reply = {}
        if self.path.startswith("/apis/v2beta1/healthz"):
            reply = {"commit_sha": "test", "tag_name": "2.5.0", "multi_user": False}
        elif self.path.startswith("/apis/v2beta1/experiments"):
            reply = {"experiment_id": "exp-1", "display_name": "nb2pipe"} \
                if self.command == "POST" else {"experiments": []}
        elif self.path.startswith("/apis/v2beta1/recurringruns"):
            reply = {"recurring_run_id": "rr-1"}
        elif self.path.startswith("/apis/v2beta1/runs"):
            reply = {"run_id": f"run-{len(type(self).requests)}"}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def kfp_server():
    _Recorder.requests = []
    _Recorder.fail = False
    _Recorder.status = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder
    server.shutdown()


@pytest.fixture
def converted(tmp_path):
    shutil.copy(SAMPLES / "classifier_pipeline.ipynb", tmp_path)
    assert run_cli("convert", tmp_path / "classifier_pipeline.ipynb", "-o",
                   tmp_path / "out")[0] == 0
    return tmp_path / "out"


def test_submit_sends_the_compiled_pipeline_with_parameters(kfp_server, converted):
    host, recorder = kfp_server
    code, out, err = run_cli("submit", converted, "--host", host, "--experiment", "churn",
                             "--run-name", "nightly-check", "-p", "N_ESTIMATORS=10")
    assert code == 0, err
    assert out.startswith("run run-") and f"{host}/#/runs/details/run-" in out
    posts = [(path, body) for method, path, body in recorder.requests if method == "POST"]
    assert ("/apis/v2beta1/experiments", {"display_name": "churn", "namespace": ""}) in posts
    run = next(body for path, body in posts if path == "/apis/v2beta1/runs")
    assert run["display_name"] == "nightly-check"
    assert run["pipeline_spec"]["pipelineInfo"]["name"] == "classifier-pipeline"
    assert run["runtime_config"]["parameters"]["N_ESTIMATORS"] == 10
    assert run["experiment_id"] == "exp-1"


def test_submit_schedule_creates_a_recurring_run(kfp_server, converted):
    host, recorder = kfp_server
    code, out, err = run_cli("submit", converted, "--host", host, "--schedule", "0 3 * * *")
    assert code == 0, err
    assert out.startswith("recurring run rr-1")
    body = next(b for m, p, b in recorder.requests if p == "/apis/v2beta1/recurringruns")
    assert body["trigger"]["cron_schedule"]["cron"] == "0 0 3 * * *"


def test_submit_dry_run_sends_nothing(kfp_server, converted):
    host, recorder = kfp_server
    code, out, _ = run_cli("submit", converted, "--host", host, "--dry-run", "--output-format", "json", "-p", "SEED=1,2")
    assert code == 0
    plan = json.loads(out)
    assert [r["arguments"]["SEED"] for r in plan["runs"]] == [1, 2]
    assert recorder.requests == []


def test_submit_errors_are_clear(kfp_server, converted):
    host, recorder = kfp_server
    recorder.fail = True
    code, _, err = run_cli("submit", converted, "--host", host)
    assert code == 2 and "refused the pipeline" in err and "Traceback" not in err
    code, _, err = run_cli("submit", converted, "--host", "http://127.0.0.1:9")
    assert code == 2 and "cannot reach the Kubeflow Pipelines API" in err
    code, _, err = run_cli("submit", converted, "--host", host, "--schedule", "every day")
    assert code == 2 and "is not a cron expression" in err


@pytest.mark.parametrize("status,expected", [(404, "is not the Kubeflow Pipelines API"),
                                             (503, "is not healthy")])
def test_submit_to_a_server_that_is_not_a_healthy_kfp_api(kfp_server, converted, status,
                                                          expected):
    """A wrong URL (another web server: 404) or an API that is down (503): one line at once,
    not kfp.Client's five health checks five seconds apart with a traceback each."""
    host, recorder = kfp_server
    recorder.status = status
    result = subprocess.run([sys.executable, "-m", "nb2pipe", "submit", str(converted),
                             "--host", host], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and expected in result.stderr
    assert f"HTTP {status}" in result.stderr and "Traceback" not in result.stderr
    assert [path for _, path, _ in recorder.requests] == ["/apis/v2beta1/healthz"]


def test_kfp_local_names_what_the_failing_step_raised(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_notebook(tmp_path / "fails.ipynb", '# %% tags=["step:a"]\nx = 1\n'
                   '# %% tags=["step:b", "prev:a"]\ny = x + 1\nraise ValueError("bad y")\n'
                   '# %% tags=["step:c", "prev:b"]\nz = y + 1\n'
                   '# %% tags=["step:d", "prev:a"]\nw = x + 2\n')
    assert run_cli("convert", "fails.ipynb", "-o", "out")[0] == 0
    code, _, err = run_cli("run", "out", "--engine", "kfp-local", "--tracking", "none")
    assert code == 1
    assert "step `b` failed in cell 2, line 2 of fails.ipynb: ValueError: bad y" in err and "\x1b[" not in err
    assert "kfp's log: " in err
    (run,) = list((tmp_path / "out" / "runs").iterdir())
    steps = json.loads((run / "run.json").read_text())["steps"]
    assert {name: steps[name]["status"] for name in "abc"} == {
        "a": "succeeded", "b": "failed", "c": "skipped"}
    # each step without a result says why: c needs b; d, which does not, ran before b or was
    # not reached (kfp's local runner stops at the first failed task)
    assert steps["c"]["error"]["message"] == "not run: it needs step `b`, which failed"
    assert "    c: not run: it needs step `b`, which failed" in err
    assert steps["d"]["status"] == "succeeded" or "stops at the first task that fails (`b`)" \
        in steps["d"]["error"]["message"]


def test_a_parameter_named_like_a_step_does_not_hide_its_component(tmp_path):
    notebook = write_notebook(tmp_path / "same.ipynb", '# %% tags=["pipeline-parameters"]\n'
                              'train = 3\n# %% tags=["step:train"]\nmodel = train * 2\n'
                              '# %% tags=["pipeline-metrics"]\nprint(model)\n')
    code, _, err = run_cli("convert", notebook, "-o", tmp_path / "out", "--target", "kfp")
    assert code == 0 and "Traceback" not in err, err
    spec = strict_check((tmp_path / "out" / "kfp" / "pipeline.yaml").read_text())["spec"]
    assert "train-step" in spec["root"]["dag"]["tasks"]
    assert "train" in spec["root"]["inputDefinitions"]["parameters"]
