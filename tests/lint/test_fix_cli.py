"""`nb2pipe check --fix` / `--diff` on files: what changes, what is kept, what is written."""

import json

import pytest

from nb2pipe.notebook import read_notebook
from tests.helpers import run_cli, write_notebook

LEVEL0 = (
    '# %% [markdown]\n# # Churn\n'
    '# %% execution_count=1 outputs=[{"output_type": "stream", "name": "stdout", "text": "hi"}]\n'
    'import numpy as np\nfrom sklearn.model_selection import train_test_split\n'
    '# %% execution_count=2\nTEST_SIZE = 0.25\napi_key = "Zx9Kq2LzR8vT1xYb7Wm4"\n'
    '# %% execution_count=3\nnoise = np.random.normal(size=10)\n'
    'a, b = train_test_split(noise, test_size=TEST_SIZE)  # keep this comment\n'
    '# %% execution_count=4\n%matplotlib inline\n!pip install pytest\n'
)


def test_fix_applies_safe_fixes_and_keeps_outputs_ids_and_metadata(tmp_path):
    path = write_notebook(tmp_path / "nb.ipynb", LEVEL0)
    raw = json.loads(path.read_text())
    raw["metadata"]["custom"] = {"keep": True}
    path.write_text(json.dumps(raw))
    code, out, err = run_cli("check", path, "--fix", "--select", "NB2,NB303,NB501",
                             "--output-format", "concise")
    fixed = read_notebook(path)
    sources = "\n".join(c.source for c in fixed.cells)
    assert "SEED = 42" in sources and "np.random.seed(SEED)" in sources
    assert "random_state=SEED)  # keep this comment" in sources
    assert 'api_key = os.environ["API_KEY"]' in sources and "import os" in sources
    assert "%matplotlib inline" in sources
    assert "!pip install pytest==" in sources
    parameters = [c for c in fixed.cells if "parameters" in c.tags]
    assert len(parameters) == 1 and "TEST_SIZE = 0.25" in parameters[0].source
    assert fixed.metadata["custom"] == {"keep": True}
    original_ids = {f"cell-{n}" for n in range(1, 6)}
    assert original_ids <= {c.id for c in fixed.cells}
    first_code = next(c for c in fixed.cells if c.id == "cell-2")
    assert "".join(first_code.outputs[0]["text"]) == "hi" and first_code.execution_count == 1
    assert "Fixed" in err and "Run the fixed notebooks again" in err
    again_code, again_out, _ = run_cli("check", path, "--select", "NB202,NB203,NB204,NB303,NB501")
    assert again_code == 0, again_out
    # the cells the fixes inserted have not run yet, but a fix makes no new finding: they are
    # not NB103 (the summary above already says to run the notebook again)
    assert any(c.execution_count is None and c.id.startswith("nb2pipe-") for c in fixed.cells)
    _, unexecuted, _ = run_cli("check", path, "--select", "NB103", "--output-format", "json")
    assert json.loads(unexecuted)["diagnostics"] == []


def test_diff_shows_changes_and_writes_nothing(tmp_path):
    path = write_notebook(tmp_path / "nb.ipynb", LEVEL0)
    before = path.read_bytes()
    code, out, err = run_cli("check", path, "--diff", "--select", "NB203")
    assert code == 1
    assert "+a, b = train_test_split(noise, test_size=TEST_SIZE, random_state=SEED)" in out
    assert path.read_bytes() == before
    assert "Would fix" in err


def test_diff_of_an_added_cell_shows_that_cell_only(tmp_path):
    """Old notebooks have no cell ids: the diff aligns cells by their text instead of
    showing every cell below a new one as changed."""
    path = write_notebook(tmp_path / "nb.ipynb", (
        '# %%\nimport pandas as pd\n# %%\ndf = pd.read_csv("/Users/ana/data/churn.csv")\n'
        '# %%\nprint(len(df))\n# %%\ndf.describe()\n'))
    raw = json.loads(path.read_text())
    raw["nbformat_minor"] = 4
    for cell in raw["cells"]:
        cell.pop("id", None)
    path.write_text(json.dumps(raw))
    code, out, err = run_cli("check", path, "--diff", "--select", "NB201")
    assert code == 1
    headers = [line for line in out.splitlines() if line.startswith(("--- ", "+++ "))]
    assert headers == ["--- /dev/null", f"+++ {path}:cell 2",
                       f"--- {path}:cell 2", f"+++ {path}:cell 3"], out
    assert '+df = pd.read_csv(f"{DATA_DIR}/churn.csv")' in out
    assert '+DATA_DIR = "/Users/ana/data"' in out


