"""Level 1 for real: data validation against recorded baselines, the model gate with MLflow's
registry, lineage and `run --if-changed` — real papermill runs, twice or more, on data the
tests change in between."""

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import run_cli, write_notebook

#: A small pipeline that reads a CSV: load → prepare → train → evaluate → metrics.
NOTEBOOK = '''# %% tags=["imports"]
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
# %% tags=["pipeline-parameters"]
C = 1.0
# %% tags=["step:load"]
table = pd.read_csv("data.csv")
# %% tags=["step:prepare", "prev:load"]
features = pd.get_dummies(table.drop(columns=["label"]), columns=["colour"], dtype=float)
labels = table["label"]
# %% tags=["step:train", "prev:prepare"]
model = LogisticRegression(C=C, max_iter=500)
model.fit(features, labels)
# %% tags=["step:evaluate", "prev:train"]
accuracy = float(accuracy_score(labels, model.predict(features)))
# %% tags=["pipeline-metrics"]
print(accuracy)
'''


def make_data(rows: int = 300, seed: int = 3):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    size = rng.normal(10, 2, rows)
    colour = rng.choice(["red", "green", "blue"], rows)
    label = ((size + np.where(colour == "red", 2.0, 0.0) + rng.normal(0, 1, rows)) > 11)
    return pd.DataFrame({"size": size, "count": rng.integers(0, 5, rows), "colour": colour,
                         "label": label.astype(int)})


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A notebook, its data and its converted pipeline (with a gate)."""
    monkeypatch.chdir(tmp_path)
    make_data().to_csv(tmp_path / "data.csv", index=False)
    write_notebook(tmp_path / "model.ipynb", NOTEBOOK)
    code, _, err = run_cli("convert", "model.ipynb", "-o", "pipeline", "--gate",
                           "accuracy>=0.6", "--gate", "accuracy>=champion")
    assert code == 0, err
    return tmp_path


def run(*args):
    return run_cli("run", "pipeline", *args)


def last_record(project) -> dict:
    runs = sorted((project / "pipeline" / "runs").iterdir())
    return json.loads((runs[-1] / "run.json").read_text())


def test_the_first_run_records_a_baseline_and_broken_data_stops_the_run(project):
    code, out, err = run("--tracking", "none")
    assert code == 0, err
    baselines = project / "pipeline" / "validation"
    assert (baselines / "load.table.schema.yaml").exists()
    schema = (baselines / "load.table.schema.yaml").read_text()
    assert "colour:" in schema and "- red" in schema and "coerce: true" not in schema
    profile = json.loads((baselines / "load.table.profile.json").read_text())
    assert profile["rows"] == 300 and len(profile["columns"]["size"]["shares"]) == 10
    assert "Recorded the data baseline of" in err
    clean = make_data()
    broken = {
        "dtype": (lambda f: f.assign(count=f["count"].astype(float)),
                  "column `count` dtype int64 expected, got float64"),
        "category": (lambda f: f.assign(colour=f["colour"].where(f.index > 2, "purple")),
                     "column `colour` has values the baseline never had, 3 rows (e.g. 'purple')"),
        "nulls": (lambda f: f.assign(size=f["size"].where(f.index > 4)),
                  "column `size` has nulls (the baseline had none), 5 rows"),
        "dropped": (lambda f: f.drop(columns=["count"]),
                    "column `count` is missing (the baseline has it)"),
    }
    for name, (change, expected) in broken.items():
        change(clean.copy()).to_csv(project / "data.csv", index=False)
        code, out, err = run("--tracking", "none")
        assert code == 4, (name, err)
        assert "data validation failed for `load.table`" in err and expected in err, (name, err)
        record = last_record(project)
        assert record["steps"]["load"]["status"] == "failed"
        assert record["steps"]["prepare"]["status"] == "skipped", name  # consumers never ran
        assert record["validation"]["status"] == "failed"
        assert "Traceback" not in err
    # the baselines are untouched by failing runs
    assert (baselines / "load.table.schema.yaml").read_text() == schema


@pytest.mark.slow
def test_drift_warns_fails_with_strict_and_baseline_accepts_the_new_data(project):
    assert run("--tracking", "none")[0] == 0
    shifted = make_data(seed=4)
    shifted["size"] = shifted["size"] + 3  # same schema, another distribution
    shifted.to_csv(project / "data.csv", index=False)
    code, out, err = run("--tracking", "none")
    assert code == 0, err
    assert "warning: `load.table` drifted: column `size` has PSI" in err
    record = last_record(project)
    assert record["validation"]["frames"]["load.table"]["drift"]["size"] > 0.2
    assert record["validation"]["frames"]["load.table"]["drift"]["count"] < 0.2
    # the drift report a person opens: the drifted column first, its bins side by side
    assert "data validation report: " in err
    page = (project / "pipeline" / "runs" / record["run_id"] / record["validation"]["report"])
    text = page.read_text()
    assert text.index("<code>size</code>") < text.index("<code>count</code>")
    assert "class=over" in text.split("<code>size</code>")[0].rsplit("<tr", 1)[1]
    assert "baseline 10.0%, this run" in text  # decile bins: a tenth of the baseline each
    code, out, err = run("--tracking", "none", "--strict")
    assert code == 4 and "column `size` drifted" in err
    strict_run = last_record(project)["run_id"]
    code, _, err = run_cli("baseline", "pipeline", strict_run)
    assert code == 0, err
    assert "Accepted the data of run" in err and "load.table" in err
    assert "Dropped the baselines of" in err  # the frames the strict run never reached
    code, _, err = run("--tracking", "none", "--strict")
    assert code == 0, err
    assert last_record(project)["validation"]["status"] in ("passed", "recorded")
    assert "drifted" not in err


def test_no_validate_skips_it(project):
    assert run("--tracking", "none")[0] == 0
    make_data().drop(columns=["count"]).to_csv(project / "data.csv", index=False)
    code, _, err = run("--tracking", "none", "--no-validate")
    assert code == 0, err  # the dropped column goes unnoticed: nothing validates it
    assert "data validation" not in err
    assert last_record(project)["validation"] == {"status": "off"}


@pytest.mark.slow
def test_the_gate_promotes_better_models_only_and_rollback_restores(project):
    from mlflow import MlflowClient

    code, out, err = run("-p", "C=0.01")
    assert code == 0, err
    assert "registered model version 1 as `champion`" in out.strip().splitlines()[-1]
    uri = "sqlite:///" + str(project / "mlflow.db")
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    name = last_record(project)["pipeline"]
    assert int(client.get_model_version_by_alias(name, "champion").version) == 1
    version = client.get_model_version(name, "1")
    assert version.run_id == last_record(project)["tracking"]["run_id"]
    # a worse model: the gate says no, with a distinct exit code, and no alias moves
    code, out, err = run("-p", "C=0.00001")
    assert code == 3, err
    last = out.strip().splitlines()[-1]
    assert last.startswith("model gate NOT passed") and "champion" in last
    record = last_record(project)
    assert record["gate"]["passed"] is False and record["gate"]["registered"] is None
    assert int(client.get_model_version_by_alias(name, "champion").version) == 1
    run_tags = client.get_run(record["tracking"]["run_id"]).data.tags
    assert run_tags["nb2pipe.gate"] == "failed" and "NOT met" in run_tags["nb2pipe.gate.reasons"]
    # a better one is registered and becomes the champion; the old one is `previous`
    code, out, err = run("-p", "C=1.0")
    assert code == 0, err
    assert "registered" in out.strip().splitlines()[-1]
    assert int(client.get_model_version_by_alias(name, "champion").version) == 2
    assert int(client.get_model_version_by_alias(name, "previous").version) == 1
    model = client.get_model_version(name, "2")
    assert json.loads(model.tags["nb2pipe.metrics"])["accuracy"] > 0.6
    code, out, _ = run_cli("models", "pipeline")
    assert code == 0 and "version 2" in out and "champion" in out and "previous" in out
    # the registered model loads and predicts, with its signature
    import mlflow

    from nb2pipe.tracking.registry import using

    with using(uri):
        loaded = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    assert loaded.metadata.signature is not None
    code, out, err = run_cli("rollback", "pipeline")
    assert code == 0, err
    assert int(client.get_model_version_by_alias(name, "champion").version) == 1
    code, out, err = run_cli("promote", "pipeline", "7")
    assert code == 2 and "no version 7" in err


def test_if_changed_runs_only_when_data_code_or_parameters_change(project):
    code, _, err = run("--tracking", "none", "--if-changed")
    assert code == 0 and "succeeded" in last_record(project)["status"]
    first = last_record(project)
    assert first["lineage"]["data"][0]["path"] == "data.csv"
    assert len(first["lineage"]["data"][0]["sha256"]) == 64
    code, _, err = run("--tracking", "none", "--if-changed")
    assert code == 0 and f"up to date (last run {first['run_id']})" in err
    assert last_record(project)["run_id"] == first["run_id"]
    data = (project / "data.csv").read_bytes()
    at = data.index(b"\n") + 2  # the second digit of the first row's `size`: one byte
    changed = data[:at] + (b"7" if data[at:at + 1] != b"7" else b"6") + data[at + 1:]
    (project / "data.csv").write_bytes(changed)
    assert len(changed) == len(data) and changed != data
    code, _, err = run("--tracking", "none", "--if-changed")
    assert code in (0, 3, 4) and "up to date" not in err
    second = last_record(project)
    assert second["run_id"] != first["run_id"]
    assert second["lineage"]["fingerprint"] != first["lineage"]["fingerprint"]
    (project / "data.csv").write_bytes(data)
    assert run("--tracking", "none", "--if-changed")[0] == 0  # back to the first data: runs
    code, _, err = run("--tracking", "none", "--if-changed")
    assert "up to date" in err
    code, _, err = run("--tracking", "none", "--if-changed", "-p", "C=2.0")
    assert "up to date" not in err and last_record(project)["parameters"] == {"C": 2.0}


def test_bad_level1_input_gets_one_clear_line(project, monkeypatch):
    code, _, err = run_cli("convert", "model.ipynb", "-o", "other", "--gate", "auc>=0.9")
    assert code == 2 and "the pipeline has no metric `auc` (its metrics: `accuracy`)" in err
    assert not (project / "other").exists()
    code, _, err = run_cli("convert", "model.ipynb", "-o", "other", "--gate", "accuracy=>0.9")
    assert code == 2 and "is not a gate condition" in err and "Traceback" not in err
    assert run("--tracking", "none")[0] == 0
    schema = project / "pipeline" / "validation" / "load.table.schema.yaml"
    schema.write_text("columns: [unclosed\n")
    code, _, err = run("--tracking", "none")
    assert code == 2 and "load.table.schema.yaml" in err and "not valid YAML" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    schema.unlink()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    code, _, err = run()
    assert code == 2 and "cannot reach the MLflow tracking server" in err
    code, _, err = run_cli("models", "pipeline")
    assert code == 2 and "cannot reach" in err and "Traceback" not in err


def test_a_gate_tag_in_the_notebook_is_read_and_checked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    make_data().to_csv(tmp_path / "data.csv", index=False)
    tagged = NOTEBOOK.replace('# %% tags=["pipeline-metrics"]',
                              '# %% tags=["pipeline-metrics", "gate:accuracy>=0.99"]')
    write_notebook(tmp_path / "model.ipynb", tagged)
    assert run_cli("convert", "model.ipynb", "-o", "pipeline")[0] == 0
    pipeline = json.loads((tmp_path / "pipeline" / "pipeline.json").read_text())
    assert pipeline["gate"] == ["accuracy>=0.99"]
    assert pipeline["model"] == {"step": "train", "name": "model", "input": "features"}
    code, out, _ = run_cli("run", "pipeline", "--tracking", "none")
    assert code == 3 and "NOT met" in out.strip().splitlines()[-1]
    write_notebook(tmp_path / "bad.ipynb", NOTEBOOK.replace(
        '# %% tags=["pipeline-metrics"]', '# %% tags=["pipeline-metrics", "gate:auc>=0.9"]'))
    code, _, err = run_cli("convert", "bad.ipynb", "-o", "bad")
    assert code == 1 and "NB401" in err and "no metric `auc`" in err


def imported_after(code: str, modules: tuple[str, ...]) -> list[str]:
    """Which of ``modules`` a fresh interpreter has imported after running ``code``."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", f"import sys\n{code}\n"
         f"print(','.join(m for m in {modules!r} if m in sys.modules))"],
        capture_output=True, text=True, cwd=Path(__file__).resolve().parent)
    assert result.returncode == 0, result.stderr
    return [m for m in result.stdout.strip().split(",") if m]


