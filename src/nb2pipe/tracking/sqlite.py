"""Runs written into MLflow's SQLite store without loading MLflow.

``nb2pipe run`` creates a handful of runs, tags, parameters and metrics, and copies a few
files: work MLflow's client does in milliseconds once it has loaded, and loading it (its
import, SQLAlchemy, alembic's check of the store) costs seconds on every run — more than most
steps take. So, when the store is one this module knows, the runner writes the same rows
MLflow's SQLAlchemy store would write, with :mod:`sqlite3`, and copies the files where MLflow's
local artifact repository would put them. ``mlflow ui``, MLflow's client and the Model
Registry read them as their own: ``tests/tracking/test_sqlite_store.py`` makes the same calls
through MLflow and through this module and compares what MLflow's client reads back.

Sound before fast: this module writes only when it can prove it writes what MLflow would.

- The store must exist and be at a schema revision in :data:`KNOWN_REVISIONS` (the ones the
  comparison test has passed on: a new MLflow whose store has another revision fails that test
  until someone checks its schema and adds it). Otherwise MLflow opens, creates or migrates
  the store as before.
- The experiment must exist (MLflow creates it, once), be active, and keep its files on this
  machine (``file://``). An S3 or server artifact store goes through MLflow.
- Anything outside the plain cases (a name MLflow might reject, a value at its length limits,
  a dataset from another source) is handed to MLflow's client, opened then, on the same store.

``NB2PIPE_MLFLOW_CLIENT=1`` turns this module off (every write through MLflow's client).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import re
import shutil
import sqlite3
import threading
import time
import typing  # noqa: F401 - see below
import urllib.parse
import uuid

from nb2pipe.packagemap import template_folder

# (`dataclasses` reads `sys.modules['typing']` without importing it: imported in a thread while
# another imports `typing`, it met it half-initialised. Importing it first waits for it.)

#: Schema revisions (alembic's ``alembic_version``) this writer is proven against.
KNOWN_REVISIONS = frozenset({"dc11669786a5"})

#: Names every MLflow version accepts: ASCII letters, digits, ``_ - . / :`` and spaces.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_\-. /:]{1,250}")
_MAX_PARAM = 6000
_MAX_TAG = 8000
_INPUT_TAG_KEY, _INPUT_TAG_VALUE = 255, 500
_DATASET_NAME, _DATASET_DIGEST, _DATASET_SOURCE = 500, 36, 65535
_RUN_NAME = "mlflow.runName"


def store_path(uri: str) -> str | None:
    """The file of an SQLite tracking URI, or ``None`` for any other store."""
    if not uri.startswith("sqlite:///"):
        return None
    path = uri[len("sqlite:///"):]
    return None if "?" in path or path in ("", ":memory:") else path


def revision(path: str) -> str | None:
    """The store's alembic revision; ``None`` when it has none (or is no SQLite file)."""
    if not os.path.isfile(path):
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True,
                                                timeout=30)) as connection:
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    return row[0] if row else None


def enabled() -> bool:
    return os.environ.get("NB2PIPE_MLFLOW_CLIENT", "") in ("", "0") and \
        not os.environ.get("MLFLOW_WORKSPACE") and \
        os.environ.get("MLFLOW_ENABLE_WORKSPACES", "").lower() not in ("1", "true")


def open_tracker(uri: str, experiment: str, artifact_location: str | None = None
                 ) -> SqliteTracker | None:
    """A tracker that writes the store directly, or ``None`` when MLflow must.

    A store that does not exist yet is copied from this machine's template of an empty store
    (:func:`new_store`); an experiment that does not exist yet is created, its files in
    ``artifact_location``."""
    path = store_path(uri)
    if path is None or not enabled():
        return None
    if not os.path.exists(path) and not new_store(path):
        return None
    if revision(path) not in KNOWN_REVISIONS:
        return None
    store = Store(path)
    found = store.experiment(experiment)
    if found is None and artifact_location and _local_folder(artifact_location) and \
            0 < len(experiment) <= 250 and experiment.isprintable():
        found = store.create_experiment(experiment, artifact_location)
    if found is None:
        return None
    experiment_id, location, stage = found
    if stage != "active" or _local_folder(location) is None:
        return None
    return SqliteTracker(uri, store, str(experiment_id), location, experiment)


