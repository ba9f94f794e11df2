"""The step cache: ``nb2pipe run`` reuses a step's results from an earlier successful run when
nothing it depends on has changed (Ploomber's incremental builds, Kubeflow's caching).

A step's entry is found by a key made of what is known before the step runs:

- its code: the cells of its step notebook (``papermill/STEP.ipynb``), sources and tags;
- the values of the parameters it takes;
- the content of its inputs: every file the steps it depends on wrote into the run's
  artifacts (and, if it drew random numbers, the random state it continued from);
- its data validation: the baselines of the frames it checks, the drift threshold;
- its environment: the Python version, every installed distribution and its version, the
  folder it runs in, nb2pipe's version and code (an install from the repository keeps its
  version from one commit to the next), and whether it ran in a kernel of its own
  (``--isolate``: a check that steps need nothing another step left in the kernel, which
  results from a shared kernel cannot answer).

The entry is then reused only if what the step touched when it ran (:mod:`nb2pipe.stepio`)
is still as it was: every file it read has the same content, every folder it listed the same
names, every path it asked about is there or not as it was, every file it wrote is still
there, unchanged. A step that started a process or used
the network, or that ``cache:disabled`` tags, is never stored. So a step whose upstream
changed is never served: its inputs' content is in its key.

Entries live in the pipeline folder, ``.nb2pipe-cache/STEP/KEY/``: the step's artifacts, its
executed notebook, its validation reports and its metrics. Large files are hard links to the
run that made them (no copy); the folder is kept under a size limit (``--cache-size``, 2 GB by
default) by dropping the entries used least recently.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass

from nb2pipe.run.lineage import file_digest

FOLDER = ".nb2pipe-cache"
#: The default size limit, in megabytes (``--cache-size``, ``NB2PIPE_CACHE_MB``).
DEFAULT_LIMIT_MB = 2048
#: Files up to this size are copied into and out of the cache; larger ones are hard-linked.
_COPY_BELOW = 1 << 20
_ENTRY = "entry.json"
#: The random state a step leaves for the next (:mod:`nb2pipe.runtime`).
RANDOM_STATE = "_random_state.pkl"


@dataclass
class Hit:
    """A reusable entry: where it is, and the run that made it."""

    path: str
    run_id: str
    seconds: float | None
    random_used: bool


def environment_digest() -> str:
    """Python's version and every installed distribution with its version: the names of the
    ``NAME-VERSION.dist-info`` (and ``.egg-info``) folders on ``sys.path``, which is what
    ``importlib.metadata`` reads, without opening each one's metadata."""
    from nb2pipe.packagemap import metadata_folders

    names = [f"{entry}/{n}" for entry, n in metadata_folders()]
    return _digest([sys.version, sys.executable, *sorted(names)])


def nb2pipe_digest() -> str:
    """nb2pipe's version and the content of every module of the nb2pipe that runs: what a
    step's kernel runs besides the step's own code (the runtime, autologging's set-up). An
    install from the repository (or an editable one) keeps its version while its code
    changes; a step cached by the code before a fix must not hide the fix. (About 20 ms
    a run here.)"""
    from pathlib import Path

    import nb2pipe

    digest = hashlib.sha256(nb2pipe.__version__.encode())
    root = Path(nb2pipe.__file__).parent
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=repr).encode()).hexdigest()


def _listing(folder: str) -> str:
    try:
        return _digest(sorted(os.listdir(folder)))
    except OSError:
        return "missing"


def _probe(path: str) -> list | None:
    """As :func:`nb2pipe.stepio._signature`: None, or [is a folder, a file's size]."""
    try:
        result = os.stat(path)
    except OSError:
        return None
    import stat

    folder = stat.S_ISDIR(result.st_mode)
    return [folder, None if folder else result.st_size]


def _files(folder: str) -> list[str]:
    """The files under ``folder``, relative, sorted."""
    found = []
    for root, _dirs, names in os.walk(folder):
        for name in names:
            found.append(os.path.relpath(os.path.join(root, name), folder))
    return sorted(found)


def _place(source: str, target: str) -> None:
    """``target`` gets ``source``'s content: a hard link for a large file (never written in
    place by nb2pipe), a copy otherwise (and where links are not possible)."""
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if os.path.getsize(source) >= _COPY_BELOW:
        try:
            os.link(source, target)
            return
        except OSError:
            pass
    shutil.copy2(source, target)


