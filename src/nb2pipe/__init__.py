"""nb2pipe: from level-0 notebooks to level-1 pipelines.

The package root stays import-free so that ``nb2pipe --version`` starts fast.
"""

__version__ = "0.1.0"


def _jupyter_server_extension_points() -> list[dict]:
    """The Jupyter server extension (handlers in :mod:`nb2pipe.server`)."""
    return [{"module": "nb2pipe.server"}]


def _jupyter_labextension_paths() -> list[dict]:
    """The prebuilt JupyterLab extension (built from labextension/ into the package)."""
    return [{"src": "labextension", "dest": "@nb2pipe/labextension"}]
