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

from tests.helpers import run_cli, write_notebook

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
    summary = next(iter(by_asset["dags"].values()))["schedule"]
    assert "rows.csv" in summary or "Asset" in summary, summary
    by_cron = dagbag(airflow, tmp_path / "cron")
    assert next(iter(by_cron["dags"].values()))["schedule"] == "0 3 * * *"


def test_airflow_runs_the_sample_with_papermills_metrics_and_registers_it(
        airflow, sample, tmp_path, monkeypatch):
    monkeypatch.setenv("NB2PIPE_AIRFLOW", str(airflow))
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli("run", sample, "--tracking", "none", "--no-html")
    assert code == 0, err
    runs = sorted((sample / "runs").iterdir())
    expected = json.loads((runs[-1] / "run.json").read_text())["metrics"]

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    code, out, err = run_cli("run", sample, "--engine", "airflow", "-p", "N_ESTIMATORS=200")
    assert code == 0, err
    assert "as Airflow DAG `classifier-pipeline`" in err and "[3/5] train …" in err
    runs = sorted((sample / "runs").iterdir())
    record = json.loads((runs[-1] / "run.json").read_text())
    assert record["engine"] == "airflow" and record["status"] == "succeeded"
    assert record["metrics"] == expected
    assert all(s["status"] == "succeeded" for s in record["steps"].values())
    assert (runs[-1] / "notebooks" / "train.ipynb").exists()

    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    versions = client.search_model_versions("name='classifier-pipeline'")
    assert [int(v.version) for v in versions] == [1]


def test_a_failing_step_fails_its_task_and_its_dependants_only(airflow, tmp_path,
                                                               monkeypatch):
    write_notebook(tmp_path / "nb.ipynb",
                   '# %% tags=["imports"]\nimport math\n'
                   '# %% tags=["step:good"]\nx = 2\nprint("good", x)\n'
                   '# %% tags=["step:bad"]\ny = 1\nz = math.sqrt(-y)\n'
                   '# %% tags=["step:after_bad"]\nprint(z)\n'
                   '# %% tags=["step:after_good"]\nprint(x * 2)\n')
    code, _, err = run_cli("convert", tmp_path / "nb.ipynb", "-o", tmp_path / "pipe",
                           "--target", "airflow")
    assert code == 0, err
    monkeypatch.setenv("NB2PIPE_AIRFLOW", str(airflow))
    code, out, err = run_cli("run", tmp_path / "pipe", "--engine", "airflow", "--tracking",
                             "none")
    assert code != 0
    assert "step `bad` failed in cell 3, line 2 of nb.ipynb: ValueError: math domain error" \
        in err, err
    runs = sorted((tmp_path / "pipe" / "runs").iterdir())
    steps = json.loads((runs[-1] / "run.json").read_text())["steps"]
    assert {name: s["status"] for name, s in steps.items()} == {
        "good": "succeeded", "bad": "failed", "after_bad": "skipped",
        "after_good": "succeeded"}
    assert steps["after_bad"]["error"]["message"] == "not run: step `bad` failed"
    assert "--engine airflow" in err and "--resume" not in err


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


def test_airflow_standalone_runs_the_dag_triggered_with_other_params(airflow, sample,
                                                                      tmp_path):
    """The real thing: `airflow standalone` (scheduler, API server, DAG processor, SQLite) on
    a localhost port picks the DAG up; `airflow dags trigger --conf` with another parameter
    value runs it to success, and the run record has that value and the metrics."""
    import os
    import signal
    import socket
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
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
