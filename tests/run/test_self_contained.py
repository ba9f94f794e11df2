"""A compiled pipeline carries what it needs to run on a cluster (issue K): the notebook's
local modules travel inside the components, its data files are inputs read through fsspec,
and kfp-local runs every step from an empty folder of its own, as a pod would. The data
comes from a real S3-compatible server on localhost (moto's server mode)."""

import json
from pathlib import Path

import pytest

from tests.helpers import run_cli, server_port

HELPER = '''"""What the study's notebook imports with `from helper import *`."""
import pandas as pd
from scaling import scale

__all__ = ["clean", "THRESHOLD"]
THRESHOLD = 0.5


def clean(frame: pd.DataFrame) -> pd.DataFrame:
    return scale(frame.dropna())


def _private():
    return 1
'''
SCALING = "def scale(frame):\n    return (frame - frame.mean()) / frame.std()\n"
NOTEBOOK = '''# %% tags=["imports"]
import pandas as pd
from sklearn.linear_model import LogisticRegression
from helper import *
# %% tags=["pipeline-parameters"]
C = 1.0
# %% tags=["step:load"]
df = pd.read_csv("data.csv")
X = clean(df[["a", "b"]])
y = (df["a"] + df["b"] > 2 * THRESHOLD).astype(int)
# %% tags=["step:train"]
model = LogisticRegression(C=C).fit(X, y)
accuracy = model.score(X, y)
# %% tags=["pipeline-metrics"]
accuracy
'''


@pytest.fixture
def study(tmp_path):
    from tests.helpers import write_notebook

    folder = tmp_path / "study"
    folder.mkdir()
    (folder / "helper.py").write_text(HELPER)
    (folder / "scaling.py").write_text(SCALING)
    rows = ["a,b"] + [f"{(i * 37 % 101) / 101:.4f},{(i * 53 % 97) / 97:.4f}" for i in range(300)]
    (folder / "data.csv").write_text("\n".join(rows) + "\n")
    write_notebook(folder / "study.ipynb", NOTEBOOK)
    code, _, err = run_cli("convert", folder / "study.ipynb", "-o", folder / "pipeline")
    assert code == 0, err
    return folder, err


@pytest.fixture
def s3(monkeypatch):
    """moto's S3 server on a free localhost port, with a bucket; stopped after the test."""
    from moto.server import ThreadedMotoServer

    port = server_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    import urllib.request

    # moto keeps its buckets in the process, across servers: start from none
    urllib.request.urlopen(urllib.request.Request(
        f"http://127.0.0.1:{port}/moto-api/reset", method="POST"), timeout=10).close()
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1",
                        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}.items():
        monkeypatch.setenv(name, value)  # the steps' processes inherit these, as pods would
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()
    filesystem = s3fs.S3FileSystem()
    filesystem.mkdir("study-data")
    yield filesystem
    server.stop()


def _metrics(folder) -> dict:
    runs = sorted((folder / "pipeline" / "runs").iterdir())
    record = json.loads((runs[-1] / "run.json").read_text())
    assert record["status"] == "succeeded", record
    return record["metrics"]


def test_local_modules_ship_with_the_pipeline_and_stay_out_of_requirements(study):
    folder, err = study
    assert "Local modules shipped inside the Kubeflow components" in err
    assert "helper.py, scaling.py" in err  # scaling.py: helper imports it
    requirements = (folder / "pipeline" / "requirements.txt").read_text()
    assert "helper" not in requirements and "scaling" not in requirements
    assert "not installed here" not in err
    code, _, _ = run_cli("check", folder / "study.ipynb", "--select", "NB106")
    assert code == 0  # `clean` and THRESHOLD come from helper's __all__


@pytest.mark.slow
def test_it_runs_from_an_empty_folder_reading_s3_with_the_notebooks_metrics(study, s3):
    folder, _ = study
    code, _, err = run_cli("run", folder / "pipeline", "--tracking", "none", "--no-html")
    assert code == 0, err
    expected = _metrics(folder)
    assert expected["accuracy"] > 0.5

    code, _, err = run_cli("run", folder / "pipeline", "--engine", "kfp-local", "--tracking",
                           "none", "--upload", "s3://study-data/v1")
    assert code == 0, err
    assert "uploaded 1 data file" in err
    assert "[1/3] load …" in err and "    train: ok (" in err  # each task as it starts, ends
    assert s3.find("study-data/v1") == ["study-data/v1/data.csv"]
    assert _metrics(folder) == expected

    # the steps only have what was declared: a data folder without the file fails as a pod
    # would, naming the file
    code, out, err = run_cli("run", folder / "pipeline", "--engine", "kfp-local", "--tracking",
                             "none", "--data-dir", "s3://study-data/empty")
    assert code != 0
    assert "No such file or directory: 'data.csv'" in out + err
    assert "nb2pipe run" in err and "--data-dir s3://study-data/empty" in err  # to run again


