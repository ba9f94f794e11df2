"""The Airflow 3 target, with Apache Airflow itself (.cache/airflow, which
scripts/airflow_venv.sh installs): the DAG parses in Airflow's DagBag with the pipeline's
params, tasks and dependencies; `nb2pipe run --engine airflow` runs it with `airflow dags
test` and gets the papermill engine's metrics, registers the model, and keeps a failure where
it happens."""

import json
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.helpers import run_cli, server_port, write_notebook

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW = ROOT / ".cache" / "airflow" / "bin" / "airflow"
SAMPLE = ROOT / "sample_notebooks" / "classifier_pipeline.ipynb"


@pytest.fixture(scope="module")
def airflow():
    if not (AIRFLOW.parent / "python").exists() or \
            not (ROOT / ".cache" / "airflow" / ".nb2pipe-ready").exists():
        subprocess.run([str(ROOT / "scripts" / "airflow_venv.sh")], check=True)
    return AIRFLOW


@pytest.fixture
def sample(tmp_path):
    shutil.copy(SAMPLE, tmp_path / SAMPLE.name)
    code, _, err = run_cli("convert", tmp_path / SAMPLE.name, "-o", tmp_path / "pipe",
                           "--target", "airflow")
    assert code == 0, err
    return tmp_path / "pipe"


