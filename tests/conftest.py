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
    the gaps around them instead of one long test running alone at the end.

    With pytest-xdist, each process starts with a contiguous share of the collection (the
    first third to the first process, and so on: ``--dist worksteal``), and an idle process
    takes tests from the end of a busy one's queue. So the slow tests are dealt to the shares
    in turn, each share beginning with its slow tests: all of them at the head of the first
    share left that process running them one after another while the others took its quick
    ones (a make test of 18 minutes ended with one process running the last slow test
    alone)."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
    workers = int(getattr(config, "workerinput", {}).get("workercount", 1))
    if workers > 1:
        items[:] = _dealt(items, workers)


def _dealt(items: list, workers: int) -> list:
    """``items`` (slow ones first) as ``workers`` contiguous shares of the sizes xdist gives
    them, the slow tests dealt to the shares in turn, each share's slow tests first."""
    slow = [item for item in items if item.get_closest_marker("slow") is not None]
    quick = [item for item in items if item.get_closest_marker("slow") is None]
    sizes, left = [], len(items)
    for index in range(workers):  # as xdist's scheduler: what is left, shared by who is left
        sizes.append(left // (workers - index))
        left -= sizes[-1]
    shares = [slow[index::workers] for index in range(workers)]
    ordered = []
    for share, size in zip(shares, sizes):
        take = max(0, size - len(share))
        ordered += share + quick[:take]
        quick = quick[take:]
    return ordered + quick


@pytest.fixture
def samples() -> Path:
    return SAMPLES


@pytest.fixture(autouse=True)
def _no_colour(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("CI", raising=False) if os.environ.get("NB2PIPE_KEEP_CI") else None