def test_submit_dry_run_needs_no_host_and_lists_the_uploads(study):
    folder, _ = study
    code, out, err = run_cli("submit", folder / "pipeline", "--dry-run", "--output-format", "json", "--upload",
                             "s3://study-data/v2")
    assert code == 0, err
    request = json.loads(out)
    assert request["host"] is None
    assert request["data"]["would_upload_to"] == "s3://study-data/v2"
    assert [f["key"] for f in request["data"]["files"]] == ["data.csv"]
    assert request["runs"][0]["arguments"]["nb2pipe_data_dir"] == "s3://study-data/v2"
    # the data folder as a parameter, as Kubeflow users write it
    code, out, err = run_cli("submit", folder / "pipeline", "--dry-run", "--output-format", "json", "-p",
                             "DATA_DIR=s3://study-data/v3", "-p", "C=0.5")
    assert code == 0, err
    arguments = json.loads(out)["runs"][0]["arguments"]
    assert arguments["nb2pipe_data_dir"] == "s3://study-data/v3" and arguments["C"] == 0.5
    # without a data folder, a real submit stops before sending anything, and says why
    code, _, err = run_cli("submit", folder / "pipeline", "--host", "http://127.0.0.1:9")
    assert code == 2 and "--upload s3://BUCKET/PREFIX" in err


def test_a_path_computed_at_run_time_is_a_convert_warning_with_its_place(tmp_path):
    from tests.helpers import write_notebook

    write_notebook(tmp_path / "nb.ipynb",
                   '# %% tags=["step:load"]\nimport pandas as pd\nimport glob\n'
                   'frame = pd.read_csv(sorted(glob.glob("*.csv"))[0])\n'
                   '# %% tags=["step:use"]\nrows = len(frame)\n')
    code, _, err = run_cli("convert", tmp_path / "nb.ipynb", "-o", tmp_path / "pipeline")
    assert code == 0, err
    assert 'cell 1, line 3: `sorted(glob.glob("*.csv"))[0]` is computed at run time' in err


def test_staging_never_replaces_a_file_of_this_machine(tmp_path, monkeypatch):
    """A notebook that reads an absolute path gets that file from the data folder on a pod;
    here, where the path exists, the user's file is read where it is, never overwritten."""
    from nb2pipe.runtime import data_key, stage_data

    mine = tmp_path / "home" / "data.csv"
    mine.parent.mkdir()
    mine.write_text("mine\n")
    store = tmp_path / "store"
    staged = store / data_key(str(mine))
    staged.parent.mkdir(parents=True)
    staged.write_text("other version\n")
    (store / "rel.csv").write_text("relative\n")
    monkeypatch.chdir(tmp_path)
    work = stage_data(store.as_uri(), [str(mine), "rel.csv"])
    assert mine.read_text() == "mine\n"
    assert (Path(work) / "rel.csv").read_text() == "relative\n"


def test_kfp_local_runs_every_step_in_an_empty_folder_of_its_own(tmp_path, monkeypatch):
    """Steps that read no data file too (issue J, point 12): a file one step leaves in its
    working folder is not there for the next, as on a cluster."""
    from tests.helpers import write_notebook

    monkeypatch.chdir(tmp_path)
    write_notebook(tmp_path / "nb.ipynb",
                   '# %% tags=["step:first"]\nimport os\nopen("left.txt", "w").write("x")\n'
                   'first = (os.getcwd(), sorted(os.listdir(".")))\n'
                   '# %% tags=["step:second"]\nimport os\n'
                   'second = (os.getcwd(), sorted(os.listdir(".")))\n'
                   'assert second[1] == [] and second[0] != first[0], (first, second)\n')
    code, _, err = run_cli("convert", "nb.ipynb", "-o", "pipeline")
    assert code == 0, err
    code, _, err = run_cli("run", "pipeline", "--engine", "kfp-local", "--tracking", "none",
                           "--no-validate")
    assert code == 0, err


@pytest.mark.slow
def test_lineage_records_the_object_the_steps_read(study, s3, monkeypatch):
    """`--data-dir s3://…`: run.json and MLflow's dataset record the object's URI and its
    ETag, not the hash of a local file of the same name (which may differ); a changed object
    makes `--if-changed` run again, an unchanged one does not."""
    folder, _ = study
    s3.put(str(folder / "data.csv"), "study-data/v5/data.csv")
    (folder / "data.csv").write_text("a,b\n0.5,0.5\n")  # the local copy differs now
    tracking = f"sqlite:///{folder / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking)
    code, _, err = run_cli("run", folder / "pipeline", "--engine", "kfp-local", "--tracking",
                           "mlflow", "--data-dir", "s3://study-data/v5")
    assert code == 0, err
    runs = sorted((folder / "pipeline" / "runs").iterdir())
    data = json.loads((runs[-1] / "run.json").read_text())["lineage"]["data"]
    etag = s3.info("study-data/v5/data.csv")["ETag"].strip('"')
    assert [(d["uri"], d["etag"]) for d in data] == [("s3://study-data/v5/data.csv", etag)]
    assert "sha256" not in data[0]

    import mlflow

    client = mlflow.MlflowClient(tracking)
    run = client.search_runs([client.get_experiment_by_name("study").experiment_id],
                             "tags.`nb2pipe.fingerprint` != ''")[0]
    inputs = [i.dataset for i in run.inputs.dataset_inputs]
    assert [(d.name, d.digest) for d in inputs] == [("data.csv", etag[:16])]
    assert "s3://study-data/v5/data.csv" in inputs[0].source

    code, _, err = run_cli("run", folder / "pipeline", "--engine", "kfp-local", "--tracking",
                           "mlflow", "--data-dir", "s3://study-data/v5", "--if-changed")
    assert code == 0 and "up to date" in err, err
    s3.pipe("study-data/v5/data.csv", b"a,b\n" + b"0.1,0.9\n0.9,0.1\n" * 40)
    code, _, err = run_cli("run", folder / "pipeline", "--engine", "kfp-local", "--tracking",
                           "mlflow", "--data-dir", "s3://study-data/v5", "--if-changed",
                           "--no-validate")
    assert "up to date" not in err, err