class StepCache:
    """The cache of one pipeline folder, used by one run at a time or by a sweep's runs."""

    def __init__(self, pipeline_folder: str, limit_mb: float | None = None) -> None:
        self.root = os.path.join(pipeline_folder, FOLDER)
        if limit_mb is None:
            limit_mb = float(os.environ.get("NB2PIPE_CACHE_MB", DEFAULT_LIMIT_MB))
        self.limit = int(limit_mb * (1 << 20))
        self._environment: str | None = None
        self._nb2pipe: str | None = None
        self._hashes: dict[str, str] = {}  # (path, size, mtime) → sha256, for this process

    @property
    def environment(self) -> str:
        if self._environment is None:
            self._environment = environment_digest()
        return self._environment

    @property
    def nb2pipe(self) -> str:
        if self._nb2pipe is None:
            self._nb2pipe = nb2pipe_digest()
        return self._nb2pipe

    def _hash(self, path: str) -> str | None:
        try:
            stat = os.stat(path)
        except OSError:
            return None
        memo = f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}"
        if memo not in self._hashes:
            self._hashes[memo] = file_digest(path)
        return self._hashes[memo]

    # -- the key ---------------------------------------------------------------------------

    def key(self, step, code_path: str, parameters: dict, run_folder: str,
            upstream: list[str], validation: dict | None, work_dir: str,
            isolated: bool = False) -> str | None:
        """``upstream``: the steps whose artifacts it loads or runs after (their random
        states are not part of the key: see :meth:`lookup`)."""
        """The step's key in this run, or None when it is not to be cached."""
        if step.settings.get("cache") is False:
            return None
        try:  # (JSON as it is: nbformat's import and validation cost a cached run seconds)
            with open(code_path, encoding="utf-8") as handle:
                cells = json.load(handle)["cells"]
            code = [(c["cell_type"], _text(c.get("source", "")),
                     (c.get("metadata") or {}).get("tags", [])) for c in cells]
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None  # no step notebook (or not one): nothing to key on
        inputs = {}
        artifacts = os.path.join(run_folder, "artifacts")
        for name in upstream:
            folder = os.path.join(artifacts, name)
            for relative in _files(folder):
                if relative != RANDOM_STATE:
                    inputs[f"{name}/{relative}"] = self._hash(os.path.join(folder, relative))
        checks = None
        if validation is not None:
            prefix = step.name + "."
            checks = {"baselines": {k: v for k, v in validation.get("baselines", {}).items()
                                    if k.startswith(prefix)},
                      "drift": validation.get("drift_threshold"),
                      "strict": validation.get("strict")}
        return _digest({"code": code, "parameters": parameters, "inputs": inputs,
                        "validation": checks, "environment": self.environment,
                        "work_dir": os.path.abspath(work_dir), "nb2pipe": self.nb2pipe,
                        "kernel": "isolated" if isolated else "shared"})

    # -- reuse -----------------------------------------------------------------------------

    def lookup(self, step_name: str, key: str, random_in: str | None) -> Hit | None:
        """The entry for ``key`` if what the step touched is unchanged.

        ``random_in``: the random state file the step continues from (the step before it in
        the notebook's order). It matters only to a step that drew from those generators
        when it ran: for the others it is left out, else every step after an unseeded one
        would never be reused."""
        folder = os.path.join(self.root, step_name, key)
        try:
            with open(os.path.join(folder, _ENTRY), encoding="utf-8") as handle:
                entry = json.load(handle)
        except (OSError, ValueError):
            return None
        for path, digest in {**entry["reads"], **entry["writes"]}.items():
            if self._hash(path) != digest:
                return None
        for path, digest in entry["folders"].items():
            if _listing(path) != digest:
                return None
        for path, seen in entry.get("probes", {}).items():
            if _probe(path) != seen:
                return None  # (a file that appeared, went, or changed size)
        if entry.get("random_used", True) and \
                entry.get("random_in") != (self._hash(random_in) if random_in else None):
            return None
        missing = [f for f in entry["files"] if not os.path.isfile(os.path.join(folder, f))]
        if missing:
            return None
        os.utime(os.path.join(folder, _ENTRY))  # used now: the last to be dropped
        return Hit(folder, entry["run_id"], entry.get("seconds"),
                   entry.get("random_used", True))

    def restore(self, hit: Hit, run_folder: str, random_in: str | None) -> None:
        """Put the entry's files where the step would have written them in this run. A step
        that drew no random number passes on the random state it was given."""
        with open(os.path.join(hit.path, _ENTRY), encoding="utf-8") as handle:
            entry = json.load(handle)
        for relative in entry["files"]:
            target = os.path.join(run_folder, relative)
            if os.path.exists(target):
                os.remove(target)  # (a file of this run's earlier attempt at the step)
            source = os.path.join(hit.path, relative)
            if not hit.random_used and relative.endswith("/" + RANDOM_STATE) and \
                    random_in and os.path.isfile(random_in):
                source = random_in
            _place(source, target)

    # -- storing ---------------------------------------------------------------------------

    def store(self, step, key: str, run_folder: str, run_id: str, seconds: float | None,
              random_in: str | None) -> str | None:
        """Keep what the step wrote in this run under ``key``; the reason when not kept."""
        try:
            with open(os.path.join(run_folder, "io", f"{step.name}.json"),
                      encoding="utf-8") as handle:
                touched = json.load(handle)
        except (OSError, ValueError):
            return "its kernel recorded nothing"
        if touched.get("opaque"):
            return touched["opaque"]
        files = [f"artifacts/{step.name}/{f}"
                 for f in _files(os.path.join(run_folder, "artifacts", step.name))]
        files.append(f"notebooks/{step.name}.ipynb")
        files.append(f"io/{step.name}.json")
        reports = os.path.join(run_folder, "validation")
        if os.path.isdir(reports):
            files += [f"validation/{f}" for f in sorted(os.listdir(reports))
                      if f.startswith(step.name + ".")]
        if step.metrics and os.path.isfile(os.path.join(run_folder, "artifacts",
                                                        "metrics.json")):
            files.append("artifacts/metrics.json")
        files = [f for f in files if os.path.isfile(os.path.join(run_folder, f))]
        entry = {"run_id": run_id, "step": step.name, "seconds": seconds, "files": files,
                 "random_used": touched.get("random_used", True),
                 "random_in": self._hash(random_in) if random_in else None,
                 "reads": {p: self._hash(p) for p in touched["reads"]},
                 "writes": {p: self._hash(p) for p in touched["writes"]},
                 "folders": {p: _listing(p) for p in touched["folders"]},
                 "probes": touched.get("probes", {})}
        size = sum(os.path.getsize(os.path.join(run_folder, f)) for f in files)
        if size > self.limit:
            return f"its results ({size >> 20} MB) are larger than the cache's limit"
        parent = os.path.join(self.root, step.name)
        os.makedirs(parent, exist_ok=True)
        staging = os.path.join(parent, f".new-{key[:12]}-{os.getpid()}-{time.monotonic_ns()}")
        try:
            for relative in files:
                _place(os.path.join(run_folder, relative), os.path.join(staging, relative))
            with open(os.path.join(staging, _ENTRY), "w", encoding="utf-8") as handle:
                json.dump(entry, handle, indent=1)
            final = os.path.join(parent, key)
            if os.path.isdir(final):  # an older entry (its files changed since): replaced
                shutil.rmtree(final, ignore_errors=True)
            os.rename(staging, final)
        except OSError as error:
            shutil.rmtree(staging, ignore_errors=True)
            if os.path.isfile(os.path.join(parent, key, _ENTRY)):
                return None  # a sweep's other run stored the same step at the same time
            return f"could not write the cache: {error}"
        self.trim()
        return None

    def trim(self) -> None:
        """Drop the entries used least recently until the cache is under its limit."""
        entries = []
        if not os.path.isdir(self.root):
            return
        for step in os.listdir(self.root):
            for key in os.listdir(os.path.join(self.root, step)):
                folder = os.path.join(self.root, step, key)
                marker = os.path.join(folder, _ENTRY)
                if key.startswith(".new-") or not os.path.isfile(marker):
                    continue
                size = sum(os.path.getsize(os.path.join(folder, f)) for f in _files(folder))
                entries.append((os.path.getmtime(marker), size, folder))
        total = sum(size for _, size, _ in entries)
        for _, size, folder in sorted(entries):
            if total <= self.limit:
                break
            shutil.rmtree(folder, ignore_errors=True)
            total -= size


def _text(source) -> str:
    """A cell's source as nbformat gives it: a notebook file may split it into lines."""
    return "".join(source) if isinstance(source, list) else str(source)