def test_check_stays_light():
    """Validation and the gate add nothing to what `nb2pipe check` imports."""
    assert imported_after("import nb2pipe.cli, nb2pipe.lint.runner",
                          ("pandas", "pandera", "mlflow", "kfp", "papermill")) == []


def test_a_run_registers_its_model_without_loading_mlflow_or_the_model(tmp_path):
    """The training step's kernel saves MLflow's files of the model (MLflow is loaded there
    already); the runner logs and registers them in the SQLite store without importing
    MLflow, scikit-learn or pandas, and without unpickling the model. The version loads with
    MLflow and predicts; the kernel's files are not left in the run's folder."""
    import subprocess
    import sys

    make_data().to_csv(tmp_path / "data.csv", index=False)
    write_notebook(tmp_path / "model.ipynb", NOTEBOOK)
    for command in (["convert", "model.ipynb", "-o", "pipeline"],
                    ["run", "pipeline", "--no-html"]):  # (the store made: MLflow made it)
        done = subprocess.run([sys.executable, "-m", "nb2pipe", *command], cwd=tmp_path,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-3000:]
    script = ("import sys\nfrom nb2pipe.cli import main\n"
              "code = main(['run', 'pipeline', '--no-html', '--no-cache'])\n"
              "print('LOADED', sorted(m for m in ('mlflow', 'sklearn', 'pandas') "
              "if m in sys.modules))\nsys.exit(code)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "registered model version 2 as `champion`" in done.stdout
    assert "LOADED []" in done.stdout
    record = last_record(tmp_path)
    assert not (tmp_path / "pipeline" / "runs" / record["run_id"] / "model").exists()
    import mlflow

    from nb2pipe.tracking.registry import using

    uri = "sqlite:///" + str(tmp_path / "mlflow.db")
    with using(uri):
        loaded = mlflow.pyfunc.load_model(f"models:/{record['pipeline']}@champion")
    assert loaded.metadata.run_id == record["tracking"]["run_id"]
    frame = make_data(60, seed=8)
    import pandas as pd

    features = pd.get_dummies(frame.drop(columns=["label"]), columns=["colour"], dtype=float)
    assert set(loaded.predict(features)) <= {0, 1}


def test_a_run_with_no_gate_condition_never_imports_mlflow():
    """The gate imports MLflow only for a condition its thresholds say: an untracked run of
    a pipeline with a model and no condition (or only strict ones) does not pay its import."""
    assert imported_after(
        "from nb2pipe.pipeline.gate import parse_all\n"
        "from nb2pipe.tracking.registry import evaluate\n"
        "assert evaluate([], {'accuracy': 0.9}, None).passed\n"
        "assert evaluate(parse_all(['accuracy>0.5']), {'accuracy': 0.9}, None).passed",
        ("mlflow",)) == []


@pytest.mark.slow
def test_kfp_local_validates_gates_and_registers_like_papermill(project):
    """The compiled Kubeflow pipeline, run by kfp's local runner: the same baselines, the
    same validation failure, and the gate as `validate_model` + `dsl.If` + `register_model`."""
    from mlflow import MlflowClient

    dsl = (project / "pipeline" / "kfp" / "pipeline.py").read_text()
    assert "def validate_model(" in dsl and 'dsl.If(validate_model_task.output == "register"' \
        in dsl and "nb2pipe_validation: str" in dsl
    code, out, err = run("--engine", "kfp-local", "-p", "C=0.01")
    assert code == 0, err
    assert "registered model version 1 as `champion`" in out.strip().splitlines()[-1]
    assert (project / "pipeline" / "validation" / "prepare.features.schema.yaml").exists()
    record = last_record(project)
    assert record["engine"] == "kfp-local" and record["gate"]["passed"] is True
    assert record["lineage"]["data"][0]["path"] == "data.csv"
    data = (project / "data.csv").read_text()
    make_data().assign(colour="purple").to_csv(project / "data.csv", index=False)
    code, out, err = run("--engine", "kfp-local")
    assert code == 4, err
    assert "column `colour` has values the baseline never had, 300 rows" in err
    assert last_record(project)["steps"]["train"]["status"] != "succeeded"
    (project / "data.csv").write_text(data)
    code, out, err = run("--engine", "kfp-local", "-p", "C=1.0")
    assert code == 0, err
    uri = "sqlite:///" + str(project / "mlflow.db")
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    assert int(client.get_model_version_by_alias("model", "champion").version) == 2
    assert int(client.get_model_version_by_alias("model", "previous").version) == 1
    # the dry run shows what travels: the baselines' schemas and the gate
    code, out, err = run_cli("submit", "pipeline", "--dry-run", "--output-format", "json")
    assert code == 0, err
    request = json.loads(out)
    assert "load.table" in request["level1"]["validation"]["frames"]
    assert request["level1"]["gate"]["conditions"] == ["accuracy>=0.6", "accuracy>=champion"]
    settings = json.loads(request["runs"][0]["arguments"]["nb2pipe_validation"])
    assert "colour" in settings["baselines"]["load.table"]["schema"]


def test_the_checklist_counts_level1_only_for_a_pipeline_with_its_parts(project):
    """A notebook alone is at most "ready for level 1"; the converted folder reaches level 1
    with a successful run (baselines, a registered model, lineage) and a trigger."""
    code, out, _ = run_cli("check", "--maturity", "pipeline")
    assert code == 0 and "pipeline: level 0 (1/6 level-1 items met)" in out  # the gate only
    assert "✗ Automated pipeline" in out and "never run" in out
    assert run("-p", "C=0.01")[0] == 0
    code, out, _ = run_cli("check", "--maturity", "pipeline")
    assert "pipeline: level 0 (5/6 level-1 items met)" in out
    assert "✗ Pipeline trigger" in out and "(Google, level 1: pipeline triggers)" in out
    workflows = project / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "retrain.yml").write_text("on: {schedule: [{cron: '0 3 * * *'}]}\n"
                                           "jobs: {r: {steps: [{run: nb2pipe run pipeline "
                                           "--if-changed}]}}\n")
    code, out, _ = run_cli("check", "--maturity", "pipeline", "--output-format", "json")
    (report,) = json.loads(out)["maturity"]
    assert report["kind"] == "pipeline" and report["level"] == 1 and report["stage"] == "level 1"
    assert {i["key"]: i["source"] for i in report["items"]}["model-registry"].startswith(
        "Microsoft")
    code, out, _ = run_cli("check", "--maturity", "model.ipynb", "--output-format", "json")
    notebook = json.loads(out)["maturity"][0]
    assert notebook["kind"] == "notebook" and notebook["level"] == 0


