"""nb2pipe: from level-0 notebooks to level-1 pipelines.

The package root stays import-free so that ``nb2pipe --version`` starts fast.
"""

__version__ = "0.1.0"
