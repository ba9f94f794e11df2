"""nb2pipe: from level-0 notebooks to level-1 pipelines.

The package root stays import-free so that ``nb2pipe --version`` starts fast.
"""

__version__ = "0.1.0"


def _jupyter_server_extension_points() -> list[dict]:
    """The Jupyter server extension (handlers in :mod:`nb2pipe.server`)."""
    return [{"module": "nb2pipe.server"}]