def test_values_without_columns_pass_between_steps_unvalidated(tmp_path):
    """A structured array (numpy `void` records), an array of objects: no schema describes
    them, and validating them must not break the step that passes them on (a corpus notebook,
    PythonDataScienceHandbook 02.09, failed there with pandera's "Data type not understood")."""
    write_notebook(tmp_path / "nb.ipynb",
                   '# %% tags=["step:make"]\nimport numpy as np\n'
                   'data = np.zeros(4, dtype={"names": ("name", "age"), '
                   '"formats": ("U10", "i4")})\ndata["age"] = [25, 45, 37, 19]\n'
                   'mixed = np.array([1, "a", None], dtype=object)\n'
                   'ages = data["age"] * 1.0\n'
                   '# %% tags=["step:use"]\nmean_age = float(data["age"].mean() + ages.sum())\n'
                   'count = len(mixed)\n'
                   '# %% tags=["pipeline-metrics"]\nmean_age\n')
    code, _, err = run_cli("convert", tmp_path / "nb.ipynb", "-o", tmp_path / "pipeline")
    assert code == 0, err
    code, out, err = run_cli("run", tmp_path / "pipeline", "--tracking", "none", "--no-html")
    assert code == 0, err
    assert "mean_age=" in out
    # the plain float array still gets a baseline
    assert (tmp_path / "pipeline" / "validation" / "make.ages.schema.yaml").exists()