def new_store(path: str) -> bool:
    """Make the store ``path`` as MLflow makes a new one, without loading MLflow: a copy of an
    empty store MLflow made on this machine, with its ``Default`` experiment where MLflow
    would put it from here. The template is made once per MLflow version (by MLflow, which
    loads then). False when it cannot be done; MLflow then makes the store itself."""
    if os.environ.get("_MLFLOW_SERVER_ARTIFACT_ROOT"):
        return False  # MLflow would put Default's files there
    installed = _mlflow_distribution()
    if installed is None:
        return False
    template = os.path.join(template_folder(), f"{installed}-store.db")
    try:
        if not os.path.exists(template):
            _make_template(template)
        if revision(template) not in KNOWN_REVISIONS:
            return False
        folder = os.path.dirname(os.path.abspath(path))
        partial = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}.partial")
        shutil.copyfile(template, partial)
        try:
            now = _now()
            with contextlib.closing(sqlite3.connect(partial)) as connection, connection:
                connection.execute(
                    "UPDATE experiments SET artifact_location = ?, creation_time = ?, "
                    "last_update_time = ? WHERE experiment_id = 0",
                    (os.path.join(os.path.abspath(os.getcwd()), "mlruns", "0"), now, now))
            try:
                os.link(partial, path)  # never over a store another run has just made
            except FileExistsError:
                pass
        finally:
            os.remove(partial)
    except (OSError, sqlite3.Error):
        return os.path.exists(path)
    return True


def _mlflow_distribution() -> str | None:
    """``NAME-VERSION`` of the installed MLflow (the full one, or the client alone)."""
    from importlib.metadata import PackageNotFoundError, version

    for name in ("mlflow", "mlflow-skinny"):
        try:
            return f"{name}-{version(name)}"
        except PackageNotFoundError:
            continue
        except Exception:  # noqa: BLE001 - a broken installation
            return None
    return None


def _make_template(template: str) -> None:
    """An empty store, made by MLflow (its tables at their newest revision, ``Default``)."""
    os.makedirs(os.path.dirname(template), exist_ok=True)
    partial = f"{template}.{os.getpid()}.partial"
    from nb2pipe.tracking.loading import import_mlflow

    mlflow = import_mlflow()
    import logging

    for name in ("mlflow", "alembic"):  # ("Creating initial MLflow database tables…")
        logging.getLogger(name).setLevel(logging.WARNING)
    with contextlib.suppress(FileNotFoundError):
        os.remove(partial)
    mlflow.MlflowClient(tracking_uri=f"sqlite:///{partial}").search_experiments()
    try:
        os.link(partial, template)
    except FileExistsError:
        pass
    finally:
        os.remove(partial)


def open_reader(uri: str) -> RegistryReader | None:
    """The Model Registry's tables, read without MLflow; ``None`` when MLflow must."""
    path = store_path(uri)
    if path is None or not enabled() or revision(path) not in KNOWN_REVISIONS:
        return None
    return RegistryReader(Store(path))


@dataclasses.dataclass(frozen=True)
class Version:
    """What nb2pipe reads of a registered model version (MLflow's ``ModelVersion`` names)."""

    version: str
    run_id: str | None
    creation_timestamp: int | None
    tags: dict


class RegistryReader:
    """The reads of :class:`nb2pipe.tracking.registry.Registry`, as MLflow's client answers
    them (a deleted version is no version; an alias names a version)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _version(self, name: str, number) -> Version | None:
        rows = self.store.read(
            "SELECT version, run_id, creation_time FROM model_versions WHERE name = ? AND "
            "version = ? AND workspace = 'default' AND current_stage != 'Deleted_Internal'",
            (name, int(number)))
        if not rows:
            return None
        tags = dict(self.store.read(
            "SELECT key, value FROM model_version_tags WHERE name = ? AND version = ? AND "
            "workspace = 'default'", (name, int(number))))
        number, run_id, created = rows[0]
        return Version(str(number), run_id or None, created, tags)

    def version_at(self, name: str, alias: str) -> Version | None:
        rows = self.store.read("SELECT version FROM registered_model_aliases WHERE name = ? AND "
                               "alias = ? AND workspace = 'default'", (name, alias))
        return self._version(name, rows[0][0]) if rows else None

    def versions(self, name: str) -> tuple[list[Version], dict]:
        numbers = [row[0] for row in self.store.read(
            "SELECT version FROM model_versions WHERE name = ? AND workspace = 'default' AND "
            "current_stage != 'Deleted_Internal'", (name,))]
        aliases = dict(self.store.read("SELECT alias, version FROM registered_model_aliases "
                                       "WHERE name = ? AND workspace = 'default'", (name,)))
        found = [self._version(name, number) for number in numbers]
        return [v for v in found if v is not None], {k: str(v) for k, v in aliases.items()}

    def run_metrics(self, run_id: str) -> dict:
        return {key: (math.nan if is_nan else value) for key, value, is_nan in self.store.read(
            "SELECT key, value, is_nan FROM latest_metrics WHERE run_uuid = ?", (run_id,))}


# -- a model MLflow saved, logged and registered --------------------------------------------

#: MLflow's ``LoggedModelStatus.READY``, as its store keeps it.
_MODEL_READY = 2
_MODEL_NAME = re.compile(r"[A-Za-z0-9_\-. ]{1,250}")


def new_model_id() -> str:
    """An id as MLflow's store gives a logged model."""
    return f"m-{uuid.uuid4().hex}"


