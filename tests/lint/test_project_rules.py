"""The project rules (NB7xx) on a folder that holds several git repositories: each repository
is a project of its own, as `nb2pipe check` run inside it would see it."""

import subprocess

from tests.helpers import run_cli, write_notebook

TRAINS = "# %%\nfrom sklearn.linear_model import LinearRegression\n" \
         "m = LinearRegression().fit([[1], [2]], [1, 2])\n"


def _repository(folder, files: dict) -> None:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    write_notebook(folder / "train.ipynb", TRAINS)
    for command in (["init", "-q"], ["add", "-A"],
                    ["-c", "user.email=a@b", "-c", "user.name=n", "commit", "-qm", "i"]):
        subprocess.run(["git", "-C", str(folder), *command], check=True)


def test_each_repository_under_the_folder_is_its_own_project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _repository(tmp_path / "clones" / "a", {"requirements.txt": "scikit-learn==1.5.2\n"})
    _repository(tmp_path / "clones" / "b", {".github/workflows/ci.yml":
                                             "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest"
                                             "\n    steps:\n      - run: pytest\n"})
    write_notebook(tmp_path / "clones" / "loose.ipynb", "# %%\nprint(1)\n")
    out = run_cli("check", "clones", "--select", "NB701,NB703", "--output-format",
                  "concise")[1]
    lines = [line for line in out.splitlines() if ": NB70" in line]
    assert [line.split(" ", 2)[:2] for line in lines] == [
        ["clones:", "NB701"], ["clones:", "NB703"],  # the notebook outside both
        ["clones/a:", "NB703"], ["clones/b:", "NB701"]]
    # the same as each repository checked on its own
    for name, code in (("a", "NB703"), ("b", "NB701")):
        alone = run_cli("check", f"clones/{name}", "--select", "NB701,NB703",
                        "--output-format", "concise")[1]
        assert [line.split(" ", 2)[1] for line in alone.splitlines() if ": NB70" in line] == \
            [code]