@pytest.mark.parametrize("name, text, counts", [
    (".github/workflows/retrain.yml",
     "jobs:\n  r:\n    steps:\n      - run: |\n          pip install nb2pipe\n"
     "          nb2pipe run pipeline --if-changed\n", True),
    (".github/workflows/retrain.yml",
     "jobs:\n  r:\n    steps:\n      - run: nb2pipe run ../pipeline --if-changed\n"
     "        working-directory: sub\n", True),
    # a comment is not a command
    (".github/workflows/retrain.yml",
     "jobs:\n  r:\n    steps:\n      - run: echo hi  # TODO: nb2pipe run pipeline "
     "--if-changed\n", False),
    (".github/workflows/retrain.yml",
     "# TODO: nb2pipe run pipeline --if-changed\njobs: {}\n", False),
    # another pipeline, or the right one from another folder
    (".github/workflows/retrain.yml",
     "jobs: {r: {steps: [{run: nb2pipe run other-pipeline --if-changed}]}}\n", False),
    ("crontab", "0 3 * * * cd /elsewhere && nb2pipe run pipeline --if-changed\n", False),
    ("crontab", "# 0 3 * * * nb2pipe run pipeline --if-changed\n", False),
    ("crontab", "0 3 * * * cd {project} && nb2pipe run pipeline --if-changed\n", True),
])
def test_the_trigger_item_reads_what_runs(tmp_path, name, text, counts):
    """Workflow steps and crontab commands count, with the folder they run in; comments and
    commands for other folders do not (issue J, point 10)."""
    from nb2pipe.lint.maturity import find_trigger

    project = tmp_path / "project"
    (project / "pipeline").mkdir(parents=True)
    (project / ".git").mkdir()
    (project / "sub").mkdir()
    path = project / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.replace("{project}", str(project)))
    assert (find_trigger(str(project / "pipeline")) is not None) == counts


