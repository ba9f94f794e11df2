"""What is installed where nb2pipe runs, read once while it stays the same.

``importlib.metadata`` reads every installed distribution's metadata on each call: mapping the
modules to their distributions takes about a second in a large environment, and converting a
notebook asked for it several times. The answers are kept while no folder of ``sys.path``
changes (installing or removing a package changes its site-packages folder), so a long-lived
process (the Jupyter server) still sees a package installed in a terminal.
"""

from __future__ import annotations

import os
import sys

_CACHE: dict[str, tuple[tuple, object]] = {}


def _fingerprint() -> tuple:
    stamps = []
    for folder in sys.path:
        try:
            stamps.append((folder, os.stat(folder or ".").st_mtime_ns))
        except OSError:
            stamps.append((folder, None))
    return tuple(stamps)


def _kept(key: str, compute):
    fingerprint = _fingerprint()
    cached = _CACHE.get(key)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    value = compute()
    _CACHE[key] = (fingerprint, value)
    return value


def packages_distributions() -> dict[str, list[str]]:
    """Top-level module → the installed distributions that provide it."""
    from importlib import metadata

    def compute():
        try:
            return metadata.packages_distributions()
        except Exception:  # unreadable metadata: nothing known
            return {}

    return _kept("packages_distributions", compute)


def entry_points(group: str) -> list[tuple[str, str]]:
    """``(name, value)`` of the installed entry points of ``group``."""
    from importlib import metadata

    return _kept(f"entry_points:{group}", lambda: [
        (entry.name, entry.value) for entry in metadata.entry_points(group=group)])


def version(distribution: str) -> str | None:
    """The installed version of ``distribution``, or None."""
    from importlib import metadata

    versions = _kept("versions", dict)
    if distribution not in versions:
        try:
            versions[distribution] = metadata.version(distribution)
        except Exception:  # not installed, or no readable version
            versions[distribution] = None
    return versions[distribution]
