"""Helpers shared by the tests: notebooks on disk from ``# %%`` text, running the CLI."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout

from nb2pipe.cli import main
from nb2pipe.notebook import notebook_from_percent


def write_notebook(path, source: str, metadata=None):
    notebook = notebook_from_percent(source, str(path), metadata)
    path.write_text(json.dumps(notebook.raw, indent=1))
    return path


def run_cli(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def run_top_to_bottom(path, expression: str, cwd) -> dict:
    """Run the notebook at ``path`` top to bottom with papermill, then evaluate
    ``expression`` (a dict of JSON-able values, in the notebook's namespace) in a last cell;
    return its value."""
    import nbformat
    import papermill

    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(
        f"import json as _json\nprint('RESULT', _json.dumps({expression}))"))
    executed = papermill.execute_notebook(notebook, None, kernel_name="python3",
                                          progress_bar=False, cwd=str(cwd))
    text = "".join(o.get("text", "") for o in executed.cells[-1].outputs)
    return json.loads(text.split("RESULT", 1)[1])


def corpus_share(notebooks: list) -> list:
    """The corpus notebooks a run of the suite goes through: a third of them, which third
    set by the commit under test (a re-run of a commit checks the same ones; over three
    commits, every notebook comes round), or all of them with ``NB2PIPE_CORPUS=all`` (and
    the benchmarks go through the whole corpus). Failures name the notebook either way."""
    import os
    import subprocess
    from pathlib import Path

    wanted = os.environ.get("NB2PIPE_CORPUS", "")
    if wanted == "all":
        return list(notebooks)
    if wanted.isdigit():
        offset = int(wanted) % 3
    else:
        root = Path(__file__).resolve().parent.parent
        try:
            head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                                  text=True, timeout=30).stdout.strip()
            offset = int(head[:8], 16) % 3 if head else 0
        except (OSError, ValueError, subprocess.SubprocessError):
            offset = 0
    return [notebook for number, notebook in enumerate(sorted(notebooks))
            if number % 3 == offset]


def keep_only(folder, notebooks: list, root) -> None:
    """In ``folder``, a copy of ``root``, delete the notebooks not in ``notebooks`` (paths
    under ``root``): the data files and modules stay, as the notebooks left need them."""
    from pathlib import Path

    chosen = {Path(n).relative_to(root) for n in notebooks}
    for path in Path(folder).rglob("*.ipynb"):
        if path.relative_to(folder) not in chosen:
            path.unlink()


def two_mlflow_stores(folder, names: tuple[str, str], experiment: str) -> list[str]:
    """The URIs of two SQLite stores MLflow made in ``folder/NAME/`` (with ``experiment``
    each, as ``nb2pipe run``'s first run makes it): one for MLflow's way, one for nb2pipe's."""
    import os

    from nb2pipe.tracking.mlflow import MlflowTracker

    uris = []
    for name in names:
        os.makedirs(folder / name)
        uri = f"sqlite:///{folder / name / 'mlflow.db'}"
        MlflowTracker(uri, experiment)
        uris.append(uri)
    return uris


def without_stamps(entries: list) -> list:
    """What a run logged into nb2pipe's autologging buffer, in order, less what differs
    between two runs of the same fit: the metrics' timestamps and the run's source tags."""
    kept = []
    for entry in entries:
        entry = dict(entry)
        if "metrics" in entry:
            entry["metrics"] = [[key, value, step] for key, value, _stamp, step in
                                entry["metrics"]]
        if "tags" in entry:
            entry["tags"] = [t for t in entry["tags"] if not t[0].startswith("mlflow.source")]
        kept.append(entry)
    return kept


def server_port() -> int:
    """A free localhost port for a server a test starts, outside the range the system gives
    ``bind(port 0)``: a kernel another test starts meanwhile (its ZeroMQ sockets) can take a
    port of that range between this answer and the server's bind, seconds later for MLflow's
    or Airflow's server. Chosen at random below that range (other workers choose too),
    checked free; the system's choice when the range leaves no room below it."""
    import random
    import socket

    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as handle:
            low = int(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    for _ in range(50) if low > 11000 else ():
        port = random.randrange(10000, low)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
