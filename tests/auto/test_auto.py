"""`nb2pipe convert --auto`: steps proposed for untagged notebooks, and what it refuses."""

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from nb2pipe.auto import AutoTagError
from nb2pipe.auto import propose as propose_with
from nb2pipe.lint.tidy import tidy
from nb2pipe.notebook.reader import notebook_from_percent as read_notebook_from_text
from nb2pipe.notebook.reader import read_notebook
from nb2pipe.pipeline.build import build_pipeline
from tests.helpers import run_cli, run_top_to_bottom, write_notebook


def propose(notebook):
    """The proposal as `convert --auto` makes it: tidied by the linter's fixes first."""
    return propose_with(notebook, tidy)


SAMPLES = Path(__file__).resolve().parent.parent.parent / "sample_notebooks"


def tags_of(notebook) -> list[tuple[str, ...]]:
    return [c.tags for c in notebook.cells if c.is_code]


def test_headings_make_the_steps_and_setup_cells_get_their_roles():
    proposal = propose(read_notebook(str(SAMPLES / "diabetes_untagged.ipynb")))
    assert [s.name for s in proposal.steps] == ["load_data", "split_scale", "train", "evaluate"]
    assert proposal.parameters == ["ALPHA", "TEST_SHARE", "SEED"]
    tagged = proposal.notebook
    by_source = {c.source.split("\n")[0]: c.tags for c in tagged.code_cells}
    assert by_source["import numpy as np"] == ("imports",)
    assert by_source["ALPHA = 0.5"] == ("parameters",)
    assert by_source["def rmse(truth, predicted):"] == ("functions",)
    assert by_source["print(r2)"] == ("pipeline-metrics",)
    # the imports of later cells moved up, so every step sees them
    assert "from sklearn.linear_model import Ridge" in tagged.code_cells[0].source
    pipeline, problems = build_pipeline(tagged)
    assert pipeline is not None and not problems
    assert pipeline.step("train").inputs == {"X_train_s": "split_scale", "y_train": "split_scale"}


def test_without_headings_cuts_fall_where_few_names_cross(tmp_path):
    path = write_notebook(tmp_path / "flat.ipynb", (
        "# %%\nimport random\n"
        "# %%\nrows = [random.Random(1).random() for _ in range(50)]\nbig = [r for r in rows "
        "if r > 0.5]\nsmall = [r for r in rows if r <= 0.5]\nmeans = {}\n"
        "# %%\nmeans['big'] = sum(big) / len(big)\nmeans['small'] = sum(small) / len(small)\n"
        "ratio = means['big'] / means['small']\n"
        "# %%\nreport = f'{ratio:.2f}'\nlines = [report]\nprint(lines)\n"))
    proposal = propose(read_notebook(str(path)))
    assert len(proposal.steps) == 3
    assert all(s.reason in ("the first work cell", "few names cross here")
               for s in proposal.steps)


def test_an_open_file_never_crosses_a_cut_and_functions_stay_with_their_callers(tmp_path):
    path = write_notebook(tmp_path / "handles.ipynb", (
        "# %%\nimport os\n"
        "# %% [markdown]\n# Open\n"
        "# %%\nhandle = open(os.devnull)\nfirst = handle.read()\nsize = len(first)\n"
        "# %% [markdown]\n# Read\n"
        "# %%\nrest = handle.read()\nhandle.close()\ntotal = size + len(rest)\n"
        "# %% [markdown]\n# Helper\n"
        "# %%\nscale = 2\ndef double(x):\n    return x * scale\nvalue = double(total)\n"
        "# %% [markdown]\n# Use\n"
        "# %%\nprint(double(value))\nresult = value + 1\nprint(result)\n"))
    proposal = propose(read_notebook(str(path)))
    cells = {s.name: s.cells for s in proposal.steps}
    # the handle is used in "Read": "Open" and "Read" are one step; so are Helper and Use
    assert len(proposal.steps) == 2, cells
    assert build_pipeline(proposal.notebook)[0] is not None