def model_location(experiment_location: str, model_id: str) -> str:
    """Where MLflow's store keeps a logged model's files (``create_logged_model``)."""
    return _append(experiment_location, "models", model_id, "artifacts")


def context_tags() -> dict | None:
    """The tags MLflow's run context gives a model logged from this process (its default
    context: user, program, ``LOCAL``); ``None`` when another context could add some (a git
    work tree around the program, Databricks, ``MLFLOW_RUN_CONTEXT``, a plug-in, MLflow's
    credentials file): then MLflow logs the model itself."""
    import sys

    if os.environ.get("MLFLOW_RUN_CONTEXT") or any(k.startswith("DATABRICKS")
                                                   for k in os.environ):
        return None
    if os.path.exists(os.path.join(os.path.expanduser("~"), ".mlflow", "credentials")):
        return None
    program = sys.argv[0] if sys.argv and sys.argv[0] else None
    git = _git_tags(program) if program is not None else {}
    if git is None:
        return None
    from importlib.metadata import entry_points

    if entry_points(group="mlflow.run_context_provider"):
        return None
    user = os.environ.get("MLFLOW_TRACKING_USERNAME")
    if not user:
        import getpass

        try:
            user = getpass.getuser()
        except Exception:  # noqa: BLE001 - MLflow's own fallback
            user = "unknown"
    return {"mlflow.user": user, "mlflow.source.name": program or "<console>",
            "mlflow.source.type": "LOCAL", **git}


def _git_tags(program: str) -> dict | None:
    """MLflow's git context of ``program`` (``mlflow.utils.git_utils``): the commit, branch
    and remote of the work tree around its folder, none when there is none or the folder is
    ignored; ``None`` when it cannot be told for certain (several remotes; git missing)."""
    import subprocess

    folder = os.path.dirname(os.path.abspath(program)) if os.path.isfile(program) else program
    if not os.path.isdir(folder):
        return {}  # (MLflow: no repository there, no tags)
    folder = where = os.path.abspath(folder)
    while not os.path.exists(os.path.join(where, ".git")):
        if os.path.dirname(where) == where:
            return {}  # no work tree
        where = os.path.dirname(where)

    def git(*arguments: str) -> tuple[int, str]:
        done = subprocess.run(["git", "-C", folder, *arguments], capture_output=True,
                              text=True, timeout=30)
        return done.returncode, done.stdout.strip()

    try:
        if git("check-ignore", "-q", folder)[0] == 0:
            return {}  # MLflow: no commit for an ignored folder, so no git tags
        code, commit = git("rev-parse", "--verify", "-q", "HEAD")
        if code != 0:
            return None
        tags = {"mlflow.source.git.commit": commit}
        code, branch = git("symbolic-ref", "-q", "--short", "HEAD")
        if code == 0 and branch:
            tags["mlflow.source.git.branch"] = branch
        remotes = git("remote")[1].split()
        if len(remotes) > 1:
            return None  # (which one MLflow takes depends on GitPython's order)
        if remotes:
            code, url = git("config", "--get", f"remote.{remotes[0]}.url")
            if code != 0:
                return None
            parsed = urllib.parse.urlsplit(url)
            if parsed.scheme and "@" in parsed.netloc:  # (MLflow drops credentials)
                url = urllib.parse.urlunsplit((parsed.scheme, parsed.netloc.rpartition("@")[2],
                                               parsed.path, parsed.query, parsed.fragment))
            tags["mlflow.source.git.repoURL"] = url
        return tags
    except (OSError, subprocess.SubprocessError):
        return None


