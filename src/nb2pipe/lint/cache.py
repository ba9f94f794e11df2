"""What `nb2pipe check` found, kept between runs.

A notebook whose file (size and modification time), dependency files (``NB205`` reads them),
selected rules, settings and nb2pipe code have not changed since the last run is not read
again: its findings come from the cache. Like ruff's, the cache lives in a folder of the
project (``.nb2pipe_cache/``, ignored by git through a ``.gitignore`` of its own), and
``--no-cache`` goes without it.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path

from nb2pipe.diagnostic import Diagnostic

FOLDER = ".nb2pipe_cache"
#: Cache files kept (one per selection of rules and settings).
KEEP = 8
#: The packages whose code decides what check finds: a change there empties the cache.
_CODE = ("analysis", "lint", "notebook")


def code_fingerprint() -> str:
    """nb2pipe's version and the size and time of every module the findings depend on (so an
    editable install that changes a rule does not reuse old findings)."""
    from nb2pipe import __version__

    root = Path(__file__).resolve().parent.parent
    parts = [__version__]
    for package in _CODE:
        for folder, _, files in os.walk(root / package):
            for name in sorted(files):
                if name.endswith(".py"):
                    stat = os.stat(os.path.join(folder, name))
                    parts.append(f"{name}:{stat.st_size}:{stat.st_mtime_ns}")
    return "\n".join(parts)


def _stamp(path: str) -> list[int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return [stat.st_size, stat.st_mtime_ns]


class ResultCache:
    """Findings by notebook path, valid for one set of rules, settings and code."""

    def __init__(self, folder: str, codes: set[str], settings) -> None:
        key = hashlib.sha256("\n".join([
            code_fingerprint(), ",".join(sorted(codes)),
            json.dumps(settings.per_file_ignores, sort_keys=True), settings.root,
        ]).encode()).hexdigest()[:16]
        self.folder = Path(folder)
        self.path = self.folder / f"check-{key}.json"
        self.entries: dict[str, dict] = {}
        self.changed = False
        self._projects: dict[str, list] = {}
        try:
            self.entries = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.entries = {}
        if not isinstance(self.entries, dict):
            self.entries = {}

    def _dependencies(self, path: str) -> list:
        """What a notebook's findings depend on besides itself, with their stamps: the
        dependency files of its project, its folder (a module added next to it, such as
        `helpers.py`, is local, not a missing dependency) and the modules in it."""
        from nb2pipe.lint.project import project_for

        folder = os.path.dirname(os.path.abspath(path))
        found = self._projects.get(folder)
        if found is None:
            try:  # modules beside it: what `from helper import *` binds (NB105, NB106)
                modules = sorted(os.path.join(folder, name) for name in os.listdir(folder)
                                 if name.endswith(".py"))
            except OSError:
                modules = []
            files = [folder, *project_for(folder).dependency_files, *modules]
            found = self._projects[folder] = [[file, _stamp(file)] for file in files]
        return found

    def get(self, path: str):
        """The cached result for ``path``, or None when it must be checked."""
        from nb2pipe.lint.runner import FileResult

        entry = self.entries.get(os.path.abspath(path))
        try:
            if entry is None or entry["stamp"] != _stamp(path) or \
                    entry["dependencies"] != self._dependencies(path):
                return None
            diagnostics = [Diagnostic(**dict(d, path=path)) for d in entry["diagnostics"]]
            return FileResult(path, diagnostics, has_steps=entry["has_steps"],
                              trains=entry["trains"],
                              quotes={tuple(map(int, k.split(":"))): v
                                      for k, v in entry["quotes"].items()})
        except (KeyError, TypeError, ValueError, AttributeError):
            return None  # a damaged entry: check the notebook again

    def put(self, result) -> None:
        if result.crashed:
            return
        stamp = _stamp(result.path)
        if stamp is None:
            return
        self.entries[os.path.abspath(result.path)] = {
            "stamp": stamp, "dependencies": self._dependencies(result.path),
            "has_steps": result.has_steps, "trains": result.trains,
            "diagnostics": [asdict(d) for d in result.diagnostics],
            "quotes": {f"{cell}:{line}": text for (cell, line), text in result.quotes.items()},
        }
        self.changed = True

    def save(self) -> None:
        """Write the cache (atomically); a cache that cannot be written is skipped quietly."""
        if not self.changed:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            ignore = self.folder / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# Made by nb2pipe: its check results, safe to delete.\n*\n")
            temporary = self.path.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(json.dumps(self.entries), encoding="utf-8")
            os.replace(temporary, self.path)
            # One file per selection and settings; keep the most recent few.
            others = sorted(self.folder.glob("check-*.json"), key=lambda p: p.stat().st_mtime)
            for old in others[:-KEEP]:
                old.unlink()
        except OSError:
            pass
