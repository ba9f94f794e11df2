"""`nb2pipe convert` as a user runs it: what it writes, deterministically, whole or not at all."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import run_cli, write_notebook

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_notebooks" / "classifier_pipeline.ipynb"


def tree_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_convert_writes_the_design_layout(tmp_path):
    before = SAMPLE.read_bytes()
    code, out, err = run_cli("convert", SAMPLE, "-o", tmp_path / "out")
    assert code == 0, err
    files = set(tree_digest(tmp_path / "out"))
    assert {"pipeline.json", "requirements.txt", "README.md", "dag.mmd",
            "components/__init__.py", "components/common.py", "components/train.py",
            "papermill/train.ipynb", "papermill/metrics.ipynb"} <= files
    assert SAMPLE.read_bytes() == before, "the input notebook is never modified"
    assert "5 steps (load_data, split, train, evaluate, metrics)" in err
    requirements = (tmp_path / "out" / "requirements.txt").read_text()
    assert "scikit-learn==" in requirements and "numpy==" in requirements
    pipeline = json.loads((tmp_path / "out" / "pipeline.json").read_text())
    assert pipeline["notebook"] == os.path.relpath(SAMPLE, tmp_path / "out")


def test_same_input_gives_byte_identical_output(tmp_path):
    run_cli("convert", SAMPLE, "-o", tmp_path / "a")
    run_cli("convert", SAMPLE, "-o", tmp_path / "b")
    assert tree_digest(tmp_path / "a") == tree_digest(tmp_path / "b")
    first = tree_digest(tmp_path / "a")
    run_cli("convert", SAMPLE, "-o", tmp_path / "a")  # over its own earlier output
    assert tree_digest(tmp_path / "a") == first


def test_components_are_plain_importable_functions(tmp_path):
    run_cli("convert", SAMPLE, "-o", tmp_path / "out")
    code = ("import inspect, components\n"
            "from components.train import train\n"
            "accuracy = components.run_pipeline(N_ESTIMATORS=5)['metrics']['accuracy']\n"
            "print(list(inspect.signature(train).parameters))\n"
            "print(accuracy > 0.8)\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path / "out",
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[-2] == "['X_train', 'y_train', 'MAX_DEPTH', 'N_ESTIMATORS', 'SEED']"
    assert lines[-1] == "True"


def test_bad_notebook_writes_nothing_and_explains(tmp_path):
    path = write_notebook(tmp_path / "bad.ipynb", '# %% tags=["skip"]\nscaler = 1\n'
                          '# %% tags=["step:train", "prev:nope"]\nmodel = scaler + 1\n')
    code, out, err = run_cli("convert", path, "-o", tmp_path / "out")
    assert code == 1
    assert "NB404" in err and "only a `skip` cell defines" in err and "prev:nope" in err
    assert "nothing was written" in err
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".nb2pipe-")]


def test_a_step_that_does_not_parse_is_named_not_a_traceback(tmp_path):
    path = write_notebook(tmp_path / "typo.ipynb", '# %% tags=["step:load"]\nx = 1\n'
                          '# %% tags=["skip"]\nprint "only a look"\n'
                          '# %% tags=["step:train"]\ny = = x\n')
    code, _, err = run_cli("convert", path, "-o", tmp_path / "out")
    assert code == 1 and "Traceback" not in err
    assert "typo.ipynb:cell 3:1:5: NB902 cell does not parse" in err
    assert "cell 2" not in err  # a skipped cell is not part of the pipeline
    assert "nothing was written" in err and not (tmp_path / "out").exists()


def test_top_level_await_is_refused_where_components_cannot_run_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_notebook(tmp_path / "aio.ipynb", '# %% tags=["imports"]\nimport asyncio\n'
                   '# %% tags=["step:fetch"]\nx = 1\nawait asyncio.sleep(0)\n'
                   '# %% tags=["step:use", "prev:fetch"]\ny = x + 1\n')
    code, _, err = run_cli("convert", "aio.ipynb", "-o", "out")
    assert code == 1 and "Traceback" not in err
    assert "aio.ipynb:cell 2:2:1: NB902 top-level `await`" in err and "asyncio.run" in err
    assert not (tmp_path / "out").exists()
    # papermill's step notebooks run in IPython, which runs it
    code, _, err = run_cli("convert", "aio.ipynb", "-o", "out", "--target", "papermill")
    assert code == 0, err
    code, _, err = run_cli("run", "out", "--tracking", "none", "--no-html")
    assert code == 0, err


def test_a_notebook_in_another_language_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    kernel = {"kernelspec": {"name": "ir", "language": "R", "display_name": "R"}}
    path = write_notebook(tmp_path / "r.ipynb", '# %% tags=["step:a"]\nx <- 1\n', kernel)
    code, _, err = run_cli("convert", path, "-o", tmp_path / "out")
    assert code == 1 and "NB903" in err and "language is `r`" in err
    assert not (tmp_path / "out").exists()
    code, _, err = run_cli("run", path)
    assert code == 2 and "language is `r`" in err
    assert not (tmp_path / "runs").exists() and not (tmp_path / "mlflow.db").exists()


def test_refuses_to_overwrite_a_folder_it_did_not_write(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "precious.txt").write_text("keep me")
    code, _, err = run_cli("convert", SAMPLE, "-o", tmp_path / "mine")
    assert code == 2 and "nb2pipe did not write (precious.txt)" in err and "--force" in err
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["precious.txt"]


def test_a_pipeline_json_does_not_make_a_folder_nb2pipes(tmp_path):
    """The defect of issue G: any folder holding a `pipeline.json` was replaced whole."""
    user = tmp_path / "user"
    user.mkdir()
    (user / "pipeline.json").write_text('{"mine": true}')
    (user / "precious.txt").write_text("keep me")
    code, _, err = run_cli("convert", SAMPLE, "-o", user)
    assert code == 2 and "nothing was touched" in err
    assert sorted(p.name for p in user.iterdir()) == ["pipeline.json", "precious.txt"]
    assert (user / "pipeline.json").read_text() == '{"mine": true}'
    # --force writes the pipeline and keeps every file of the user's
    code, _, err = run_cli("convert", SAMPLE, "-o", user, "--force")
    assert code == 0, err
    assert (user / "precious.txt").read_text() == "keep me"
    assert (user / "pipeline.json.orig").read_text() == '{"mine": true}'
    assert json.loads((user / "pipeline.json").read_text())["steps"]
    assert "kept 2 files nb2pipe did not write" in err


def test_reconverting_replaces_only_what_nb2pipe_wrote(tmp_path):
    out = tmp_path / "out"
    assert run_cli("convert", SAMPLE, "-o", out)[0] == 0
    manifest = json.loads((out / ".nb2pipe-manifest.json").read_text())["files"]
    assert set(manifest) == set(tree_digest(out)) - {".nb2pipe-manifest.json"}
    # what runs leave is kept, and so is a file the user adds with --force
    (out / "runs" / "r1").mkdir(parents=True)
    (out / "runs" / "r1" / "run.json").write_text("{}")
    (out / "mlflow.db").write_bytes(b"db")
    (out / "notes.md").write_text("mine")
    assert run_cli("convert", SAMPLE, "-o", out)[0] == 2  # notes.md is not nb2pipe's
    assert run_cli("convert", SAMPLE, "-o", out, "--force")[0] == 0
    assert (out / "runs" / "r1" / "run.json").read_text() == "{}"
    assert (out / "mlflow.db").read_bytes() == b"db" and (out / "notes.md").read_text() == "mine"
    # a file of nb2pipe's that the user edited is the user's now
    (out / "notes.md").unlink()
    (out / "components" / "train.py").write_text("# my edit\n")
    code, _, err = run_cli("convert", SAMPLE, "-o", out)
    assert code == 2 and "components/train.py" in err
    assert (out / "components" / "train.py").read_text() == "# my edit\n"


def test_files_a_new_conversion_no_longer_writes_are_removed_if_unchanged(tmp_path):
    notebook = write_notebook(tmp_path / "n.ipynb", '# %% tags=["step:one"]\nx = 1\n'
                              '# %% tags=["step:two"]\ny = x + 1\n')
    out = tmp_path / "out"
    assert run_cli("convert", notebook, "-o", out)[0] == 0
    assert (out / "components" / "two.py").exists()
    write_notebook(notebook, '# %% tags=["step:one"]\nx = 1\ny = x + 1\n')
    code, _, err = run_cli("convert", notebook, "-o", out)
    assert code == 0, err
    assert not (out / "components" / "two.py").exists()
    assert not (out / "papermill" / "two.ipynb").exists()
    assert set(tree_digest(out)) - {".nb2pipe-manifest.json"} == \
        set(json.loads((out / ".nb2pipe-manifest.json").read_text())["files"])


def test_the_notebooks_folder_and_its_ancestors_are_never_a_target(tmp_path, monkeypatch):
    folder = tmp_path / "project"
    folder.mkdir()
    notebook = folder / "classifier.ipynb"
    notebook.write_bytes(SAMPLE.read_bytes())
    (folder / "pipeline.json").write_text("{}")
    monkeypatch.chdir(folder)
    for output in (".", str(folder), str(tmp_path)):
        code, _, err = run_cli("convert", notebook, "-o", output, "--force")
        assert code == 2 and "the notebook's folder" in err, err
    assert sorted(p.name for p in folder.iterdir()) == ["classifier.ipynb", "pipeline.json"]
    assert notebook.read_bytes() == SAMPLE.read_bytes()


def test_an_existing_folder_keeps_its_permissions_and_a_new_one_follows_the_umask(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o750)
    assert run_cli("convert", SAMPLE, "-o", out)[0] == 0
    assert out.stat().st_mode & 0o777 == 0o750
    umask = os.umask(0o022)
    try:
        assert run_cli("convert", SAMPLE, "-o", tmp_path / "new")[0] == 0
    finally:
        os.umask(umask)
    assert (tmp_path / "new").stat().st_mode & 0o777 == 0o755


def test_capture_keeps_what_the_cell_printed(tmp_path):
    """`%%capture out` hides the cell's output and keeps it in `out.stdout`, in the plain
    Python components as in IPython."""
    path = write_notebook(tmp_path / "c.ipynb", '# %% tags=["step:talk"]\n%%capture out\n'
                          'for word in ("quiet", "please"):\n    print(word)\n'
                          '# %% tags=["step:use", "prev:talk"]\nheard = out.stdout.split()\n')
    assert run_cli("convert", path, "-o", tmp_path / "out")[0] == 0
    script = "import components\nprint(repr(components.run_pipeline()['out'].stdout))\n"
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path / "out",
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    # the words were captured, not printed: the only output is the captured text's repr
    assert result.stdout == repr("quiet\nplease\n") + "\n"


def test_imports_python_allows_only_at_a_module_top(tmp_path, monkeypatch):
    """`from __future__ import …` and `from X import *` are legal in a notebook cell, not
    inside a component's function: they convert (and run) all the same."""
    monkeypatch.chdir(tmp_path)
    write_notebook(tmp_path / "s.ipynb", '# %% tags=["imports"]\n'
                   'from __future__ import print_function, division\nfrom math import *\n'
                   '# %% tags=["step:a"]\nfrom statistics import *\n'
                   'x = sqrt(16) + mean([1, 2, 3])\n'
                   '# %% tags=["step:b", "prev:a"]\ny = floor(x / 4)\n'
                   '# %% tags=["pipeline-metrics"]\nprint(y)\n')
    code, _, err = run_cli("convert", "s.ipynb", "-o", "out")
    assert code == 0 and "Traceback" not in err, err
    script = "import components\nprint(components.run_pipeline()['metrics'])\n"
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path / "out",
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "{'y': 1}"
    code, _, err = run_cli("run", "out", "--engine", "kfp-local", "--tracking", "none")
    assert code == 0, err
    (run,) = list((tmp_path / "out" / "runs").iterdir())
    assert json.loads((run / "run.json").read_text())["metrics"] == {"y": 1}