class ModelRegistrar:
    """What ``mlflow.<flavour>.log_model(…, registered_model_name=…)`` writes into the store
    after MLflow's ``save_model`` has made the model's files: the logged model (the run's
    parameters, its step-0 metrics, the context's tags), the run's output, the registered
    model and its new version; then nb2pipe's tags of the version and the aliases.
    ``tests/run/test_model_registrar.py`` registers through MLflow and through this class and
    compares what MLflow's client reads back, and the model MLflow loads."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @staticmethod
    def plain(name: str) -> bool:
        """A registered model's name MLflow takes as it is (else MLflow registers it)."""
        return bool(_MODEL_NAME.fullmatch(name)) and name == name.strip()

    def register(self, name: str, model_id: str, files: str, run_id: str,
                 context: dict, version_tags: dict, champion: str, previous: str) -> int:
        """Log the model saved in ``files`` (MLflow's ``save_model``; moved into the store's
        folder) as ``model_id`` of run ``run_id``, register it under ``name``, tag the new
        version, make it ``champion`` and the version it replaces ``previous``; return the
        new version. Raises ``ValueError`` when MLflow must do it (nothing written then)."""
        if not self.plain(name):
            raise ValueError(f"model name {name!r}")
        rows = self.store.read(
            "SELECT r.experiment_id, e.artifact_location, e.lifecycle_stage, r.lifecycle_stage "
            "FROM runs r JOIN experiments e ON e.experiment_id = r.experiment_id "
            "WHERE r.run_uuid = ?", (run_id,))
        if not rows or rows[0][2] != "active" or rows[0][3] != "active":
            raise ValueError(f"run {run_id}")
        experiment_id, experiment_location = rows[0][0], rows[0][1]
        location = model_location(experiment_location, model_id)
        target = _local_folder(location)
        if target is None or os.path.exists(target):
            raise ValueError(f"artifact location {location}")
        params = self.store.read("SELECT key, value FROM params WHERE run_uuid = ?", (run_id,))
        metrics = self.store.read(
            "SELECT key, value, timestamp, is_nan FROM metrics WHERE run_uuid = ? AND step = 0 "
            "ORDER BY key, timestamp", (run_id,))
        if any(is_nan for *_, is_nan in metrics) or \
                len({(k, t) for k, _, t, _ in metrics}) != len(metrics):
            raise ValueError("metrics MLflow would copy otherwise")  # (NaN; same time twice)
        created = _now()
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.move(files, target)
        try:
            with self.store.transaction() as connection:
                return self._rows(connection, name, model_id, run_id, experiment_id, location,
                                  created, params, metrics, context, version_tags,
                                  champion, previous)
        except BaseException:
            shutil.move(target, files)  # (the store is as it was: so are the files)
            raise

    @staticmethod
    def _rows(connection, name, model_id, run_id, experiment_id, location, created, params,
              metrics, context, version_tags, champion, previous) -> int:
        connection.execute(
            "INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, "
            "creation_timestamp_ms, last_updated_timestamp_ms, status, lifecycle_stage, "
            "model_type, source_run_id, status_message) VALUES (?, ?, 'model', ?, ?, ?, ?, "
            "'active', NULL, ?, NULL)",
            (model_id, experiment_id, location, created, _now(), _MODEL_READY, run_id))
        connection.executemany(
            "INSERT INTO logged_model_params (model_id, experiment_id, param_key, param_value) "
            "VALUES (?, ?, ?, ?)", [(model_id, experiment_id, k, v) for k, v in params])
        connection.executemany(
            "INSERT INTO logged_model_metrics (model_id, metric_name, metric_timestamp_ms, "
            "metric_step, metric_value, experiment_id, run_id, dataset_uuid, dataset_name, "
            "dataset_digest) VALUES (?, ?, ?, 0, ?, ?, ?, NULL, NULL, NULL)",
            [(model_id, k, t, v, experiment_id, run_id) for k, v, t, _ in metrics])
        connection.execute(
            "INSERT INTO inputs (input_uuid, source_type, source_id, destination_type, "
            "destination_id, step) VALUES (?, 'RUN_OUTPUT', ?, 'MODEL_OUTPUT', ?, 0)",
            (uuid.uuid4().hex, run_id, model_id))
        now = _now()
        connection.execute(
            "INSERT OR IGNORE INTO registered_models (name, creation_time, last_updated_time, "
            "description, workspace) VALUES (?, ?, ?, NULL, 'default')", (name, now, now))
        highest = connection.execute(
            "SELECT MAX(version) FROM model_versions WHERE name = ? AND workspace = 'default'",
            (name,)).fetchone()[0]
        version = (highest or 0) + 1
        now = _now()
        connection.execute("UPDATE registered_models SET last_updated_time = ? WHERE name = ? "
                           "AND workspace = 'default'", (now, name))
        connection.execute(
            "INSERT INTO model_versions (name, version, creation_time, last_updated_time, "
            "description, user_id, current_stage, source, run_id, status, status_message, "
            "run_link, storage_location, workspace) VALUES (?, ?, ?, ?, NULL, NULL, 'None', ?, "
            "?, 'READY', NULL, NULL, ?, 'default')",
            (name, version, now, now, f"models:/{model_id}", run_id, location))
        tags = {**context, "mlflow.modelVersions": json.dumps([{"name": name,
                                                                 "version": version}])}
        connection.executemany(
            "INSERT INTO logged_model_tags (model_id, experiment_id, tag_key, tag_value) "
            "VALUES (?, ?, ?, ?)", [(model_id, experiment_id, k, v) for k, v in tags.items()])
        connection.executemany(
            "INSERT INTO model_version_tags (key, value, name, version, workspace) "
            "VALUES (?, ?, ?, ?, 'default')",
            [(k, v, name, version) for k, v in version_tags.items()])
        old = connection.execute(
            "SELECT version FROM registered_model_aliases WHERE name = ? AND alias = ? AND "
            "workspace = 'default'", (name, champion)).fetchone()
        aliases = [(champion, version)]
        if old is not None and old[0] != version:
            aliases.insert(0, (previous, old[0]))
        for alias, number in aliases:
            connection.execute(
                "INSERT OR REPLACE INTO registered_model_aliases (alias, version, name, "
                "workspace) VALUES (?, ?, ?, 'default')", (alias, number, name))
        return version