ONE_STEP = '''# %% tags=["imports"]
import pandas as pd
from sklearn.linear_model import LinearRegression
# %% tags=["step:train"]
table = pd.read_csv("data.csv")
model = LinearRegression().fit(table[["size"]], table["count"])
score = model.score(table[["size"]], table["count"])
# %% tags=["pipeline-metrics"]
print(score)
'''


@pytest.mark.parametrize("engine", ["papermill", "kfp-local"])
def test_a_frame_read_and_used_in_one_step_is_validated_too(tmp_path, monkeypatch, engine):
    """A notebook that reads its data and trains in one step passes no frame on: the frame it
    reads is validated at the step's end all the same (found by a real journey: a one-step
    pipeline had no data validation, so changed data went unseen)."""
    monkeypatch.chdir(tmp_path)
    make_data().to_csv(tmp_path / "data.csv", index=False)
    write_notebook(tmp_path / "model.ipynb", ONE_STEP)
    code, _, err = run_cli("convert", "model.ipynb", "-o", "pipeline")
    assert code == 0, err
    code, _, err = run("--tracking", "none", "--engine", engine)
    assert code == 0, err
    assert (tmp_path / "pipeline" / "validation" / "train.table.schema.yaml").exists()
    make_data().assign(count=lambda f: f["count"].astype(float)).to_csv(
        tmp_path / "data.csv", index=False)
    code, _, err = run("--tracking", "none", "--engine", engine)
    assert code == 4, err
    assert "data validation failed for `train.table`" in err
    assert "column `count` dtype int64 expected, got float64" in err


