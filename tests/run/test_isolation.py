"""What a cluster runs equals what the notebook computed (issue M): settings travel to steps
that run in processes of their own, autologging follows the model wherever the imports went,
and `--auto` makes metrics of the scores a notebook prints or displays. Real conversions and
real runs (`--isolate`: a fresh kernel per step, as on Kubeflow)."""

import json
from pathlib import Path

import nbformat
import papermill
import pytest

from tests.helpers import run_cli, write_notebook

SETTINGS = '''# %%
import numpy as np
import pandas as pd
import matplotlib as mpl
import matplotlib.pyplot as plt
import warnings
mpl.style.use("ggplot")
plt.rcParams["figure.figsize"] = (30, 10)
np.set_printoptions(suppress=True)
pd.set_option("display.max_columns", 3)
warnings.filterwarnings("ignore", category=FutureWarning)
# %% [markdown]
# ## Load the data
# %%
# the numbers come from the lab's spreadsheet
# %%
data = np.array([17.99, 0.000123, 1234.5])
frame = pd.DataFrame({c: [1, 2] for c in "abcde"})
scaled = data * 2
plt.rcParams["figure.dpi"] = 50
# %% [markdown]
# ## Show the results
# %%
print(scaled)
print(frame)
figure = plt.figure()
print(figure.get_size_inches(), figure.dpi, plt.rcParams["axes.facecolor"])
'''


def _reference_output(path: Path, cell: int) -> str:
    notebook = nbformat.read(path, as_version=4)
    executed = papermill.execute_notebook(notebook, None, kernel_name="python3",
                                          progress_bar=False, cwd=str(path.parent))
    return "".join(o.get("text", "") for o in executed.cells[cell].outputs)


def _step_output(run_folder: Path, step: str, needle: str) -> str:
    notebook = json.loads((run_folder / "notebooks" / f"{step}.ipynb").read_text())
    for cell in notebook["cells"]:
        if needle in "".join(cell["source"]):
            return "".join("".join(o.get("text", "")) for o in cell.get("outputs", []))
    raise AssertionError(f"no cell with {needle!r} in step {step}")


def _last_run(folder: Path) -> Path:
    return sorted((folder / "runs").iterdir())[-1]