def _local_folder(location: str | None) -> str | None:
    """The folder of a ``file://`` (or plain path) artifact location; ``None`` otherwise."""
    if not location:
        return None
    parsed = urllib.parse.urlparse(location)
    if parsed.scheme == "file" and parsed.netloc in ("", "localhost"):
        return urllib.parse.unquote(parsed.path)
    if parsed.scheme == "" and os.path.isabs(location):
        return location
    return None


def _append(uri: str, *parts: str) -> str:
    """MLflow's ``append_to_uri_path`` for the ``file://`` and path locations allowed here."""
    return uri.rstrip("/") + "".join("/" + part.strip("/") for part in parts)


def plain_name(name) -> bool:
    """A metric, parameter or tag name MLflow accepts on every platform, and means as is."""
    if not isinstance(name, str) or not _PLAIN_NAME.fullmatch(name):
        return False
    import posixpath

    normal = posixpath.normpath(name)
    return normal == name and normal != "." and not normal.startswith(("..", "/"))


class Store:
    """One SQLite file; a connection per transaction (the runner's threads share it), or one
    for a whole :meth:`batch` of them (each commit waits for the disk)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._batch: tuple[int, sqlite3.Connection] | None = None

    @contextlib.contextmanager
    def transaction(self):
        if self._batch is not None and self._batch[0] == threading.get_ident():
            yield self._batch[1]  # part of the batch's transaction
            return
        connection = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        finally:
            connection.close()

    @contextlib.contextmanager
    def released(self):
        """Outside this thread's batch for the block (committed before, a new one after): for
        MLflow's client, which writes through its own connection and would wait for ours."""
        if self._batch is None or self._batch[0] != threading.get_ident():
            yield
            return
        connection = self._batch[1]
        connection.execute("COMMIT")
        try:
            yield
        finally:
            connection.execute("BEGIN IMMEDIATE")

    @contextlib.contextmanager
    def batch(self):
        """Every write of this thread inside the block, one transaction (all or nothing)."""
        if self._batch is not None:
            yield
            return
        with self.transaction() as connection:
            self._batch = (threading.get_ident(), connection)
            try:
                yield
            finally:
                self._batch = None

    def read(self, sql: str, arguments=()) -> list[tuple]:
        with contextlib.closing(sqlite3.connect(self.path, timeout=60)) as connection:
            return connection.execute(sql, arguments).fetchall()

    def experiment(self, name: str):
        rows = self.read("SELECT experiment_id, artifact_location, lifecycle_stage FROM "
                         "experiments WHERE name = ? AND workspace = 'default'", (name,))
        return rows[0] if rows else None

    def create_experiment(self, name: str, location: str):
        """MLflow's ``create_experiment(name, artifact_location=location)``: no tags."""
        now = _now()
        try:
            with self.transaction() as connection:
                connection.execute(
                    "INSERT INTO experiments (name, artifact_location, lifecycle_stage, "
                    "creation_time, last_update_time, workspace) VALUES (?, ?, 'active', ?, ?, "
                    "'default')", (name, location, now, now))
        except sqlite3.IntegrityError:
            pass  # another run made it meanwhile
        return self.experiment(name)