def dagbag(airflow: Path, folder: Path) -> dict:
    """What Airflow's own DagBag reads in ``folder/airflow``."""
    script = textwrap.dedent(f"""
        import json, time
        from airflow.dag_processing.dagbag import DagBag
        started = time.perf_counter()
        bag = DagBag(dag_folder={str(folder / "airflow")!r})
        seconds = time.perf_counter() - started
        dags = {{}}
        for dag_id, dag in bag.dags.items():
            dags[dag_id] = {{
                "params": {{k: dag.params[k] for k in dag.params}},
                "tasks": {{t.task_id: sorted(t.upstream_task_ids) for t in dag.tasks}},
                "schedule": str(dag.schedule),
                "trigger": [t.trigger_rule for t in dag.tasks if t.task_id == "finish"],
                "assets": sorted(a.uri for a in getattr(getattr(
                    dag.timetable, "asset_condition", None), "objects", ())),
            }}
        print(json.dumps({{"errors": {{k: str(v) for k, v in bag.import_errors.items()}},
                          "dags": dags, "seconds": seconds}}, default=str))
    """)
    done = subprocess.run([str(airflow.parent / "python"), "-c", script], capture_output=True,
                          text=True, env={"AIRFLOW_HOME": str(folder / ".airflow-parse"),
                                          "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_dag_parses_in_airflow_with_the_pipelines_params_and_dependencies(airflow, sample):
    read = dagbag(airflow, sample)
    assert read["errors"] == {}
    pipeline = json.loads((sample / "pipeline.json").read_text())
    dag = read["dags"]["classifier-pipeline"]
    assert dag["params"] == {p["name"]: p["default"] for p in pipeline["parameters"]}
    steps = {s["name"]: s for s in pipeline["steps"]}
    for name, step in steps.items():
        assert dag["tasks"][name] == sorted({"start", *step["after"]})
    assert dag["tasks"]["finish"] == sorted(["start", *steps])
    assert "all_done" in dag["trigger"][0]
    assert dag["schedule"] in ("None", "Never")  # the sample reads no data file


def test_a_schedule_or_the_data_files_become_the_dags_schedule(airflow, tmp_path):
    write_notebook(tmp_path / "nb.ipynb",
                   '# %% tags=["imports"]\nimport pandas as pd\n'
                   '# %% tags=["step:load"]\ndf = pd.read_csv("data/rows.csv")\n'
                   '# %% tags=["step:report"]\nprint(len(df))\n')
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "rows.csv").write_text("a\n1\n2\n")
    code, _, err = run_cli("convert", tmp_path / "nb.ipynb", "-o", tmp_path / "assets",
                           "--target", "airflow")
    assert code == 0, err
    code, _, err = run_cli("convert", tmp_path / "nb.ipynb", "-o", tmp_path / "cron",
                           "--target", "airflow", "--schedule", "0 3 * * *")
    assert code == 0, err
    by_asset = dagbag(airflow, tmp_path / "assets")
    assert by_asset["errors"] == {}
    assets = next(iter(by_asset["dags"].values()))["assets"]
    assert assets == [(tmp_path / "data" / "rows.csv").resolve().as_uri()], assets
    by_cron = dagbag(airflow, tmp_path / "cron")
    assert next(iter(by_cron["dags"].values()))["schedule"] == "0 3 * * *"


@pytest.mark.slow
def test_a_failing_step_fails_its_task_and_its_dependants_only(airflow, tmp_path,
                                                               monkeypatch):
    """Also: steps named like the DAG's own tasks and names (`start`, `task`), and
    parameters JSON cannot carry (a tuple, None), which travel as their text and come back
    as the notebook's values."""
    write_notebook(tmp_path / "nb.ipynb",
                   '# %% tags=["parameters"]\nSHAPE = (2, 3)\nLABEL = None\n'
                   '# %% tags=["imports"]\nimport math\n'
                   '# %% tags=["step:start"]\nx = SHAPE[0]\n'
                   'print("good", x, type(SHAPE).__name__, LABEL)\n'
                   '# %% tags=["step:bad"]\ny = 1\nz = math.sqrt(-y)\n'
                   '# %% tags=["step:after_bad"]\nprint(z)\n'
                   '# %% tags=["step:task"]\nprint(x * 2)\n')
    code, _, err = run_cli("convert", tmp_path / "nb.ipynb", "-o", tmp_path / "pipe",
                           "--target", "airflow")
    assert code == 0, err
    assert "cell 1: parameter `SHAPE` = (2, 3) is not a JSON value" in err, err
    monkeypatch.setenv("NB2PIPE_AIRFLOW", str(airflow))
    code, out, err = run_cli("run", tmp_path / "pipe", "--engine", "airflow", "--tracking",
                             "none", "-p", "SHAPE=(4, 5)")
    assert code != 0
    assert "step `bad` failed in cell 4, line 2 of nb.ipynb: ValueError: math domain error" \
        in err, err
    runs = sorted((tmp_path / "pipe" / "runs").iterdir())
    record = json.loads((runs[-1] / "run.json").read_text())
    steps = record["steps"]
    assert {name: s["status"] for name, s in steps.items()} == {
        "start": "succeeded", "bad": "failed", "after_bad": "skipped", "task": "succeeded"}
    assert steps["after_bad"]["error"]["message"] == "not run: step `bad` failed"
    assert "--engine airflow" in err and "--resume" not in err
    from nb2pipe.run.record import RunRecord

    assert RunRecord.read(str(runs[-1])).parameters == {"SHAPE": (4, 5), "LABEL": None}
    printed = json.dumps(json.loads((runs[-1] / "notebooks" / "start.ipynb").read_text()))
    assert "good 4 tuple None" in printed


def test_airflow_dags_from_generated_pipelines_always_parse(airflow, tmp_path):
    """tests/targets/airflow_dag_cases.py, in Airflow's Python: hypothesis-generated step
    names, parameters, notebook paths and schedules; each DAG read by Airflow's DagBag."""
    done = subprocess.run([str(airflow.parent / "python"),
                           str(Path(__file__).with_name("airflow_dag_cases.py"))],
                          capture_output=True, text=True, cwd=tmp_path,
                          env={"AIRFLOW_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin",
                               "CASES": "40"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1])["cases"] >= 20


def test_convert_refuses_a_schedule_airflow_cannot_read(tmp_path):
    write_notebook(tmp_path / "nb.ipynb",
                   '# %% tags=["step:load"]\nx = 1\n# %% tags=["step:report"]\nprint(x)\n')
    for bad, said in (("0 3 * *", "not a cron expression"),
                      ("@sometimes", "Airflow has no preset @sometimes")):
        code, _, err = run_cli("convert", tmp_path / "nb.ipynb", "-o", tmp_path / "pipe",
                               "--target", "airflow", "--schedule", bad)
        assert code == 2 or code == 1, err
        assert said in err and "Traceback" not in err, err
        assert not (tmp_path / "pipe").exists()


def test_a_scheduled_dag_is_the_pipelines_trigger_in_the_checklist(tmp_path):
    """`check --maturity DIR`: the pipeline's own DAG counts as its trigger when it runs on
    a schedule or on its data's assets; a DAG triggered by hand does not."""
    from nb2pipe.lint.maturity import find_trigger

    write_notebook(tmp_path / "nb.ipynb",
                   '# %% tags=["imports"]\nimport pandas as pd\n'
                   '# %% tags=["step:load"]\ndf = pd.DataFrame({"a": [1, 2]})\n'
                   '# %% tags=["step:report"]\nprint(len(df))\n')
    (tmp_path / ".git").mkdir()  # the project's root: the search stops here
    for name, extra in (("manual", []), ("nightly", ["--schedule", "@daily"])):
        code, _, err = run_cli("convert", tmp_path / "nb.ipynb", "-o", tmp_path / name,
                               "--target", "airflow", *extra)
        assert code == 0, err
    assert find_trigger(str(tmp_path / "manual")) is None
    assert "nightly/airflow/" in find_trigger(str(tmp_path / "nightly"))


@pytest.mark.slow
def test_submit_deploys_the_dag_where_airflow_runs_it(airflow, tmp_path):
    """`submit --to airflow --dags-folder`: the DAG and what its tasks need are copied, laid
    out as in the project; Airflow, pointed at that folder only, parses the one DAG and runs
    it there; a DAG id already taken, or a file nb2pipe did not write, is refused in one line."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(SAMPLE, project / SAMPLE.name)
    code, _, err = run_cli("convert", project / SAMPLE.name, "-o", project / "pipe",
                           "--target", "airflow")
    assert code == 0, err
    dags = tmp_path / "dags"
    code, out, err = run_cli("submit", project / "pipe", "--to", "airflow", "--dags-folder",
                             dags)
    assert code == 0, err
    assert "deployed DAG `classifier-pipeline`" in out
    deployed = dags / "classifier-pipeline"
    assert (deployed / SAMPLE.name).exists()
    assert (deployed / "pipe" / "papermill" / "train.ipynb").exists()
    read = dagbag(airflow, deployed / "pipe")
    assert list(read["dags"]) == ["classifier-pipeline"] and read["errors"] == {}

    home = tmp_path / "airflow-home"
    env = {"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "PATH": "/usr/bin:/bin"}
    subprocess.run([str(airflow), "db", "migrate"], env=env, check=True, capture_output=True)
    done = subprocess.run([str(airflow), "dags", "test", "classifier-pipeline", "-c",
                           json.dumps({"nb2pipe_tracking": "none"})], env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:]
    runs = list((deployed / "pipe" / "runs").iterdir())
    record = json.loads((runs[0] / "run.json").read_text())
    assert record["status"] == "succeeded" and record["metrics"]["accuracy"] > 0.9

    code, out, err = run_cli("submit", project / "pipe", "--to", "airflow", "--dags-folder",
                             dags)
    assert code == 0, err  # again: it replaces what it wrote
    (deployed / "pipe" / "notes.txt").write_text("mine")
    (project / "pipe" / "notes.txt").write_text("the project's")
    code, _, err = run_cli("submit", project / "pipe", "--to", "airflow", "--dags-folder",
                           dags)
    assert code == 2 and "nb2pipe did not write it" in err
    assert (deployed / "pipe" / "notes.txt").read_text() == "mine"
    (project / "pipe" / "notes.txt").unlink()

    other = tmp_path / "dags2"
    other.mkdir()
    (other / "theirs.py").write_text("from airflow.sdk import DAG\n"
                                     "DAG(dag_id='classifier-pipeline')\n")
    code, _, err = run_cli("submit", project / "pipe", "--to", "airflow", "--dags-folder",
                           other)
    assert code == 2 and "DAG id `classifier-pipeline` is taken by" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_airflow_standalone_runs_the_dag_triggered_with_other_params(airflow, sample,
                                                                      tmp_path):
    """The real thing: `airflow standalone` (scheduler, API server, DAG processor, SQLite) on
    a localhost port picks the DAG up; `airflow dags trigger --conf` with another parameter
    value runs it to success, and the run record has that value and the metrics."""
    import os
    import signal
    import time

    port = server_port()
    env = {"PATH": f"{airflow.parent}:/usr/bin:/bin", "AIRFLOW_HOME": str(tmp_path / "home"),
           "AIRFLOW__CORE__DAGS_FOLDER": str(sample / "airflow"),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
           "AIRFLOW__API__PORT": str(port),
           "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
           "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5"}
    log = open(tmp_path / "standalone.log", "w")
    server = subprocess.Popen([str(airflow), "standalone"], env=env, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)

    def airflow_cli(*args) -> str:
        done = subprocess.run([str(airflow), *args], env=env, capture_output=True, text=True)
        return done.stdout

    try:
        deadline = time.monotonic() + 240
        while "classifier-pipeline" not in airflow_cli("dags", "list", "-o", "plain"):
            assert time.monotonic() < deadline and server.poll() is None, \
                (tmp_path / "standalone.log").read_text()[-3000:]
            time.sleep(3)
        airflow_cli("dags", "trigger", "classifier-pipeline", "--conf",
                    json.dumps({"nb2pipe_tracking": "none", "N_ESTIMATORS": 50}))
        state = None
        while state not in ("success", "failed"):
            assert time.monotonic() < deadline + 240, state
            time.sleep(5)
            listed = airflow_cli("dags", "list-runs", "classifier-pipeline", "-o", "plain")
            state = next((line.split()[2] for line in listed.splitlines()
                          if line.startswith("classifier-pipeline ")), None)
        assert state == "success", (tmp_path / "standalone.log").read_text()[-3000:]
    finally:  # standalone's parts leave its process group: stop each one with our home
        home = f"AIRFLOW_HOME={env['AIRFLOW_HOME']}".encode()
        for signal_number in (signal.SIGTERM, *[signal.SIGKILL] * 4):  # (some respawn)
            for pid in _processes_with(home, f"port:{port}".encode()):
                try:
                    os.kill(pid, signal_number)
                except ProcessLookupError:
                    pass
            time.sleep(3)
        server.wait(timeout=30)
        log.close()
    record = json.loads(next((sample / "runs").glob("*/run.json")).read_text())
    assert record["status"] == "succeeded"
    assert record["parameters"]["N_ESTIMATORS"] == 50
    assert record["metrics"]["accuracy"] > 0.9


def _processes_with(variable: bytes, title: bytes) -> list[int]:
    """The processes whose environment holds ``variable``, or whose command line (a title
    it set itself, as Airflow's API server does) holds ``title``."""
    import os

    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                with open(f"/proc/{entry}/environ", "rb") as handle:
                    environment = handle.read().split(b"\0")
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    command = handle.read()
            except OSError:
                continue
            if variable in environment or title in command:
                found.append(int(entry))
    return found



@pytest.mark.parametrize("connection, expected", [
    ('{"conn_type": "http", "host": "mlflow.internal", "port": 5000}',
     "http://mlflow.internal:5000"),
    ('{"conn_type": "generic", "extra": {"tracking_uri": "databricks"}}', "databricks"),
])
def test_a_task_finds_mlflow_through_an_airflow_connection(airflow, tmp_path, connection,
                                                            expected):
    """Deployed, a task has no MLFLOW_TRACKING_URI: the `mlflow_default` connection names
    the server (Airflow's own Connection lookup, here from its environment backend)."""
    script = ("import os\nfrom nb2pipe.run.airflow_tasks import _tracking_uri\n"
              "_tracking_uri()\nprint(os.environ.get('MLFLOW_TRACKING_URI'))")
    done = subprocess.run([str(airflow.parent / "python"), "-c", script], capture_output=True,
                          text=True, env={"AIRFLOW_HOME": str(tmp_path / "home"),
                                          "AIRFLOW_CONN_MLFLOW_DEFAULT": connection,
                                          "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == expected


POD_SCRIPT = """
import json, os, subprocess, sys, types
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk.definitions.param import process_params

folder, conf = sys.argv[1], json.loads(sys.argv[2])
bag = DagBag(dag_folder=os.path.join(folder, "airflow"))
assert not bag.import_errors, bag.import_errors
(dag,) = bag.dags.values()
dag_run = types.SimpleNamespace(conf=conf, run_id="manual__2026-12-06T10:00:00+00:00")
done, order = set(), []
while len(order) < len(dag.tasks):  # Airflow's order: each task after its upstream ones
    task = next(t for t in dag.tasks if t.task_id not in done and t.upstream_task_ids <= done)
    order.append(task)
    done.add(task.task_id)
pods = []
for task in order:
    context = {"run_id": dag_run.run_id, "dag_run": dag_run,
               "params": process_params(dag, task, conf, suppress_exception=False)}
    task.render_template_fields(context)
    pod = task.build_pod_request_obj(dry_run=True)
    (container,) = pod.spec.containers
    env = {e.name: e.value for e in container.env}
    (volume,) = pod.spec.volumes
    pods.append({"task": task.task_id, "kind": type(task).__name__,
                 "image": container.image, "namespace": pod.metadata.namespace,
                 "claim": volume.persistent_volume_claim.claim_name,
                 "mounts": [m.mount_path for m in container.volume_mounts],
                 "command": container.command + container.args, "env": env})
    # the container's command, run here as the pod would run it (no container runtime here)
    ran = subprocess.run([sys.executable, *container.command[1:], *container.args],
                         env={**env, "PATH": os.environ["PATH"], "HOME": os.environ["HOME"]},
                         cwd="/", capture_output=True, text=True)
    pods[-1].update(code=ran.returncode, output=(ran.stdout + ran.stderr)[-1500:])
    if ran.returncode:
        break
print(json.dumps(pods))
"""


@pytest.mark.slow
def test_the_pod_variant_runs_each_task_in_a_pod_of_the_image(airflow, tmp_path,
                                                               monkeypatch):
    """`--airflow-tasks pod --image`: every task is a KubernetesPodOperator of the image, the
    deployed folder mounted from the DAGs volume where the workers see it. With no cluster
    here, the Kubernetes provider builds each pod (templates rendered by Airflow with a DAG
    run's conf and params), and the pod's own command and environment are run in turn: the
    run gets the papermill engine's metrics and registers the model."""
    shutil.copy(SAMPLE, tmp_path / SAMPLE.name)
    code, _, err = run_cli("convert", tmp_path / SAMPLE.name, "-o", tmp_path / "pipe",
                           "--target", "airflow", "--airflow-tasks", "pod")
    assert code != 0 and "--airflow-tasks pod runs each task in a pod of --image" in err
    assert not (tmp_path / "pipe").exists()
    code, _, err = run_cli("convert", tmp_path / SAMPLE.name, "-o", tmp_path / "pipe",
                           "--target", "airflow", "--airflow-tasks", "pod", "--image",
                           "registry.example/classifier:1")
    assert code == 0, err
    assert "FROM python:3.11-slim" in (tmp_path / "pipe" / "airflow" / "Dockerfile").read_text()
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli("run", tmp_path / "pipe", "--tracking", "none", "--no-html",
                           "-p", "N_ESTIMATORS=150")
    assert code == 0, err
    (papermill,) = (tmp_path / "pipe" / "runs").iterdir()
    expected = json.loads((papermill / "run.json").read_text())["metrics"]

    dags = tmp_path / "dags"
    dags.mkdir()
    code, _, err = run_cli("submit", tmp_path / "pipe", "--to", "airflow", "--dags-folder", dags)
    assert code == 0, err
    deployed = dags / "classifier-pipeline" / "pipe"
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    done = subprocess.run(
        [str(airflow.parent / "python"), "-c", POD_SCRIPT, str(deployed),
         json.dumps({"N_ESTIMATORS": 150})], capture_output=True, text=True,
        env={"AIRFLOW_HOME": str(tmp_path / ".airflow"), "PATH": f"{airflow.parent}:/usr/bin:/bin",
             "HOME": str(tmp_path), "NB2PIPE_NAMESPACE": "ml", "MLFLOW_TRACKING_URI": store})
    assert done.returncode == 0, done.stderr[-3000:]
    pods = json.loads(done.stdout.strip().splitlines()[-1])
    assert [p["task"] for p in pods] == ["start", "load_data", "split", "train", "evaluate",
                                         "metrics", "finish"]
    for pod in pods:
        assert pod["code"] == 0, pod
        assert pod["kind"] == "KubernetesPodOperator"
        assert pod["image"] == "registry.example/classifier:1" and pod["namespace"] == "ml"
        assert pod["claim"] == "airflow-dags" and pod["mounts"] == [str(dags)]
        assert pod["env"]["MLFLOW_TRACKING_URI"] == store
        assert json.loads(pod["env"]["NB2PIPE_AIRFLOW_PARAMS"])["N_ESTIMATORS"] == 150
    (run,) = (deployed / "runs").iterdir()
    assert run.name == "airflow-manual__2026-12-06T10_00_00_00_00"
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "succeeded" and record["metrics"] == expected
    assert record["parameters"]["N_ESTIMATORS"] == 150

    import mlflow

    versions = mlflow.MlflowClient(store).search_model_versions("name='classifier-pipeline'")
    assert [int(v.version) for v in versions] == [1]


@pytest.mark.slow
def test_the_churn_sample_of_level1_runs_in_airflow_as_with_papermill(airflow, tmp_path,
                                                                      monkeypatch):
    """docs/level1.md's journey with --target airflow: a level-0 notebook fixed, converted
    with --auto and a gate, its data file as the DAG's asset; `airflow dags test` reports each
    step as it starts, keeps the executed step notebooks, gets the papermill engine's metrics,
    validates the frames and registers the model once."""
    project = tmp_path / "churn"
    project.mkdir()
    shutil.copy(ROOT / "sample_notebooks" / "churn_level0.ipynb", project)
    shutil.copytree(ROOT / "sample_notebooks" / "data", project / "data")
    monkeypatch.chdir(project)
    code, _, err = run_cli("check", "churn_level0.ipynb", "--fix")
    assert "Traceback" not in err, err
    code, _, err = run_cli("convert", "--auto", "churn_level0.ipynb", "-o", "churn-pipeline",
                           "--target", "airflow", "--gate", "accuracy>=0.7",
                           "--gate", "f1>=champion")
    assert code == 0, err
    dag = next((project / "churn-pipeline" / "airflow").glob("*.py")).read_text()
    assert "_asset('data/churn.csv')" in dag
    code, _, err = run_cli("run", "churn-pipeline", "--tracking", "none", "--no-html",
                           "--no-validate")
    assert code == 0, err
    (papermill,) = (project / "churn-pipeline" / "runs").iterdir()
    expected = json.loads((papermill / "run.json").read_text())["metrics"]
    assert expected

    monkeypatch.setenv("NB2PIPE_AIRFLOW", str(airflow))
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    code, _, err = run_cli("run", "churn-pipeline", "--engine", "airflow")
    assert code == 0, err
    steps = json.loads((project / "churn-pipeline" / "pipeline.json").read_text())["steps"]
    assert "as Airflow DAG `churn-level0`" in err, err
    assert f"[{len(steps)}/{len(steps)}] {steps[-1]['name']} …" in err, err  # progress, live
    run = max((project / "churn-pipeline" / "runs").iterdir(), key=lambda p: p.stat().st_mtime)
    record = json.loads((run / "run.json").read_text())
    assert record["engine"] == "airflow" and record["status"] == "succeeded"
    assert all(s["status"] == "succeeded" for s in record["steps"].values())
    assert all((run / "notebooks" / f"{s['name']}.ipynb").exists() for s in steps)
    assert record["metrics"] == expected
    assert record["gate"]["passed"] is True, record["gate"]
    assert record["validation"], record
    import mlflow

    versions = mlflow.MlflowClient(store).search_model_versions("name='churn-level0'")
    assert [int(v.version) for v in versions] == [1]