def test_magics_in_components_and_papermill(tmp_path):
    path = write_notebook(tmp_path / "m.ipynb", '# %% tags=["imports"]\nimport os\n'
                          '%matplotlib inline\n# %% tags=["step:prepare"]\n!pip install requests\n'
                          'files = !ls\n%cd .\n%run other.py\ncount = len(files)\n'
                          '# %% tags=["step:use"]\nprint(count)\n')
    code, _, err = run_cli("convert", path, "-o", tmp_path / "out")
    assert code == 0, err
    assert "`%run other.py` has no Python equivalent" in err
    component = (tmp_path / "out" / "components" / "prepare.py").read_text()
    assert "import subprocess" in component and "subprocess.run('ls'" in component
    assert "os.chdir" in component and "raise NotImplementedError" in component
    assert "is in requirements.txt" in component
    step = json.loads((tmp_path / "out" / "papermill" / "prepare.ipynb").read_text())
    sources = ["".join(c["source"]) for c in step["cells"]]
    assert any("%run other.py" in s for s in sources), "papermill steps keep magics verbatim"
    assert "requests" in (tmp_path / "out" / "requirements.txt").read_text()


def test_local_modules_carry_their_imports_into_the_requirements(tmp_path):
    """A helper module beside the notebook imports packages of its own: they are requirements
    (pinned to the installed version), and one not installed here is named with the module
    that imports it (issue J, point 11)."""
    (tmp_path / "helper.py").write_text("import pandas\nimport notinstalled_xyz\n\n\n"
                                        "def f():\n    return 1\n")
    write_notebook(tmp_path / "nb.ipynb", '# %% tags=["step:a"]\nimport helper\n'
                                          'x = helper.f()\n# %% tags=["step:b"]\nprint(x)\n')
    code, _, err = run_cli("convert", tmp_path / "nb.ipynb", "-o", tmp_path / "pipe")
    assert code == 0, err
    requirements = (tmp_path / "pipe" / "requirements.txt").read_text()
    import pandas

    assert f"pandas=={pandas.__version__}" in requirements
    assert "notinstalled_xyz  # not installed here" in requirements
    assert "helper" not in requirements
    assert "`notinstalled_xyz` is imported by helper.py" in err