def test_fix_leaves_unparsable_and_clean_notebooks_alone(tmp_path):
    path = write_notebook(tmp_path / "bad.ipynb", '# %%\nprint "py2"\n')
    before = path.read_bytes()
    # NB303 could add a parameters cell, but not while a cell does not parse: not offered
    _, out, err = run_cli("check", path, "--output-format", "concise")
    assert "NB303" in out and "[*]" not in out and "fixable" not in err
    _, _, err = run_cli("check", path, "--fix")
    assert path.read_bytes() == before and "not fixed, because cell 1 does not parse" in err
    clean = write_notebook(tmp_path / "clean.ipynb", '# %% tags=["parameters"]\nx = 1\n')
    before = clean.read_bytes()
    assert run_cli("check", clean, "--fix", "--select", "NB2,NB3,NB5")[0] == 0
    assert clean.read_bytes() == before


@pytest.mark.slow
def test_all_fixes_keep_the_results_and_autolog_tracks_the_fit(tmp_path, samples, monkeypatch):
    """`--fix --unsafe-fixes` on an untagged training notebook: imports moved up, a
    parameters cell, `mlflow.autolog()`; it still runs top to bottom to the same score, and
    the fit is now in MLflow."""
    import shutil

    from tests.helpers import run_top_to_bottom

    shutil.copy(samples / "diabetes_untagged.ipynb", tmp_path)
    path = tmp_path / "diabetes_untagged.ipynb"
    expected = run_top_to_bottom(path, "{'r2': r2}", tmp_path)
    code, out, err = run_cli("check", path, "--fix", "--unsafe-fixes", "--ignore", "NB406",
                             "--output-format", "concise")
    fixed = read_notebook(str(path))
    sources = [c.source for c in fixed.code_cells]
    assert any(s.endswith("mlflow.autolog()") for s in sources)
    assert "import mlflow" in sources[0]
    assert any("parameters" in c.tags for c in fixed.code_cells)
    assert not [d for d in out.splitlines() if "NB209" in d or "NB301" in d or "NB303" in d]

    store = tmp_path / "mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{store}")
    assert run_top_to_bottom(path, "{'r2': r2}", tmp_path) == expected

    import mlflow

    runs = mlflow.search_runs(search_all_experiments=True, output_format="list")
    assert [run.data.params["alpha"] for run in runs] == ["0.5"]


def test_cells_a_fix_adds_to_a_notebook_without_cell_ids_are_known_as_such(tmp_path):
    # nbformat 4.4: cells have no ids, so the inserted cells are known by their first line:
    # the parameters cell the fix adds is not NB103, though it never ran.
    path = write_notebook(tmp_path / "old.ipynb", LEVEL0)
    raw = json.loads(path.read_text())
    raw["nbformat_minor"] = 4
    for cell in raw["cells"]:
        del cell["id"]
    path.write_text(json.dumps(raw))
    run_cli("check", path, "--fix", "--select", "NB303")
    assert all("id" not in cell for cell in json.loads(path.read_text())["cells"])
    cells = json.loads(path.read_text())["cells"]
    assert any(c.get("execution_count") is None and "Parameters" in "".join(c["source"])
               for c in cells)
    code, out, err = run_cli("check", path, "--select", "NB103", "--output-format", "concise")
    assert code == 0 and "NB103" not in out


def test_fix_keeps_integers_beyond_64_bits_exactly(tmp_path):
    # `check` reads with orjson, which turns such an integer into a float: a notebook that is
    # written back is read by the standard library instead.
    path = write_notebook(tmp_path / "big.ipynb", LEVEL0)
    raw = json.loads(path.read_text())
    raw["metadata"]["widget_seed"] = 2 ** 70 + 1
    path.write_text(json.dumps(raw))
    code, out, err = run_cli("check", path, "--select", "NB303", "--output-format", "concise")
    assert "NB303" in out
    run_cli("check", path, "--fix", "--select", "NB303")
    fixed = json.loads(path.read_text())
    assert any("parameters" in c["metadata"].get("tags", []) for c in fixed["cells"])
    assert fixed["metadata"]["widget_seed"] == 2 ** 70 + 1


