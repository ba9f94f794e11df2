"""NB205 against real dependency files: what a requirement declares, by its import names."""

from tests.helpers import run_cli, write_notebook


def findings(tmp_path, requirements: str) -> str:
    (tmp_path / "requirements.txt").write_text(requirements)
    path = write_notebook(tmp_path / "nb.ipynb", "# %%\nimport zmq\nimport sklearn\n")
    return run_cli("check", path, "--select", "NB205", "--output-format", "concise")[1]


def test_a_distribution_declares_the_modules_it_installs(tmp_path):
    # `pyzmq` installs `zmq`: no table says so, the installed distribution's metadata does
    assert findings(tmp_path, "pyzmq>=25\nscikit-learn==1.5.2\n") == ""


def test_a_module_no_requirement_provides_is_reported(tmp_path):
    out = findings(tmp_path, "scikit-learn==1.5.2\n")
    assert "`zmq` is imported but requirements.txt does not declare `zmq`" in out
    assert "sklearn" not in out


def test_each_module_of_one_import_statement_is_pointed_at(tmp_path):
    path = write_notebook(tmp_path / "nb.ipynb", "# %%\nimport zmq, sklearn as sk\n")
    out = run_cli("check", path, "--select", "NB205", "--output-format", "concise")[1]
    assert "cell 1:1:8: NB205 `zmq`" in out and "cell 1:1:13: NB205 `sklearn`" in out


def test_the_projects_own_code_through_sys_path_is_local_and_a_missing_one_says_so(tmp_path):
    (tmp_path / "src" / "mypkg").mkdir(parents=True)
    (tmp_path / "src" / "mypkg" / "__init__.py").write_text("")
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "helpers.py").write_text("")
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "requirements.txt").write_text("scikit-learn==1.5.2\n")
    path = write_notebook(tmp_path / "notebooks" / "nb.ipynb",
                          "# %%\nimport os, sys\nfrom pathlib import Path\n"
                          "sys.path.insert(0, os.path.abspath(os.path.join('..', 'src')))\n"
                          "sys.path.append(str(Path('..') / 'lib'))\n"
                          "from mypkg.data import load\nimport helpers\nimport renamed_module\n")
    out = run_cli("check", path, "--select", "NB205", "--output-format", "concise")[1]
    assert "mypkg" not in out and "helpers" not in out
    assert "`renamed_module` is imported but requirements.txt does not declare " \
           "`renamed_module`, and it is not in the folders the notebook adds to `sys.path` " \
           "(`../src`, `../lib`)" in out
    # the project's module in another folder than the one sys.path gets: said where it is
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "renamed_module.py").write_text("")
    out = run_cli("check", path, "--select", "NB205", "--output-format", "concise",
                  "--no-cache")[1]  # (the check cache watches the notebook's own folder)
    assert "the project has one in `../tools`" in out
