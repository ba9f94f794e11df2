"""The step cache: `nb2pipe run` reuses a step only when nothing it depends on changed."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import run_cli, write_notebook

ROOT = Path(__file__).resolve().parent.parent.parent

NOTEBOOK = '''# %%
import glob
import pandas as pd
import helpers
# %% [markdown]
# ## Load the table
# %%
frame = pd.read_csv("data.csv")
# %% [markdown]
# ## List the notes
# %%
notes = len(glob.glob("notes/*.txt"))
# %% [markdown]
# ## Scale the total
# %%
total = helpers.scale(frame["x"].sum())
# %% [markdown]
# ## Report
# %%
print("TOTAL", total, "NOTES", notes)
'''


def _project(folder: Path, factor: int = 2, rows=(1, 2, 3), notes: int = 1) -> None:
    (folder / "data.csv").write_text("x\n" + "".join(f"{r}\n" for r in rows))
    (folder / "helpers.py").write_text(f"def scale(value):\n    return {factor} * value\n")
    (folder / "notes").mkdir(exist_ok=True)
    for number in range(notes):
        (folder / "notes" / f"{number}.txt").write_text("note")
    write_notebook(folder / "totals.ipynb", NOTEBOOK)


def _convert(folder: Path) -> Path:
    code, _, err = run_cli("convert", "--auto", folder / "totals.ipynb", "-o",
                           folder / "pipeline")
    assert code == 0, err
    return folder / "pipeline"


def _run(pipeline: Path, *extra, validate: bool = False) -> tuple[dict, str, str]:
    """Run; return the run record, the progress lines and what the report step printed."""
    options = ["--tracking", "none", "--no-html"] + ([] if validate else ["--no-validate"])
    code, out, err = run_cli("run", pipeline, *options, *extra)
    assert code == 0, err
    run_id = out.split("run ", 1)[1].split(":", 1)[0]
    record = json.loads((pipeline / "runs" / run_id / "run.json").read_text())
    report = nbformat.read(pipeline / "runs" / run_id / "notebooks" / "report.ipynb", 4)
    printed = "".join(o.get("text", "") for c in report.cells for o in c.get("outputs", [])
                      if o.get("name") == "stdout")
    return record, err, printed


def _ran(record: dict) -> set[str]:
    return {name for name, step in record["steps"].items() if not step.get("cached_from")}


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _project(tmp_path)
    return tmp_path


def test_an_unchanged_pipeline_reuses_every_step_and_prints_the_same(project):
    pipeline = _convert(project)
    first, _, printed = _run(pipeline, validate=True)
    assert "TOTAL 12 NOTES 1" in printed
    assert _ran(first) == {"load_table", "list_notes", "scale_total", "report"}
    # the first run recorded the data's baseline: the step that validates against it runs
    # again (its report changes from "new" to "passed"); its output is the same, so no other
    second, err, _ = _run(pipeline, validate=True)
    assert _ran(second) == {"load_table"}
    third, err, printed_again = _run(pipeline, validate=True)
    assert _ran(third) == set()
    assert f"[1/4] load_table (cached from {second['run_id']})" in err
    for number, step in enumerate(list(third["steps"])[1:], 2):
        assert f"[{number}/4] {step} (cached from {first['run_id']})" in err
    assert printed_again == printed  # the executed notebook comes back with the step
    assert third["validation"]["status"] == "passed"  # its report came back too
    # a converted again (unchanged) pipeline keeps its cache
    _convert(project)
    assert _ran(_run(pipeline, validate=True)[0]) == set()


def test_each_change_reruns_the_steps_that_depend_on_it_and_no_other(project):
    pipeline = _convert(project)
    _run(pipeline)
    # the data file: the step that reads it, and (its output changed) the steps after it
    (project / "data.csv").write_text("x\n1\n2\n3\n4\n")
    record, _, printed = _run(pipeline)
    assert _ran(record) == {"load_table", "scale_total", "report"}
    assert "TOTAL 20 NOTES 1" in printed
    # a local module: every step imports it (the notebook's imports cell is every step's),
    # so every step runs again; in a shared kernel it was loaded before the step began
    (project / "helpers.py").write_text("def scale(value):\n    return 3 * value\n")
    record, _, printed = _run(pipeline)
    assert len(_ran(record)) == 4
    assert "TOTAL 30 NOTES 1" in printed
    # a new file in a folder a step lists
    (project / "notes" / "new.txt").write_text("note")
    record, _, printed = _run(pipeline)
    assert _ran(record) == {"list_notes", "report"}
    assert "TOTAL 30 NOTES 2" in printed
    # the code of the last step
    source = (project / "totals.ipynb").read_text().replace('print(\\"TOTAL\\"',
                                                             'print(\\"SUM\\"')
    (project / "totals.ipynb").write_text(source)
    (project / "totals.tagged.ipynb").unlink()
    _convert(project)
    record, _, printed = _run(pipeline)
    assert _ran(record) == {"report"} and "SUM 30 NOTES 2" in printed
    # --no-cache runs all of them
    assert len(_ran(_run(pipeline, "--no-cache")[0])) == 4


@settings(max_examples=3, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.sampled_from(["data", "rows", "helper", "note", "nothing"]),
                      min_size=2, max_size=3))
@pytest.mark.slow
def test_a_cached_run_prints_what_the_files_give_after_any_edits(tmp_path_factory, edits):
    """Generated sequences of edits: every run prints what the current files give."""
    folder = tmp_path_factory.mktemp("edits")
    factor, rows, notes = 2, [1, 2, 3], 1
    _project(folder, factor, rows, notes)
    pipeline = _convert(folder)
    _run(pipeline)
    for edit in edits:
        if edit == "data":
            rows[0] += 10
        elif edit == "rows":
            rows.append(5)
        elif edit == "helper":
            factor += 1
        elif edit == "note":
            notes += 1
        _project(folder, factor, rows, notes)
        record, _, printed = _run(pipeline)
        assert f"TOTAL {factor * sum(rows)} NOTES {notes}" in printed, (edits, record)
        if edit == "nothing":
            assert _ran(record) == set()


def test_a_step_that_starts_a_process_is_never_reused(project):
    source = NOTEBOOK.replace('notes = len(glob.glob("notes/*.txt"))',
                              'import subprocess\n'
                              'notes = len(subprocess.run(["ls", "notes"], capture_output=True,'
                              ' text=True).stdout.split())')
    write_notebook(project / "totals.ipynb", source)
    pipeline = _convert(project)
    _, err, _ = _run(pipeline)
    assert "list_notes: not cached: it starts a process (subprocess.Popen)" in err
    (project / "notes" / "new.txt").write_text("note")  # seen only by `ls`
    record, _, printed = _run(pipeline)
    assert "list_notes" in _ran(record) and "NOTES 2" in printed


def test_the_cache_keeps_under_its_size_limit(project):
    pipeline = _convert(project)
    _, err, _ = _run(pipeline, "--cache-size", "0.000001")
    assert "not cached: its results" in err and "larger than the cache's limit" in err
    cache = pipeline / ".nb2pipe-cache"
    assert not any(p.is_file() for p in cache.rglob("*")) if cache.exists() else True
    # a limit that holds one entry: the least recently used ones go
    _run(pipeline, "--no-cache")
    size = sum(p.stat().st_size for p in cache.rglob("*") if p.is_file())
    _run(pipeline, "--cache-size", str(size / 3 / (1 << 20)))
    assert sum(p.stat().st_size for p in cache.rglob("*") if p.is_file()) <= size / 3


@pytest.mark.slow
def test_a_tracked_rerun_says_it_reused_and_registers_the_model_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(ROOT / "sample_notebooks" / "classifier_pipeline.ipynb", tmp_path)
    code, _, err = run_cli("convert", "classifier_pipeline.ipynb", "-o", "pipeline")
    assert code == 0, err
    runs = []
    for _ in range(3):  # the first records the data baselines; the next two validate
        code, out, err = run_cli("run", "pipeline")
        assert code == 0, err
        runs.append(out.split("run ", 1)[1].split(":", 1)[0])
    assert "[1/5] load_data (cached from" in err and "not registered again" in out + err
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    versions = client.search_model_versions("name='classifier-pipeline'")
    assert len(versions) == 1  # the later runs trained nothing new
    record = json.loads((tmp_path / "pipeline" / "runs" / runs[2] / "run.json").read_text())
    child = client.get_run(record["steps"]["train"]["tracking_run_id"])
    assert child.data.tags["nb2pipe.cached_from"] == record["steps"]["train"]["cached_from"]
    assert record["metrics"]["accuracy"] > 0.9  # the metrics step's result came back too
    # the reused step's page is the page of the run that made it
    folder = tmp_path / "pipeline" / "runs"
    origin = record["steps"]["train"]["cached_from"]
    page = (folder / runs[2] / "html" / "train.html").read_bytes()
    assert page == (folder / origin / "html" / "train.html").read_bytes() and b"<html" in page


def test_kubeflow_reuses_only_the_steps_that_read_no_file_of_their_own(project):
    """Kubeflow's cache keys on a task's inputs: a task that reads or lists files itself
    would be reused after the data changed, so its caching is turned off."""
    import yaml

    pipeline = _convert(project)
    spec = yaml.safe_load((pipeline / "kfp" / "pipeline.yaml").read_text())
    tasks = spec["root"]["dag"]["tasks"]
    reused = {name for name, task in tasks.items()
              if task.get("cachingOptions", {}).get("enableCache")}
    assert reused == {"scale-total", "report"}


def test_a_step_that_asks_whether_a_file_exists_runs_again_when_it_appears(project):
    """`os.path.exists` opens nothing (no audit event): the kernel records the paths a step
    asks about, and whether they were there."""
    source = NOTEBOOK.replace('notes = len(glob.glob("notes/*.txt"))',
                              'import os\nnotes = int(os.path.exists("flag.txt"))')
    write_notebook(project / "totals.ipynb", source)
    pipeline = _convert(project)
    assert "NOTES 0" in _run(pipeline)[2]
    assert _ran(_run(pipeline)[0]) == set()
    (project / "flag.txt").write_text("")
    record, _, printed = _run(pipeline)
    assert _ran(record) == {"list_notes", "report"} and "NOTES 1" in printed


def test_a_newer_nb2pipe_of_the_same_version_runs_every_step_again(project, tmp_path_factory):
    """An install from the repository keeps its version from one commit to the next: a step
    cached by the nb2pipe before a fix of its runtime must not hide the fix. The same code
    from another folder reuses every step; one changed module of nb2pipe reuses none."""
    pipeline = _convert(project)
    _run(pipeline)
    copy = tmp_path_factory.mktemp("newer") / "nb2pipe"
    shutil.copytree(ROOT / "src" / "nb2pipe", copy,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))

    def run_copy() -> set[str]:
        done = subprocess.run([sys.executable, "-m", "nb2pipe", "run", str(pipeline),
                               "--tracking", "none", "--no-html", "--no-validate"],
                              capture_output=True, text=True, cwd=project, timeout=600,
                              env={**os.environ, "PYTHONPATH": str(copy.parent)})
        assert done.returncode == 0, done.stderr[-3000:]
        run_id = done.stdout.split("run ", 1)[1].split(":", 1)[0]
        record = json.loads((pipeline / "runs" / run_id / "run.json").read_text())
        return _ran(record)

    assert run_copy() == set()  # the same code, elsewhere
    runtime = copy / "runtime.py"
    runtime.write_text(runtime.read_text() + "\n# a fix, same version\n")
    assert len(run_copy()) == 4