def test_add_noqa_suppresses_every_finding_without_touching_code_or_outputs(tmp_path):
    path = write_notebook(tmp_path / "nb.ipynb", LEVEL0)
    raw = json.loads(path.read_text())
    raw["cells"][2]["metadata"]["tags"] = ["keep-me", "nb2pipe:ignore=NB101"]
    raw["metadata"]["nb2pipe"] = {"ignore": "NB999"}
    path.write_text(json.dumps(raw))
    before = read_notebook(path)
    code, _, err = run_cli("check", tmp_path, "--ignore", "NB7", "--output-format", "concise")
    assert code == 1
    code, out, err = run_cli("check", tmp_path, "--add-noqa", "--ignore", "NB7")
    assert code == 0 and out == "" and "Suppressed" in err and "1 notebook" in err
    code, out, _ = run_cli("check", tmp_path, "--ignore", "NB7")
    assert code == 0 and out == ""
    after = read_notebook(path)
    assert [c.source for c in after.cells] == [c.source for c in before.cells]
    assert [c.id for c in after.cells] == [c.id for c in before.cells]
    def texts(notebook):  # (the writer stores multi-line strings as lists, as Jupyter does)
        return [["".join(o.get("text", "")) for o in c.outputs] for c in notebook.cells]

    assert texts(after) == texts(before) and after.cells[1].execution_count == 1
    third = after.cells[2].tags
    assert "keep-me" in third and len([t for t in third if t.startswith("nb2pipe:ignore")]) == 1
    assert "NB101" in [t for t in third if t.startswith("nb2pipe:ignore=")][0]
    assert "NB303" in after.metadata["nb2pipe"]["ignore"]  # a notebook-level finding
    assert "NB999" in after.metadata["nb2pipe"]["ignore"]  # what was there is kept
    # A new problem is still reported.
    raw = json.loads(path.read_text())
    raw["cells"].append({"cell_type": "code", "execution_count": None, "id": "new",
                         "metadata": {}, "outputs": [], "source": "print(nowhere)"})
    path.write_text(json.dumps(raw))
    _, out, _ = run_cli("check", tmp_path, "--ignore", "NB7", "--output-format", "concise")
    assert "NB106" in out and out.count("\n") == 1
    code, _, err = run_cli("check", tmp_path, "--add-noqa", "--fix")
    assert code == 2 and "one at a time" in err


def test_fix_keeps_the_project_findings_that_depend_on_training(tmp_path):
    # NB702 (a project whose notebooks train has no tests) must not vanish because --fix ran.
    write_notebook(tmp_path / "train.ipynb",
                   "# %% execution_count=1\nfrom sklearn.linear_model import LinearRegression\n"
                   "# %% execution_count=2\nmodel = LinearRegression().fit(X, y)\n")
    _, before, _ = run_cli("check", tmp_path, "--select", "NB303,NB702",
                           "--output-format", "concise")
    _, after, _ = run_cli("check", tmp_path, "--fix", "--select", "NB303,NB702",
                          "--output-format", "concise")
    assert "NB702" in before and "NB702" in after and "NB303" not in after


def test_code_in_an_ipython_line_is_reported_but_not_offered_a_fix(tmp_path):
    # `%timeit` runs its code, so NB203 sees it; a fix edits code, never an IPython line
    path = write_notebook(tmp_path / "nb.ipynb", (
        "# %%\nfrom sklearn.ensemble import RandomForestClassifier\n"
        "# %%\n%timeit RandomForestClassifier().fit(X, y)\n"
        "# %%\n%%time\nmodel = RandomForestClassifier(n_estimators=10)\n"))
    code, out, err = run_cli("check", path, "--fix", "--select", "NB203",
                             "--output-format", "concise")
    sources = [c.source for c in read_notebook(path).cells]
    assert "%timeit RandomForestClassifier().fit(X, y)" in sources
    assert "%%time\nmodel = RandomForestClassifier(n_estimators=10, random_state=SEED)" in sources
    assert code == 1 and out.count("NB203") == 1 and "[*]" not in out
    assert "Fixed 1 diagnostic" in err


