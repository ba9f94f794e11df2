import os
from pathlib import Path

import pytest

# jp_fetch and friends, for the server extension's tests (tests/server).
pytest_plugins = ["pytest_jupyter.jupyter_server"]

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_notebooks"
CORPUS = ROOT.parent / "shared" / "corpus"

# The empty MLflow store nb2pipe copies for a new store (nb2pipe.tracking.sqlite.new_store) is
# kept in a folder of this session, not in the user's ~/.cache; the xdist processes inherit it.
if "NB2PIPE_STORE_TEMPLATES" not in os.environ:
    import tempfile

    os.environ["NB2PIPE_STORE_TEMPLATES"] = tempfile.mkdtemp(prefix="nb2pipe-test-templates-")
    _OWN_TEMPLATES = os.environ["NB2PIPE_STORE_TEMPLATES"]
else:
    _OWN_TEMPLATES = None


def _git_status() -> set[str] | None:
    """The repository's changed and untracked files, or None outside a git checkout."""
    import subprocess

    if not (ROOT / ".git").exists():
        return None
    try:
        out = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"],
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return set(out.stdout.splitlines()) if out.returncode == 0 else None


def pytest_sessionstart(session):
    if not hasattr(session.config, "workerinput"):  # the controller, with or without xdist
        session.config._nb2pipe_git_status = _git_status()


def pytest_sessionfinish(session, exitstatus):
    """No test writes outside its temporary folders: the checkout is as the suite found it."""
    if _OWN_TEMPLATES and not hasattr(session.config, "workerinput"):
        import shutil

        shutil.rmtree(_OWN_TEMPLATES, ignore_errors=True)
    before = getattr(session.config, "_nb2pipe_git_status", None)
    if before is None or hasattr(session.config, "workerinput"):
        return
    after = _git_status() or set()
    new = sorted(after - before)
    if new:
        print("\nerror: the test suite wrote into the repository:\n  " + "\n  ".join(new),
              file=__import__("sys").stderr)
        session.exitstatus = 1


def pytest_collection_modifyitems(config, items):
    """The slow end-to-end tests start first: with several processes, the short ones fill
    the gaps around them instead of one long test running alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture
def samples() -> Path:
    return SAMPLES


@pytest.fixture(autouse=True)
def _no_colour(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("CI", raising=False) if os.environ.get("NB2PIPE_KEEP_CI") else None
