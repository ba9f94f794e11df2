"""The JupyterLab server the browser tests use: no token, a fresh root with the samples."""

import os
import shutil
import tempfile
from pathlib import Path

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821 - `c` is the config object jupyter provides

root = Path(tempfile.mkdtemp(prefix="nb2pipe-ui-"))
samples = Path(__file__).resolve().parents[2] / "sample_notebooks"
for name in ("level0_classifier.ipynb", "classifier_pipeline.ipynb", "requirements.txt"):
    shutil.copy(samples / name, root / name)
c.ServerApp.root_dir = str(root)  # noqa: F821
c.ServerApp.ip = "127.0.0.1"  # noqa: F821
c.ServerApp.allow_root = True  # noqa: F821
c.ServerApp.open_browser = False  # noqa: F821
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