def test_a_tracked_step_that_autologs_keeps_its_figures(tmp_path, monkeypatch):
    """scikit-learn's autolog draws its own plots inside matplotlib's rc_context, which left
    matplotlib non-interactive: the inline backend then showed no figure in the cells after
    the fit (found by the journey benchmark, a tracked run's plots were missing). The step
    notebook of a tracked run shows the figure, as the untracked one does."""
    monkeypatch.chdir(tmp_path)
    write_notebook(tmp_path / "plots.ipynb",
                   '# %% tags=["imports"]\nimport numpy as np\nimport matplotlib.pyplot as plt\n'
                   'from sklearn.linear_model import LogisticRegression\n'
                   '# %% tags=["step:train"]\nX = np.arange(40.0).reshape(20, 2)\n'
                   'y = (X[:, 0] > 19).astype(int)\nmodel = LogisticRegression().fit(X, y)\n'
                   '# %% tags=["step:train"]\nplt.plot(model.predict_proba(X)[:, 1])\n'
                   'plt.title("probabilities")\n')
    code, _, err = run_cli("convert", "plots.ipynb", "-o", "pipeline")
    assert code == 0, err
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    code, _, err = run("--no-html", "--autolog-plots")
    assert code == 0, err
    runs = sorted((tmp_path / "pipeline" / "runs").iterdir())
    files = {p.name for p in (tmp_path / "mlruns").rglob("*.png")}
    assert "training_confusion_matrix.png" in files  # autologging drew its plots
    notebook = json.loads((runs[-1] / "notebooks" / "train.ipynb").read_text())
    shown = [output for cell in notebook["cells"] for output in cell.get("outputs", [])
             if "image/png" in output.get("data", {})]
    assert len(shown) == 1


