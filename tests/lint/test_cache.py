"""`nb2pipe check` keeps its results in .nb2pipe_cache/ and reuses them for unchanged files."""

import os

from tests.helpers import run_cli, write_notebook

SOURCE = "# %%\nimport numpy as np\nx = np.random.rand(3)\nprint(x)\n"


def check(path, *extra):
    return run_cli("check", path, "--output-format", "concise", "--exit-zero", *extra)[1]


def test_unchanged_notebooks_come_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write_notebook(tmp_path / "nb.ipynb", SOURCE)
    first = check(path)
    assert "NB202" in first
    assert (tmp_path / ".nb2pipe_cache" / ".gitignore").read_text().endswith("*\n")
    # Same size and time, other bytes: the cache answers, so the old findings come back.
    stat = os.stat(path)
    path.write_bytes(path.read_bytes().replace(b"np.random.rand(3)", b"np.random.rand(4)"))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert check(path) == first
    assert "rand(4)" in run_cli("check", path, "--no-cache")[1]  # full format quotes the code


def test_a_changed_notebook_or_selection_is_checked_again(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write_notebook(tmp_path / "nb.ipynb", SOURCE)
    assert "NB202" in check(path)
    assert "NB202" not in check(path, "--ignore", "NB202")
    write_notebook(path, "# %%\nimport numpy as np\nnp.random.seed(0)\nx = np.random.rand(30)\n")
    assert "NB202" not in check(path)


def test_a_new_requirements_file_is_seen(tmp_path, monkeypatch):
    from nb2pipe.lint import project

    monkeypatch.chdir(tmp_path)
    # Each `nb2pipe check` is a new process; a server looks again after RECHECK_SECONDS.
    monkeypatch.setattr(project, "RECHECK_SECONDS", 0)
    path = write_notebook(tmp_path / "nb.ipynb", "# %%\nimport numpy as np\n")
    assert "NB205" in check(path, "--select", "NB205")
    (tmp_path / "requirements.txt").write_text("numpy==2.1.0\n")
    assert check(path, "--select", "NB205") == ""


def test_a_damaged_cache_is_checked_again(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write_notebook(tmp_path / "nb.ipynb", SOURCE)
    first = check(path)
    (cache,) = (tmp_path / ".nb2pipe_cache").glob("check-*.json")
    for damaged in ('{"%s": {"stamp": 1}}' % path, "[1, 2]", "not json"):
        cache.write_text(damaged)
        assert check(path) == first


def test_no_cache_leaves_no_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write_notebook(tmp_path / "nb.ipynb", SOURCE)
    check(path, "--no-cache")
    assert not (tmp_path / ".nb2pipe_cache").exists()
    check(path, "--cache-dir", str(tmp_path / "elsewhere"))
    assert list((tmp_path / "elsewhere").glob("check-*.json"))


def test_a_module_added_next_to_the_notebook_is_seen(tmp_path, monkeypatch):
    from nb2pipe.lint import project

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(project, "RECHECK_SECONDS", 0)
    (tmp_path / "requirements.txt").write_text("numpy==2.1.0\n")
    path = write_notebook(tmp_path / "nb.ipynb", "# %%\nimport helpers\n")
    assert "`helpers` is imported" in check(path, "--select", "NB205")
    (tmp_path / "helpers.py").write_text("X = 1\n")
    assert check(path, "--select", "NB205") == ""