def test_notebooks_that_only_run_out_of_order_are_refused_with_reasons():
    with pytest.raises(AutoTagError) as caught:
        propose(read_notebook(str(SAMPLES / "level0_classifier.ipynb")))
    problems = "\n".join(caught.value.problems)
    assert "cell 7, line 1: uses `X`, which only cell 8, further down, defines" in problems
    assert "cell 10, line 1: `input()` waits for someone to type" in problems
    assert "cell 12, line 1: uses `f1`, which no cell defines" in problems


@pytest.mark.parametrize("source, expected", [
    ("# %%\nprint 'hello'\n", "cell 1, line 1: does not parse"),
    ("# %% [markdown]\n# Only prose\n", "no code to make steps of"),
    ("# %%\nimport os\n# %%\nexec('x = 1')\nprint(x)\n", "cell 2: runs code that nb2pipe "
                                                        "cannot see"),
    ("# %% tags=[\"step:a\"]\nx = 1\n", "already has pipeline tags"),
    ("# %%\nx = 1\nfrom os.path import *\nprint(join('a', 'b'))\n",
     "cell 1: a wildcard import"),
    ("# %%\nframe = [1]\n# %%\ndel frame\n# %%\nprint(frame)\n",
     "cell 3, line 1: uses `frame`, which cell 2 deletes (`del frame`)"),
    ("# %%\nx = 1\n# %%\nbreakpoint()\nprint(x)\n",
     "cell 2, line 1: `breakpoint()` stops in the debugger"),
    ("# %%\nfor i in xrange(3):\n    print(i)\n",
     "cell 1, line 1: uses `xrange`, a Python 2 builtin; use `range`"),
])
def test_what_auto_cannot_do_is_said(tmp_path, source, expected):
    path = write_notebook(tmp_path / "bad.ipynb", source)
    with pytest.raises(AutoTagError) as caught:
        propose(read_notebook(str(path)))
    assert expected in "\n".join(caught.value.problems)


def test_a_wildcard_import_joins_the_imports_that_every_step_repeats(tmp_path):
    path = write_notebook(tmp_path / "star.ipynb", (
        "# %%\nimport os\n# %%\nparts = ['a', 'b']\n"
        "# %%\nfrom os.path import *\nprint(join(*parts))\n"))
    proposal = propose(read_notebook(str(path)))
    assert proposal.notebook.code_cells[0].tags == ("imports",)
    assert "from os.path import *" in proposal.notebook.code_cells[0].source


def test_cli_refusal_writes_nothing_and_leaves_the_notebook_alone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(SAMPLES / "level0_classifier.ipynb", tmp_path)
    before = hashlib.sha256((tmp_path / "level0_classifier.ipynb").read_bytes()).hexdigest()
    code, _, err = run_cli("convert", "--auto", "level0_classifier.ipynb", "-o", "out")
    assert code == 1
    assert "level0_classifier.ipynb: cell 7, line 1: uses `train_test_split`" in err
    assert "nothing was written" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["level0_classifier.ipynb"]
    after = hashlib.sha256((tmp_path / "level0_classifier.ipynb").read_bytes()).hexdigest()
    assert before == after


def test_in_place_needs_auto(tmp_path):
    code, _, err = run_cli("convert", "--in-place", str(SAMPLES / "wine_report.ipynb"))
    assert code == 2 and "--in-place goes with --auto" in err