@settings(max_examples=150, deadline=None)
@given(metric=st.floats(0, 1), champion=st.one_of(st.none(), st.floats(0, 1)),
       text=st.sampled_from(["accuracy>=0.8", "accuracy<=0.3", "accuracy>=champion",
                             "accuracy>=champion+0.01", "accuracy>champion", "accuracy<0.5",
                             "accuracy>=champion-0.02", "accuracy<=champion"]))
def test_the_gate_says_the_same_with_mlflows_thresholds_and_without(metric, champion, text):
    """A condition MLflow's MetricThreshold can say is checked by MLflow; without MLflow (a
    run with no tracking installed), by the condition itself: the verdicts agree."""
    from nb2pipe.pipeline.gate import parse
    from nb2pipe.tracking import registry

    condition = parse(text)
    best = {"version": 1, "metrics": {"accuracy": champion}} if champion is not None else None
    with_mlflow = registry.evaluate([condition], {"accuracy": metric}, best)
    check, registry._mlflow_threshold_check = registry._mlflow_threshold_check, lambda: None
    try:
        without = registry.evaluate([condition], {"accuracy": metric}, best)
    finally:
        registry._mlflow_threshold_check = check
    bound = condition.bound(champion) if condition.relative and champion is not None else None
    if bound is not None and abs(metric - bound) < 1e-9:
        return  # at the bound itself, MLflow subtracts and the condition adds: a rounding
    assert with_mlflow.passed == without.passed, (text, metric, champion)