def test_settings_travel_to_isolated_steps(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    notebook = write_notebook(tmp_path / "settings.ipynb", SETTINGS)
    code, out, err = run_cli("convert", "--auto", "settings.ipynb", "-o", "pipeline")
    assert code == 0, err
    pipeline = json.loads((tmp_path / "pipeline" / "pipeline.json").read_text())
    # the imports-and-settings cell is every step's, not a step; the comment is no step
    assert [s["name"] for s in pipeline["steps"]] == ["load_data", "show_results"]
    assert pipeline["imports"] == [0]
    show = pipeline["steps"][1]
    assert "plt.rcParams['figure.dpi'] = 50" in show["imports"]  # a setting in a step travels
    code, _, err = run_cli("run", "pipeline", "--isolate", "--tracking", "none")
    assert code == 0, err
    isolated = _step_output(_last_run(tmp_path / "pipeline"), "show_results", "print(scaled)")
    expected = _reference_output(notebook, len(nbformat.read(notebook, 4).cells) - 1)
    assert isolated == expected
    assert "[30. 10.] 50.0 #E5E5E5" in isolated  # ggplot's face colour, the size, the dpi
    assert "1.799e+01" not in isolated and "..." in isolated  # print options, pandas options
    # the plain-Python step replays the earlier step's setting when it runs; the Kubeflow
    # component of that step carries the imports-and-settings cell and the setting
    component = (tmp_path / "pipeline" / "components" / "show_results.py").read_text()
    body = component.split("def show_results(", 1)[1]
    assert body.index("plt.rcParams['figure.dpi'] = 50") < body.index("print(scaled)")
    import yaml

    spec = yaml.safe_load((tmp_path / "pipeline" / "kfp" / "pipeline.yaml").read_text())
    code = "".join(spec["deploymentSpec"]["executors"]["exec-show-results"]["container"]
                   ["command"])
    assert code.index('mpl.style.use("ggplot")') < code.index("print(scaled)")
    assert code.index("plt.rcParams['figure.dpi'] = 50") < code.index("print(scaled)")


AUTOLOG = '''# %%
import pandas as pd
from sklearn.datasets import load_iris
frame = load_iris(as_frame=True).frame
# %% [markdown]
# ## Split
# %%
from sklearn.model_selection import train_test_split
train, test = train_test_split(frame, random_state=0)
# %% [markdown]
# ## Train
# %%
from sklearn.tree import DecisionTreeClassifier
model = DecisionTreeClassifier(max_depth=3, random_state=0)
model.fit(train.drop(columns="target"), train["target"])
# %% [markdown]
# ## Evaluate
# %%
from sklearn.metrics import accuracy_score
print("accuracy", accuracy_score(test["target"], model.predict(test.drop(columns="target"))))
model.score(test.drop(columns="target"), test["target"])
'''


@pytest.mark.slow
def test_autologging_follows_the_model_and_auto_proposes_metrics(tmp_path, monkeypatch):
    from mlflow import MlflowClient

    monkeypatch.chdir(tmp_path)
    write_notebook(tmp_path / "iris.ipynb", AUTOLOG)
    code, out, err = run_cli("convert", "--auto", "iris.ipynb", "-o", "pipeline",
                             "--gate", "accuracy>=0.8")
    assert code == 0, err
    # a classifier's .score is its accuracy: named so, a gate on accuracy finds it
    assert "`pipeline-metrics` cell at the end for `accuracy`, `accuracy_2`" in out + err
    tagged = nbformat.read(tmp_path / "iris.tagged.ipynb", 4)
    # the tidy moved every import into the first cell; the printed score got a name
    assert "from sklearn.tree import DecisionTreeClassifier" in tagged.cells[0].source
    evaluate = next(c.source for c in tagged.cells if "accuracy_score(" in c.source)
    assert evaluate.splitlines()[0].startswith("accuracy = accuracy_score(")
    assert 'print("accuracy", accuracy)' in evaluate and evaluate.endswith("\naccuracy_2")
    pipeline = json.loads((tmp_path / "pipeline" / "pipeline.json").read_text())
    steps = {s["name"]: s for s in pipeline["steps"]}
    assert steps["train"]["autolog"] == ["sklearn"]
    assert pipeline["metrics"] == ["accuracy", "accuracy_2"]
    code, out, err = run_cli("run", "pipeline", "--isolate")
    assert code == 0, err
    assert out.strip().splitlines()[-1].startswith("model gate passed (accuracy")
    record = json.loads((_last_run(tmp_path / "pipeline") / "run.json").read_text())
    assert record["metrics"]["accuracy"] > 0.8 and record["metrics"]["accuracy_2"] > 0.8
    client = MlflowClient("sqlite:///" + str(tmp_path / "mlflow.db"))
    # the runs' files are beside the database, not wherever the run started from
    experiment = client.get_experiment(client.get_run(record["tracking"]["run_id"])
                                       .info.experiment_id)
    assert experiment.artifact_location == f"file://{tmp_path / 'mlruns'}"
    trained = client.get_run(record["steps"]["train"]["tracking_run_id"]).data
    assert trained.params["max_depth"] == "3" and trained.params["random_state"] == "0"


def test_the_readme_of_a_pipeline_without_parameters_shows_no_parameter_example(tmp_path,
                                                                                monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_notebook(tmp_path / "iris.ipynb", AUTOLOG)
    assert run_cli("convert", "--auto", "iris.ipynb", "-o", "pipeline")[0] == 0
    readme = (tmp_path / "pipeline" / "README.md").read_text()
    assert "other parameter values" not in readme and "-p NAME" not in readme
    assert "nb2pipe run . --if-changed" in readme


DTYPES = '''# %% tags=["imports"]
import pandas as pd
# %% tags=["step:make"]
frame = pd.DataFrame({"code": pd.Categorical([3, 1, 3, 2]),
                      "count": pd.array([1, None, 2, 4], dtype="Int64")})
pair = (1, 2)
# %% tags=["step:use", "prev:make"]
category = float(str(frame["code"].dtype) == "category" and
                 list(frame["code"].cat.categories) == [1, 2, 3])
nullable = float(str(frame["count"].dtype) == "Int64")
is_tuple = float(isinstance(pair, tuple))
# %% tags=["pipeline-metrics"]
print(category)
print(nullable)
print(is_tuple)
'''


def test_dtypes_survive_the_crossing_on_both_engines(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_notebook(tmp_path / "dtypes.ipynb", DTYPES)
    assert run_cli("convert", "dtypes.ipynb", "-o", "pipeline")[0] == 0
    for engine in ("papermill", "kfp-local"):
        code, _, err = run_cli("run", "pipeline", "--engine", engine, "--tracking", "none",
                               "--isolate" if engine == "papermill" else "--no-validate")
        assert code == 0, (engine, err)
        record = json.loads((_last_run(tmp_path / "pipeline") / "run.json").read_text())
        assert record["metrics"] == {"category": 1.0, "nullable": 1.0, "is_tuple": 1.0}, engine
    papermill_run = sorted((tmp_path / "pipeline" / "runs").iterdir())[0]
    meta = json.loads((papermill_run / "artifacts" / "make" / "frame.meta.json").read_text())
    assert meta["format"] == "pandas-pickle" and "category came back as int64" in meta["not"][0]


def _auto_converted(tmp_path, monkeypatch, source: str) -> tuple[str, str]:
    """The notebook written from ``source`` in ``tmp_path`` (the current folder), converted
    with --auto into `pipeline`: convert's messages, and what its last cell prints when the
    notebook runs top to bottom."""
    monkeypatch.chdir(tmp_path)
    write_notebook(tmp_path / "nb.ipynb", source)
    expected = _reference_output(tmp_path / "nb.ipynb", len(nbformat.read(
        tmp_path / "nb.ipynb", 4).cells) - 1)
    code, _, err = run_cli("convert", "--auto", "nb.ipynb", "-o", "pipeline")
    assert code == 0, err
    return err, expected


REPLAY = '''# %%
%load_ext autoreload
%autoreload 2
import sys
import numpy as np
import matplotlib as mpl
import matplotlib.pyplot as plt
params = {"figure.figsize": (3, 2), "figure.dpi": 40}
plt.rcParams.update(params)
# %% [markdown]
# ## Load
# %%
x = np.arange(5)
if sys.version_info < (3, 0):
    x = unicode(x)
mpl.style.use("classic")
plt.rcParams.update(params)
# %% [markdown]
# ## Report
# %%
print(plt.rcParams["figure.figsize"], plt.rcParams["figure.dpi"], x.sum())
'''


def test_settings_replay_brings_what_they_read_and_runs_once_per_kernel(tmp_path, monkeypatch):
    """A setting that reads a literal dict travels with it; `mpl.style` works in a step that
    does not import pyplot itself; `%load_ext` runs once per kernel (the shared kernel would
    say "already loaded"); a Python 2 branch under a version guard is dead code, not a
    reason to refuse."""
    err, expected = _auto_converted(tmp_path, monkeypatch, REPLAY)
    assert "unicode" not in err
    for isolate in ([], ["--isolate"]):
        code, _, err = run_cli("run", "pipeline", "--tracking", "none", "--no-validate",
                               *isolate)
        assert code == 0, err
        run = _last_run(tmp_path / "pipeline")
        assert _step_output(run, "report", "print(plt.rcParams") == expected, isolate
        for step in (run / "notebooks").iterdir():
            assert "already loaded" not in step.read_text(), step.name


DRAWS = '''# %%
import numpy as np
import random
# %%
np.random.seed(3)
random.seed(3)
# %% [markdown]
# ## Draw
# %%
a = np.random.rand(2)
b = random.random()
# %% [markdown]
# ## Draw again
# %%
c = np.random.rand(2)
d = random.random()
print(a, b, c, d)
'''


def test_the_random_state_travels_between_isolated_steps(tmp_path, monkeypatch):
    """The seed `check --fix` adds (here a cell of its own) holds in every later step, and
    draws continue where the step before left them, as in the notebook's one kernel."""
    _, expected = _auto_converted(tmp_path, monkeypatch, DRAWS)
    code, _, err = run_cli("run", "pipeline", "--isolate", "--tracking", "none",
                           "--no-validate")
    assert code == 0, err
    steps = json.loads((tmp_path / "pipeline" / "pipeline.json").read_text())["steps"]
    assert len(steps) >= 3, steps  # the draws are in steps of their own
    assert _step_output(_last_run(tmp_path / "pipeline"), steps[-1]["name"],
                        "print(a, b, c, d)") == expected
