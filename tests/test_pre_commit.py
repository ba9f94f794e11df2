"""The pre-commit hook, installed by pre-commit itself from this repository."""

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import write_notebook

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None, reason="pre-commit needs git")
def test_pre_commit_hook_checks_staged_notebooks(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    write_notebook(project / "bad.ipynb", "# %%\nprint(never_defined)\n")
    write_notebook(project / "good.ipynb", '# %% tags=["parameters"] execution_count=1\nx = 1\n')
    subprocess.run(["git", "add", "."], cwd=project, check=True)
    # The hook needs the command line only: skip building the JupyterLab panel (node).
    env = {"PRE_COMMIT_HOME": str(tmp_path / "cache"), "PATH": "/usr/local/bin:/usr/bin:/bin",
           "SKIP_JUPYTER_BUILDER": "1",
           "HOME": str(tmp_path), "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    pre_commit = Path(shutil.which("pre-commit") or ROOT / ".venv" / "bin" / "pre-commit")

    def run(*files):
        return subprocess.run([str(pre_commit), "try-repo", str(ROOT), "nb2pipe-check",
                               "--files", *files], cwd=project, env=env, capture_output=True,
                              text=True, timeout=600)

    # one installation of the hook (each try-repo installs it afresh): both files at once;
    # the hook fails for the bad notebook and says nothing of the good one
    result = run("bad.ipynb", "good.ipynb")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "bad.ipynb:cell 1:1:7: NB106 `never_defined` is not defined" in result.stdout
    assert "good.ipynb" not in result.stdout, result.stdout