def test_auto_pipeline_runs_and_reproduces_the_notebook(tmp_path, monkeypatch):
    """The proposal for the untagged sample runs, and its values equal those of a papermill
    run of the notebook, top to bottom."""
    monkeypatch.chdir(tmp_path)
    shutil.copy(SAMPLES / "diabetes_untagged.ipynb", tmp_path)
    original = (tmp_path / "diabetes_untagged.ipynb").read_bytes()
    code, _, err = run_cli("convert", "--auto", "diabetes_untagged.ipynb", "-o", "pipeline")
    assert code == 0, err
    assert "Proposed 4 steps" in err and "diabetes_untagged.tagged.ipynb" in err
    assert (tmp_path / "diabetes_untagged.ipynb").read_bytes() == original
    tagged = json.loads((tmp_path / "diabetes_untagged.tagged.ipynb").read_text())
    assert tagged["metadata"]["nb2pipe"]["auto"]["steps"] == [
        "load_data", "split_scale", "train", "evaluate"]

    code, out, err = run_cli("run", "pipeline", "--tracking", "none", "--no-html")
    assert code == 0, err
    (run,) = list((tmp_path / "pipeline" / "runs").iterdir())
    record = json.loads((run / "run.json").read_text())

    import numpy

    from nb2pipe.runtime import load

    expected = run_top_to_bottom(
        SAMPLES / "diabetes_untagged.ipynb",
        "{'r2': r2, 'error': error, 'predictions': predictions.tolist()}", tmp_path)
    assert record["metrics"] == {"r2": expected["r2"]}
    artifacts = str(run / "artifacts")
    model = load(artifacts, "train", "model")
    predictions = model.predict(load(artifacts, "split_scale", "X_test_s"))
    assert numpy.allclose(predictions, expected["predictions"], rtol=0, atol=1e-9)

    # a second --auto replaces its own copy; a foreign file of that name is not overwritten
    code, _, err = run_cli("convert", "--auto", "diabetes_untagged.ipynb", "-o", "pipeline")
    assert code == 0, err
    (tmp_path / "other.ipynb").write_text((tmp_path / "diabetes_untagged.ipynb").read_text())
    (tmp_path / "other.tagged.ipynb").write_text("{}")
    code, _, err = run_cli("convert", "--auto", "other.ipynb", "-o", "other")
    assert code == 2 and "nb2pipe did not write it" in err
    assert not (tmp_path / "other").exists()