class SqliteTracker:
    """:class:`nb2pipe.tracking.mlflow.MlflowTracker`'s calls, as rows of MLflow's schema."""

    def __init__(self, uri: str, store: Store, experiment_id: str, location: str,
                 experiment: str) -> None:
        self.uri, self.store, self.experiment_id = uri, store, experiment_id
        self.location, self.experiment = location, experiment
        self._client = None
        self._artifact_uris: dict[str, str] = {}

    # -- what MLflow's client does, for what this module does not write ------------------
    @contextlib.contextmanager
    def _mlflow(self):
        """MLflow's tracker on the same store, for the block (outside a batch)."""
        with self.store.released():
            if self._client is None:
                from nb2pipe.tracking.mlflow import MlflowTracker

                self._client = MlflowTracker(self.uri, self.experiment)
            yield self._client

    def info(self) -> dict:
        return {"uri": self.uri, "experiment_id": self.experiment_id}

    def batch(self):
        """The writes inside the block as one transaction of the store."""
        return self.store.batch()

    # -- runs ------------------------------------------------------------------------------
    def _create_run(self, name: str, tags: dict, start_time: int | None,
                    run_id: str | None = None) -> str:
        """A new run (``run_id``: the id to give it, when chosen beforehand; MLflow's client,
        when it must write the run, chooses its own)."""
        tags = {str(k): str(v) for k, v in tags.items()}
        if not all(plain_name(k) and len(v) <= _MAX_TAG for k, v in tags.items()) or \
                len(name) > 250 or (_RUN_NAME in tags and tags[_RUN_NAME] != name):
            with self._mlflow() as mlflow:
                return mlflow.client.create_run(self.experiment_id, run_name=name,
                                                start_time=start_time, tags=tags).info.run_id
        run_id = run_id or uuid.uuid4().hex
        artifact_uri = _append(self.location, run_id, "artifacts")
        tags.setdefault(_RUN_NAME, name)
        with self.store.transaction() as connection:
            connection.execute(
                "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name,"
                " user_id, status, start_time, end_time, deleted_time, source_version,"
                " lifecycle_stage, artifact_uri, experiment_id) VALUES (?, ?, 'UNKNOWN', '', '',"
                " ?, 'RUNNING', ?, NULL, NULL, '', 'active', ?, ?)",
                (run_id, name, tags.get("mlflow.user", "unknown"),
                 start_time if start_time is not None else _now(), artifact_uri,
                 int(self.experiment_id)))
            connection.executemany("INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)",
                                   [(k, v, run_id) for k, v in tags.items()])
        self._artifact_uris[run_id] = artifact_uri
        return run_id

    def start(self, name: str, parameters: dict, tags: dict, start_time: int | None = None,
              run_id: str | None = None) -> str:
        from nb2pipe.tracking.mlflow import TAG_PREFIX, _text

        run_id = self._create_run(name, tags, start_time, run_id)
        params = {k: _text(v) for k, v in sorted(parameters.items())}
        if params:
            self.log(run_id, params=params,
                     tags={TAG_PREFIX + "parameter_set": _text(parameters)})
        return run_id

    def step(self, parent: str, step: str, start_time: int | None = None,
             tags: dict | None = None) -> str:
        from nb2pipe.tracking.mlflow import TAG_PREFIX

        return self._create_run(step, {"mlflow.parentRunId": parent, TAG_PREFIX + "step": step,
                                       **(tags or {})}, start_time)

    def end_step(self, run_id: str, status: str, notebook: str | None,
                 artifacts: list[str], metrics: dict | None = None,
                 end_time: int | None = None) -> None:
        self.log(run_id, metrics=_numbers(metrics or {}))
        if notebook and os.path.exists(notebook):
            self.log_artifact(run_id, notebook, "notebooks")
        for path in artifacts:
            self.log_artifact(run_id, path, "model")
        self._terminate(run_id, status, end_time)

    def end(self, parent: str, status: str, metrics: dict, files: list[str]) -> None:
        self.log(parent, metrics=_numbers(metrics))
        for path in files:
            if os.path.exists(path):
                self.log_artifact(parent, path)
        self._terminate(parent, status, None)

    def _terminate(self, run_id: str, status: str, end_time: int | None) -> None:
        with self.store.transaction() as connection:
            connection.execute("UPDATE runs SET status = ?, end_time = ? WHERE run_uuid = ?",
                               ("FINISHED" if status == "succeeded" else "FAILED",
                                end_time if end_time is not None else _now(), run_id))

    # -- parameters, metrics, tags -----------------------------------------------------------
    def log(self, run_id: str, metrics=(), params: dict | None = None,
            tags: dict | None = None) -> None:
        """``metrics``: ``(key, value, timestamp, step)`` tuples (or a dict, logged now at step
        0); ``params`` and ``tags``: dicts of text."""
        if isinstance(metrics, dict):
            stamp = _now()
            metrics = [(k, v, stamp, 0) for k, v in metrics.items()]
        metrics = [(k, float(v), int(t), int(s)) for k, v, t, s in metrics]
        params = {k: str(v) for k, v in (params or {}).items()}
        tags = {k: str(v) for k, v in (tags or {}).items()}
        if not self._plain(metrics, params, tags):
            self._log_through_mlflow(run_id, metrics, params, tags)
            return
        with self.store.transaction() as connection:
            if params:
                known = dict(connection.execute(
                    "SELECT key, value FROM params WHERE run_uuid = ?", (run_id,)).fetchall())
                changed = {k: (known[k], v) for k, v in params.items()
                           if k in known and known[k] != v}
                if changed:
                    from nb2pipe.tracking.errors import TrackingError

                    raise TrackingError(f"MLflow keeps a run's parameters: {changed} would "
                                        f"change in run {run_id}")
                connection.executemany(
                    "INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)",
                    [(k, v, run_id) for k, v in params.items() if k not in known])
            if metrics:
                self._metrics(connection, run_id, metrics)
            for key, value in tags.items():
                if connection.execute("UPDATE tags SET value = ? WHERE run_uuid = ? AND key = ?",
                                      (value, run_id, key)).rowcount == 0:
                    connection.execute("INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)",
                                       (key, value, run_id))

    @staticmethod
    def _metrics(connection, run_id: str, metrics: list[tuple]) -> None:
        rows = []
        for key, value, stamp, step in metrics:
            is_nan = math.isnan(value)
            if is_nan:
                value = 0.0
            elif math.isinf(value):
                value = 1.7976931348623157e308 if value > 0 else -1.7976931348623157e308
            rows.append((key, value, stamp, step, is_nan))
        connection.executemany(
            "INSERT OR IGNORE INTO metrics (key, value, timestamp, run_uuid, step, is_nan) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(k, v, t, run_id, s, int(n)) for k, v, t, s, n in rows])
        latest = {key: (step, stamp, value, is_nan) for key, step, stamp, value, is_nan in
                  connection.execute("SELECT key, step, timestamp, value, is_nan FROM "
                                     "latest_metrics WHERE run_uuid = ?", (run_id,))}
        changed = {}
        for key, value, stamp, step, is_nan in rows:
            old = latest.get(key)
            if old is None or (step, stamp, value) > old[:3]:
                latest[key] = changed[key] = (step, stamp, value, is_nan)
        for key, (step, stamp, value, is_nan) in changed.items():
            connection.execute("DELETE FROM latest_metrics WHERE run_uuid = ? AND key = ?",
                               (run_id, key))
            connection.execute("INSERT INTO latest_metrics (key, value, timestamp, step, "
                               "is_nan, run_uuid) VALUES (?, ?, ?, ?, ?, ?)",
                               (key, value, stamp, step, int(is_nan), run_id))

    @staticmethod
    def _plain(metrics: list[tuple], params: dict, tags: dict) -> bool:
        return all(plain_name(k) for k, *_ in metrics) and \
            all(plain_name(k) and len(v) <= _MAX_PARAM for k, v in params.items()) and \
            all(plain_name(k) and len(v) <= _MAX_TAG and k != _RUN_NAME
                for k, v in tags.items())

    def _log_through_mlflow(self, run_id, metrics, params, tags) -> None:
        from mlflow.entities import Metric, Param, RunTag

        metrics = [Metric(k, v, t, s) for k, v, t, s in metrics]
        params = [Param(k, v) for k, v in params.items()]
        tags = [RunTag(k, v) for k, v in tags.items()]
        with self._mlflow() as mlflow:
            for start in range(0, max(len(metrics), len(params), len(tags)), 100):
                mlflow.client.log_batch(run_id, metrics=metrics[start:start + 100],
                                        params=params[start:start + 100],
                                        tags=tags[start:start + 100])

    # -- files -------------------------------------------------------------------------------
    def _artifact_folder(self, run_id: str) -> str | None:
        uri = self._artifact_uris.get(run_id)
        if uri is None:
            rows = self.store.read("SELECT artifact_uri FROM runs WHERE run_uuid = ?", (run_id,))
            uri = rows[0][0] if rows else None
        return _local_folder(uri)

    def log_artifact(self, run_id: str, path: str, folder: str | None = None) -> None:
        root = self._artifact_folder(run_id)
        if root is None:
            with self._mlflow() as mlflow:
                mlflow.client.log_artifact(run_id, path, folder)
            return
        target = os.path.join(root, folder) if folder else root
        os.makedirs(target, exist_ok=True)
        destination = os.path.join(target, os.path.basename(path))
        with contextlib.suppress(FileNotFoundError):
            if os.path.samefile(path, destination):
                return
        shutil.copyfile(path, destination)
        shutil.copystat(path, destination)

    def log_artifacts(self, run_id: str, folder: str) -> None:
        root = self._artifact_folder(run_id)
        if root is None:
            with self._mlflow() as mlflow:
                mlflow.client.log_artifacts(run_id, folder)
            return
        os.makedirs(root, exist_ok=True)
        shutil.copytree(folder, root, dirs_exist_ok=True, copy_function=shutil.copyfile)

    # -- datasets ------------------------------------------------------------------------------
    def log_inputs(self, run_id: str, inputs: list[dict]) -> None:
        """Dataset inputs as MLflow's protobuf JSON has them (``{"dataset": {"name", "digest",
        "sourceType", "source", "schema", "profile"}, "tags": [{"key", "value"}]}``)."""
        if not all(_plain_input(item) for item in inputs):
            from google.protobuf.json_format import ParseDict
            from mlflow.entities import DatasetInput
            from mlflow.protos.service_pb2 import DatasetInput as DatasetInputProto

            with self._mlflow() as mlflow:
                mlflow.client.log_inputs(run_id, [DatasetInput.from_proto(
                    ParseDict(item, DatasetInputProto())) for item in inputs])
            return
        unique: dict[tuple, dict] = {}
        for item in inputs:
            unique.setdefault((item["dataset"]["name"], item["dataset"]["digest"]), item)
        with self.store.transaction() as connection:
            for (name, digest), item in unique.items():
                dataset = item["dataset"]
                found = connection.execute(
                    "SELECT dataset_uuid FROM datasets WHERE experiment_id = ? AND name = ? AND "
                    "digest = ?", (int(self.experiment_id), name, digest)).fetchone()
                if found:
                    dataset_uuid = found[0]
                else:
                    dataset_uuid = uuid.uuid4().hex
                    connection.execute(
                        "INSERT INTO datasets (dataset_uuid, experiment_id, name, digest, "
                        "dataset_source_type, dataset_source, dataset_schema, dataset_profile) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (dataset_uuid, int(self.experiment_id), name, digest,
                         dataset["sourceType"], dataset["source"], dataset.get("schema"),
                         dataset.get("profile")))
                if connection.execute(
                        "SELECT 1 FROM inputs WHERE source_type = 'DATASET' AND source_id = ? "
                        "AND destination_type = 'RUN' AND destination_id = ?",
                        (dataset_uuid, run_id)).fetchone():
                    continue
                input_uuid = uuid.uuid4().hex
                connection.execute(
                    "INSERT INTO inputs (input_uuid, source_type, source_id, destination_type, "
                    "destination_id, step) VALUES (?, 'DATASET', ?, 'RUN', ?, 0)",
                    (input_uuid, dataset_uuid, run_id))
                connection.executemany(
                    "INSERT INTO input_tags (input_uuid, name, value) VALUES (?, ?, ?)",
                    [(input_uuid, tag["key"], tag["value"]) for tag in item.get("tags", [])])

    def log_files_read(self, run_id: str, files: list[dict], work_dir: str) -> None:
        """Lineage's data files as MLflow datasets of the run (a local file's source is its
        path, as MLflow's ``resolve_dataset_source`` makes it); others through MLflow."""
        local, other = [], []
        for entry in files:
            where = entry.get("uri") or os.path.normpath(os.path.join(work_dir, entry["path"]))
            if entry.get("uri"):  # s3://, gs://, file://…: MLflow's sources say what they are
                other.append(entry)
                continue
            local.append({"dataset": {"name": entry["path"],
                                      "digest": (entry.get("sha256") or entry["etag"])[:16],
                                      "sourceType": "local",
                                      "source": json.dumps({"uri": where})},
                          "tags": [{"key": "mlflow.data.context",
                                    "value": entry.get("step") or "input"}]})
        if local:
            self.log_inputs(run_id, local)
        if other:
            from nb2pipe.tracking.mlflow import log_files_read

            with self.store.released():
                log_files_read(self.uri, run_id, other, work_dir)

    def replay(self, run_id: str, path: str) -> int:
        """Write what a step's kernel buffered (:mod:`nb2pipe.autologbuffer`) into its run,
        and the child runs it made (a parameter search's candidates) under it."""
        from nb2pipe.autologbuffer import read_entries, runs_of

        def end(child: str, status: str, end_time) -> None:
            self._terminate(child, "succeeded" if status == "FINISHED" else "failed", end_time)

        entries = read_entries(path)
        logged_params: dict[str, dict[str, str]] = {}
        for target, entry in runs_of(entries, run_id, self._create_run, end):
            if "inputs" in entry:
                self.log_inputs(target, entry["inputs"])
                continue
            logged = logged_params.setdefault(target, {})
            params = {k: v for k, v in entry.get("params", []) if logged.get(k) != v}
            logged.update(params)
            self.log(target, metrics=[tuple(m) for m in entry.get("metrics", [])],
                     params=params, tags=dict(entry.get("tags", [])))
        if os.path.exists(path):
            os.remove(path)
        return len(entries)


def _plain_input(item: dict) -> bool:
    dataset = item.get("dataset") or {}
    tags = item.get("tags") or []
    return isinstance(dataset.get("name"), str) and isinstance(dataset.get("digest"), str) and \
        isinstance(dataset.get("sourceType"), str) and isinstance(dataset.get("source"), str) \
        and 0 < len(dataset["name"]) <= _DATASET_NAME and \
        0 < len(dataset["digest"]) <= _DATASET_DIGEST and \
        len(dataset["source"]) <= _DATASET_SOURCE and \
        all(isinstance(dataset.get(k), (str, type(None))) for k in ("schema", "profile")) and \
        all(isinstance(t.get("key"), str) and isinstance(t.get("value"), str) and
            0 < len(t["key"]) <= _INPUT_TAG_KEY and len(t["value"]) <= _INPUT_TAG_VALUE
            for t in tags) and set(item) <= {"dataset", "tags"} and \
        set(dataset) <= {"name", "digest", "sourceType", "source", "schema", "profile"}


def _numbers(metrics: dict) -> dict:
    return {k: float(v) for k, v in sorted(metrics.items())
            if isinstance(v, (int, float)) and not isinstance(v, bool)}


def _now() -> int:
    return int(time.time() * 1000)
