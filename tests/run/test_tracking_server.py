"""Level 1 against a real MLflow tracking server (``mlflow server``, from the full mlflow
package in .cache/mlflow-full, which scripts/mlflow_full.sh installs): the run logs through
HTTP, the model's artifacts go through the server's artifact proxy, the gate reads the
champion from the server's registry, and `models` and `rollback` work on it."""

import contextlib
import http.client
import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import run_cli, server_port, write_notebook
from tests.run.test_level1 import NOTEBOOK, make_data

ROOT = Path(__file__).resolve().parents[2]
MLFLOW = ROOT / ".cache" / "mlflow-full" / "bin" / "mlflow"


def _start(store: Path):
    """``mlflow server`` on a free port: its URL and process once it answers, or None when
    it stopped first (its port taken meanwhile)."""
    port = server_port()
    log = open(store / "server.log", "w")
    server = subprocess.Popen(
        [str(MLFLOW), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
         "--backend-store-uri", f"sqlite:///{store / 'server.db'}",
         "--artifacts-destination", str(store / "artifacts")],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    try:
        while server.poll() is None:
            try:
                with urllib.request.urlopen(url + "/health", timeout=2) as answer:
                    if answer.status == 200:
                        return url, server
            except (OSError, http.client.HTTPException):  # not up yet (or not ours)
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("mlflow server did not start:\n" +
                                   (store / "server.log").read_text()[-3000:])
            time.sleep(1)
    except BaseException:  # (no server is left behind by a test that stopped here)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
        raise
    return None


@pytest.fixture(scope="module")
def tracking_server(tmp_path_factory):
    if not MLFLOW.exists():
        subprocess.run([str(ROOT / "scripts" / "mlflow_full.sh")], check=True)
    store = tmp_path_factory.mktemp("mlflow-server")
    for _ in range(3):
        started = _start(store)
        if started:
            break
    else:
        raise RuntimeError("mlflow server stopped three times:\n" +
                           (store / "server.log").read_text()[-3000:])
    url, server = started
    yield url
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=3)
    except subprocess.TimeoutExpired:  # (its graceful shutdown takes ten seconds)
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)


@pytest.mark.slow
def test_the_gate_and_the_registry_work_against_a_tracking_server(tracking_server, tmp_path,
                                                                   monkeypatch):
    from mlflow import MlflowClient

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_server)
    make_data().to_csv(tmp_path / "data.csv", index=False)
    write_notebook(tmp_path / "model.ipynb", NOTEBOOK)
    code, _, err = run_cli("convert", "model.ipynb", "-o", "pipeline", "--gate",
                           "accuracy>=0.6", "--gate", "accuracy>=champion")
    assert code == 0, err

    def last_record() -> dict:
        runs = sorted((tmp_path / "pipeline" / "runs").iterdir())
        return json.loads((runs[-1] / "run.json").read_text())

    code, out, err = run_cli("run", "pipeline", "-p", "C=0.01")
    assert code == 0, err
    assert "registered model version 1 as `champion`" in out.strip().splitlines()[-1]
    assert not (tmp_path / "mlflow.db").exists()  # nothing went to a local store
    record = last_record()
    assert record["tracking"]["uri"] == tracking_server
    client = MlflowClient(tracking_uri=tracking_server, registry_uri=tracking_server)
    name = record["pipeline"]
    champion = client.get_model_version_by_alias(name, "champion")
    assert int(champion.version) == 1
    assert champion.run_id == record["tracking"]["run_id"]
    run = client.get_run(record["tracking"]["run_id"])
    assert run.data.tags["nb2pipe.gate"] == "passed"
    assert [i.dataset.name for i in run.inputs.dataset_inputs] == ["data.csv"]  # lineage
    # a worse model stays out; a better one becomes the champion, through the server
    code, out, err = run_cli("run", "pipeline", "-p", "C=0.00001")
    assert code == 3, err
    assert int(client.get_model_version_by_alias(name, "champion").version) == 1
    code, out, err = run_cli("run", "pipeline", "-p", "C=1.0")
    assert code == 0, err
    assert int(client.get_model_version_by_alias(name, "champion").version) == 2
    assert int(client.get_model_version_by_alias(name, "previous").version) == 1
    # the model's files went through the server's artifact proxy, and load back
    import mlflow

    from nb2pipe.tracking.registry import using

    with using(tracking_server):
        loaded = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    assert loaded.metadata.run_id == last_record()["tracking"]["run_id"]
    code, out, err = run_cli("models", "pipeline")
    assert code == 0, err
    assert tracking_server in out and "version 2" in out and "champion" in out
    code, out, err = run_cli("rollback", "pipeline")
    assert code == 0, err
    assert int(client.get_model_version_by_alias(name, "champion").version) == 1