def test_in_place_writes_the_tags_back(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(SAMPLES / "diabetes_untagged.ipynb", tmp_path)
    code, _, err = run_cli("convert", "--auto", "--in-place", "diabetes_untagged.ipynb",
                           "-o", "pipeline")
    assert code == 0, err
    assert not (tmp_path / "diabetes_untagged.tagged.ipynb").exists()
    notebook = read_notebook(str(tmp_path / "diabetes_untagged.ipynb"))
    assert ("step:train",) in tags_of(notebook)
    # now tagged, it converts without --auto to the same pipeline
    first = (tmp_path / "pipeline" / "pipeline.json").read_text()
    code, _, err = run_cli("convert", "diabetes_untagged.ipynb", "-o", "pipeline")
    assert code == 0, err
    assert (tmp_path / "pipeline" / "pipeline.json").read_text() == first


def test_shared_objects_and_random_generators_reproduce(tmp_path, monkeypatch):
    """Two names for one array, changed through one and read through the other, are not
    passed apart; a generator drawn from in two steps goes from the first to the second, so the second
    draw continues where the first stopped."""
    monkeypatch.chdir(tmp_path)
    write_notebook(tmp_path / "shared.ipynb", (
        "# %%\nimport numpy as np\n"
        "# %% [markdown]\n# ## Draw\n"
        "# %%\nrng = np.random.default_rng(3)\nfirst = rng.integers(1000, size=4)\n"
        "print('first', first.tolist())\n"
        "# %% [markdown]\n# ## Draw again\n"
        "# %%\nsecond = rng.integers(1000, size=4)\nprint('second', second.tolist())\n"
        "# %% [markdown]\n# ## Draw a third time\n"
        "# %%\nthird = rng.integers(1000, size=4)\nprint('third', third.tolist())\n"
        "# %% [markdown]\n# ## Make a view\n"
        "# %%\nbase = np.arange(6)\nwindow = base[1:4]\nalias = base\n"
        "# %% [markdown]\n# ## Change it\n"
        "# %%\nwindow[0] = 99\nalias[5] = -1\n"
        "# %% [markdown]\n# ## Read the base\n"
        "# %%\nprint('base', base.tolist())\n"))
    expected = run_top_to_bottom(tmp_path / "shared.ipynb",
                                 "{'second': second.tolist(), 'third': third.tolist(), "
                                 "'base': base.tolist()}", tmp_path)
    assert expected["base"] == [0, 99, 2, 3, 4, -1]
    proposal = propose(read_notebook(str(tmp_path / "shared.ipynb")))
    cells = {s.name: s.cells for s in proposal.steps}
    # the view is changed in the step that made it; once changed, the base may be passed on
    assert list(cells.values()) == [[2], [4], [6], [8, 10], [12]], cells
    code, _, err = run_cli("convert", "--auto", "shared.ipynb", "-o", "pipeline")
    assert code == 0, err
    code, _, err = run_cli("run", "pipeline", "--tracking", "none", "--no-html")
    assert code == 0, err
    printed = {}
    for executed in (tmp_path / "pipeline" / "runs").glob("*/notebooks/*.ipynb"):
        for cell in json.loads(executed.read_text())["cells"]:
            # (a print may arrive in pieces, over several stream outputs, on a busy machine)
            text = "".join("".join(output.get("text", "")) for output in cell.get("outputs", [])
                           if output.get("name") == "stdout")
            for line in text.splitlines():
                label, _, value = line.partition(" ")
                printed[label] = json.loads(value)
    assert printed["second"] == expected["second"]
    assert printed["third"] == expected["third"] != expected["second"]
    assert printed["base"] == expected["base"]


def test_names_read_from_strings_keep_the_work_in_one_step(tmp_path):
    path = write_notebook(tmp_path / "eval.ipynb", (
        "# %%\nimport pandas as pd\n"
        "# %%\nclass show:\n    def __init__(self, *names):\n        self.names = names\n"
        "    def _repr_html_(self):\n        return ''.join(repr(eval(n)) for n in self.names)\n"
        "# %% [markdown]\n# ## Make\n"
        "# %%\ndf1 = pd.DataFrame({'a': [1, 2]})\ndf2 = df1 * 2\n"
        "# %% [markdown]\n# ## Show\n"
        "# %%\nshow('df1', 'df2')\n"))
    proposal = propose(read_notebook(str(path)))
    assert len(proposal.steps) == 1
    assert any("`eval()` reads names from strings" in note for note in proposal.summary())


def test_a_class_that_keeps_state_is_work_not_a_shared_definition(tmp_path):
    """Definitions tagged `functions` run again in every step: a class whose class attributes
    the work changes must instead live in the step that changes it (and the steps after)."""
    path = write_notebook(tmp_path / "state.ipynb", (
        "# %%\nclass Car:\n    base = 100\n    @classmethod\n    def inflate(cls, rate):\n"
        "        cls.base = cls.base * (1 + rate)\n"
        "# %%\ndef double(x):\n    return 2 * x\n"
        "# %% [markdown]\n# ## Inflate\n# %%\nCar.inflate(0.1)\nfirst = Car.base\n"
        "# %% [markdown]\n# ## Read\n# %%\nprint(double(Car.base))\n"))
    proposal = propose(read_notebook(str(path)))
    assert proposal.roles["functions"] == [1]  # `double` keeps no state; `Car` does
    assert [s.cells for s in proposal.steps] == [[0, 3, 5]]


def test_headings_that_are_python_keywords_still_name_valid_steps():
    notebook = read_notebook_from_text(
        "# %% [markdown]\n# ## Break\n# %%\nfor i in range(3):\n    if i:\n        break\n"
        "x = i\ny = x\n# %% [markdown]\n# ## Continue\n# %%\nprint(y)\nz = y + 1\nw = z\n")
    proposal = propose(notebook)
    assert [s.name for s in proposal.steps] == ["break_step", "continue_step"]
    assert build_pipeline(proposal.notebook)[0] is not None


def test_one_giant_cell_is_one_step_and_the_note_says_how_to_get_more():
    proposal = propose(read_notebook_from_text(
        "# %%\nimport numpy as np\nx = np.arange(20)\ny = x * 2\nz = y + 1\nw = z.sum()\n"
        "m = w / 2\nprint(m)\n"))
    assert [s.cells for s in proposal.steps] == [[0]]
    assert any("cell 1 holds all the work" in note and "split it" in note
               for note in proposal.summary())


def test_a_global_seed_in_one_step_and_draws_in_another_are_noted():
    proposal = propose(read_notebook_from_text(
        "# %%\nimport numpy as np\n"
        "# %% [markdown]\n# ## Seed\n# %%\nnp.random.seed(0)\nrng = np.random.default_rng(1)\n"
        "a = np.random.rand(3)\n"
        "# %% [markdown]\n# ## Draw\n# %%\nb = np.random.rand(3) + a\nc = rng.normal(size=3)\n"))
    notes = [n for n in proposal.summary() if "global generator" in n]
    assert len(notes) == 1 and "step `draw` draws from it" in notes[0]
    assert "cell 3 seeds numpy's" in notes[0]


MANY_PRODUCERS = '''# %% [markdown]
# ## Load
# %%
a, b, c, d = 1, 2, 3, 4
# %% [markdown]
# ## Grow a
# %%
a = a + b
d = d + 1
# %% [markdown]
# ## Grow b
# %%
b = b * c
c = c + a
# %% [markdown]
# ## Grow c
# %%
c = c - d
a = a * 2
# %% [markdown]
# ## Report
# %%
print(a, b, c, d)
'''


@pytest.mark.parametrize("sample", ["many_producers", "diabetes_untagged.ipynb"])
def test_the_proposal_does_not_depend_on_the_hash_seed(tmp_path, sample):
    """Steps, their order (`prev:`) and every file are the same whatever PYTHONHASHSEED is."""
    import os
    import subprocess
    import sys

    if sample == "many_producers":
        write_notebook(tmp_path / "n.ipynb", MANY_PRODUCERS)
    else:
        shutil.copy(SAMPLES / sample, tmp_path / "n.ipynb")
    digests = set()
    for seed in ("1", "2", "3"):
        folder = tmp_path / f"out-{seed}"
        result = subprocess.run(
            [sys.executable, "-m", "nb2pipe", "convert", "n.ipynb", "--auto", "--force",
             "-o", str(folder), "--target", "components,papermill"], cwd=tmp_path,
            env={**os.environ, "PYTHONHASHSEED": seed}, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        files = sorted(p for p in folder.rglob("*") if p.is_file())
        blob = (tmp_path / "n.tagged.ipynb").read_bytes() + b"".join(
            p.relative_to(folder).as_posix().encode() + p.read_bytes() for p in files)
        digests.add(hashlib.sha256(blob).hexdigest())
    assert len(digests) == 1


def test_an_empty_parameters_cell_from_fix_stays_the_parameters_cell(tmp_path):
    """`check --fix` may add a parameters cell with no values yet (only its comment);
    `convert --auto` then failed with NB401 (it gave that cell the next step's tag, as it does
    comment-only cells) — found by the fidelity benchmark's seeded table."""
    from tests.helpers import run_cli, write_notebook

    write_notebook(tmp_path / "nb.ipynb",
                   '# %% tags=["parameters"]\n# Parameters: `nb2pipe run -p NAME=VALUE`.\n'
                   '# %%\nimport numpy as np\n# %%\nvalues = np.arange(5)\n'
                   '# %%\ntotal = values.sum()\nprint(total)\n')
    code, _, err = run_cli("convert", "--auto", tmp_path / "nb.ipynb", "-o",
                           tmp_path / "pipeline")
    assert code == 0, err
    assert "NB401" not in err


EVALUATIONS = [
    # (the evaluating cell, the metric names --auto proposes)
    ("print(f'acc {accuracy_score(y, pred):.3f}')", ["accuracy"]),
    ("print('f1: {:.2f}'.format(f1_score(y, pred)))", ["f1"]),
    ("print('r2 = %.2f' % r2_score(y, pred))", ["r2"]),
    ("print('acc', accuracy_score(y, pred))", ["accuracy"]),
    ("print(classification_report(y, pred))", ["accuracy", "f1_macro"]),
    ("errors = abs(pred - y)\nprint('Mean Absolute Error:', round(np.mean(errors), 2))",
     ["mean_absolute_error"]),
    ("mape = 100 * np.mean(abs(pred - y) / y)\naccuracy = 100 - mape", ["mape", "accuracy"]),
    ("scores = cross_val_score(model, X, y, cv=3)\nprint(np.mean(scores))", ["cv_score"]),
    ("model.score(X, y)", ["accuracy"]),  # a classifier's score is its accuracy
]


@pytest.mark.parametrize("cell, metrics", EVALUATIONS)
def test_auto_finds_the_scores_people_print(tmp_path, cell, metrics):
    """The ways real notebooks show a score (f-strings, .format, %, a label, a report, a
    name, a cross-validation mean, the cell's last expression) become metrics, so that a
    gate on them works."""
    source = ("# %%\nimport numpy as np\nfrom sklearn.linear_model import LogisticRegression\n"
              "from sklearn.metrics import accuracy_score, classification_report, f1_score, "
              "r2_score\nfrom sklearn.model_selection import cross_val_score\n"
              "# %% [markdown]\n# ## Load\n# %%\nX = np.array([[0.0], [1.0], [2.0], [3.0]])\n"
              "y = np.array([0, 0, 1, 1])\n# %% [markdown]\n# ## Train\n# %%\n"
              "model = LogisticRegression().fit(X, y)\npred = model.predict(X)\n"
              "# %% [markdown]\n# ## Evaluate\n# %%\n" + cell + "\n")
    path = write_notebook(tmp_path / "nb.ipynb", source)
    proposal = propose(read_notebook(str(path)))
    pipeline, problems = build_pipeline(proposal.notebook)
    assert pipeline is not None, problems
    assert pipeline.metrics == metrics


def test_auto_gates_the_model_on_its_main_metric_unless_told(tmp_path, monkeypatch):
    """No hand edit to reach level 1: with a model and a metric, `--auto` gates on the main
    metric against the champion (lower is better for errors); `--gate` overrides it."""
    from nb2pipe.convert import default_gate
    from nb2pipe.pipeline.model import Pipeline

    pipeline = Pipeline.__new__(Pipeline)
    pipeline.model, pipeline.metrics = {"name": "model"}, ["mean_squared_error", "r2"]
    assert default_gate(pipeline) == "r2>=champion"
    pipeline.metrics = ["rmse"]
    assert default_gate(pipeline) == "rmse<=champion"
    pipeline.model = None
    assert default_gate(pipeline) is None
    monkeypatch.chdir(tmp_path)
    shutil.copy(SAMPLES / "diabetes_untagged.ipynb", tmp_path / "d.ipynb")
    code, out, err = run_cli("convert", "--auto", "d.ipynb", "-o", "pipe")
    assert code == 0, err
    gate = json.loads((tmp_path / "pipe" / "pipeline.json").read_text())["gate"]
    assert len(gate) == 1 and gate[0].endswith("champion"), gate
    code, out, err = run_cli("convert", "--auto", "d.ipynb", "-o", "pipe2", "--force",
                             "--gate", "r2>=0.1")
    assert json.loads((tmp_path / "pipe2" / "pipeline.json").read_text())["gate"] == ["r2>=0.1"]


def test_auto_on_a_tagged_notebook_uses_its_tags(tmp_path):
    """After `check --fix --unsafe-fixes` (which writes step tags) or a review, `convert
    --auto` converts the tags as they are, and says so (issue J, point 14)."""
    path = write_notebook(tmp_path / "nb.ipynb", '# %% tags=["step:make"]\nx = 1\n'
                                                 '# %% tags=["step:show"]\nprint(x)\n')
    code, _, err = run_cli("convert", "--auto", path, "-o", tmp_path / "pipe")
    assert code == 0, err
    assert "already has pipeline tags: converting them as they are" in err
    steps = json.loads((tmp_path / "pipe" / "pipeline.json").read_text())["steps"]
    assert [s["name"] for s in steps] == ["make", "show"]
    assert not (tmp_path / "nb.tagged.ipynb").exists()


def test_a_setting_later_steps_need_stays_with_them():
    """A cut after `os.environ[...] = computed` would leave the steps after it without the
    setting (NB407): the proposal merges them, and makes no finding of its own."""
    notebook = read_notebook_from_text(
        "# %%\nimport os\nimport pandas as pd\n"
        "# %% [markdown]\n# ## Settings\n"
        "# %%\nhome = os.path.abspath('data')\nos.environ['DATA_HOME'] = home\n"
        "# %% [markdown]\n# ## Load\n"
        "# %%\nframe = pd.DataFrame({'a': [1, 2]})\nprint(len(frame))\n"
        "# %% [markdown]\n# ## Report\n"
        "# %%\nprint(frame.shape, os.environ['DATA_HOME'])\n")
    proposal = propose(notebook)
    pipeline, problems = build_pipeline(proposal.notebook)
    assert pipeline is not None
    assert [p.code for p in problems if p.code == "NB407"] == []