def test_a_fix_that_adds_a_cell_is_offered_for_a_finding_in_an_ipython_line(tmp_path):
    path = write_notebook(tmp_path / "nb.ipynb", (
        "# %%\nfrom sklearn.svm import SVC\n# %%\n%time model = SVC().fit(X, y)\n"))
    code, out, _ = run_cli("check", path, "--select", "NB301", "--unsafe-fixes",
                           "--output-format", "concise")
    assert "NB301 [-]" in out  # an (unsafe) fix: mlflow.autolog() goes in a cell of its own


def test_code_nested_as_deep_as_python_parses_is_checked_and_left_unfixed(tmp_path):
    # `X - X.mean() + 1 + … + 1`: 900 nested operations; the rules walk it without recursion,
    # the fixer (libcst) cannot, and says so instead of failing
    path = write_notebook(tmp_path / "deep.ipynb", (
        "# %%\nfrom sklearn.model_selection import train_test_split\n"
        "X = X - X.mean()" + " + 1" * 900 + "\na, b = train_test_split(X)\n"))
    before = path.read_bytes()
    code, out, err = run_cli("check", path, "--output-format", "concise", "--no-cache")
    assert code == 1 and "NB601" in out and "failed" not in err
    code, out, err = run_cli("check", path, "--fix", "--no-cache")
    assert code == 1 and "nests too deeply for the fixer" in err and "failed" not in err
    assert path.read_bytes() == before


def test_unsafe_fixes_declare_the_mlflow_they_import(tmp_path):
    """NB301's fix imports mlflow: it adds `mlflow==<installed>` to the project's
    requirements file (or writes one where the project has no dependency file), so that no
    NB205 follows; `--diff` shows the line and writes nothing; a project whose dependencies
    live only in pyproject.toml gets no fix (nb2pipe does not edit that file)."""
    from importlib import metadata

    training = ("# %%\nfrom sklearn.linear_model import LogisticRegression\n"
                "X, y = [[0], [1]], [0, 1]\n# %%\nmodel = LogisticRegression().fit(X, y)\n")
    version = metadata.version("mlflow") if _installed("mlflow") else \
        metadata.version("mlflow-skinny")
    listed = tmp_path / "listed"
    listed.mkdir()
    (listed / ".git").mkdir()
    (listed / "requirements.txt").write_text("scikit-learn==1.9.0")  # (no newline at the end)
    write_notebook(listed / "train.ipynb", training)
    code, out, err = run_cli("check", listed / "train.ipynb", "--fix", "--unsafe-fixes",
                             "--diff", "--select", "NB301,NB205")
    assert "+mlflow" in out and (listed / "requirements.txt").read_text() == \
        "scikit-learn==1.9.0"
    code, out, err = run_cli("check", listed / "train.ipynb", "--fix", "--unsafe-fixes",
                             "--select", "NB301,NB205")
    assert (listed / "requirements.txt").read_text() == \
        f"scikit-learn==1.9.0\nmlflow=={version}\n"
    code, out, _ = run_cli("check", listed / "train.ipynb", "--select", "NB301,NB205",
                           "--output-format", "json", "--no-cache")
    assert json.loads(out)["diagnostics"] == []

    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / ".git").mkdir()
    write_notebook(bare / "train.ipynb", training)
    run_cli("check", bare / "train.ipynb", "--fix", "--unsafe-fixes", "--select", "NB301")
    assert (bare / "requirements.txt").read_text() == f"mlflow=={version}\n"

    toml = tmp_path / "toml"
    toml.mkdir()
    (toml / ".git").mkdir()
    (toml / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = ["scikit-learn"]\n')
    write_notebook(toml / "train.ipynb", training)
    code, out, _ = run_cli("check", toml / "train.ipynb", "--select", "NB301",
                           "--output-format", "json", "--no-cache")
    (finding,) = json.loads(out)["diagnostics"]
    assert finding["fix"] is None and "declare `mlflow`" in finding["help"]


def _installed(name: str) -> bool:
    from importlib import metadata

    try:
        metadata.version(name)
        return True
    except metadata.PackageNotFoundError:
        return False
