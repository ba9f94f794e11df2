"""What a run ran on: the content hashes of the data files its steps read, the code (the
converted files, or the notebook), the parameters and the git commit; and the fingerprint of
them that ``run --if-changed`` compares with the last successful run's.

Everything here is cheap (hashing files, reading JSON): ``--if-changed`` decides whether to
run before papermill, MLflow or pandas are imported.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess

#: Read in chunks of this size when hashing a file.
_CHUNK = 1 << 20


def file_digest(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def data_files(source, parameters: dict, data_dir: str | None = None,
               uploaded: bool = False) -> list[dict]:
    """Each data file the pipeline's steps read, with its content hash (or why it has none).

    Paths are resolved with the run's parameter values, relative to the notebook's folder
    (where the steps run). With ``data_dir`` (a run whose steps read their files from an
    object store or a data folder, ``--data-dir``/``--upload``), each entry is the object the
    steps read: its ``uri`` and the store's checksum (S3's ``etag``; a local file's sha256),
    and, when ``uploaded`` (``--upload`` sent them there), the local file's hash beside it: the
    fingerprint then compares contents, as ``--if-changed`` does before uploading."""
    from nb2pipe.analysis.inputs import Unresolved, resolve

    pipeline = source.pipeline
    values = {p.name: p.default for p in pipeline.parameters}
    values.update(parameters)
    found, seen = [], set()
    for read in pipeline.data:
        entry = {"expression": read["path"], "step": read.get("step"),
                 "cell": read["cell"] + 1, "line": read["line"]}
        try:
            path = resolve(read["path"], values)
        except Unresolved:
            entry["error"] = "computed at run time: not hashed"
            found.append(entry)
            continue
        absolute = os.path.normpath(os.path.join(source.work_dir, os.path.expanduser(path)))
        if absolute in seen:
            continue
        seen.add(absolute)
        entry["path"] = path
        if data_dir:
            entry.update(_remote(data_dir, path))
            if "error" not in entry and not uploaded:
                found.append(entry)
                continue
            entry.pop("error", None)
        if os.path.isfile(absolute):
            entry.update(sha256=file_digest(absolute), size=os.path.getsize(absolute))
        elif os.path.isdir(absolute):
            entry.update(sha256=_folder_digest(absolute), folder=True)
        else:
            entry["error"] = "missing"
        found.append(entry)
    return found


def _remote(data_dir: str, path: str) -> dict:
    """``{"uri", "etag" or "sha256", "size"}`` of the object the steps read as ``path`` under
    ``data_dir``, or ``{"uri", "error"}``: what fsspec says of it, without downloading it."""
    from nb2pipe.runtime import data_key

    uri = data_dir.rstrip("/") + "/" + data_key(path)
    try:
        import fsspec

        filesystem, location = fsspec.core.url_to_fs(uri)
        info = filesystem.info(location)
    except FileNotFoundError:
        return {"uri": uri, "error": "missing"}
    except Exception as error:  # noqa: BLE001 - any store's failure, recorded plainly
        return {"uri": uri, "error": f"{type(error).__name__}: {error}"}
    entry = {"uri": uri, "size": info.get("size")}
    if info.get("type") == "directory":
        entries = [filesystem.info(f) for f in sorted(filesystem.find(location))]
        digest = hashlib.sha256()
        for item in entries:
            digest.update(str(item.get("name")).encode())
            digest.update(str(_checksum(filesystem, item)).encode())
        entry.update(etag=digest.hexdigest(), folder=True)
        return entry
    checksum = _checksum(filesystem, info)
    entry["sha256" if "file" in filesystem.protocol else "etag"] = checksum
    return entry


def _checksum(filesystem, info: dict) -> str:
    """An object's checksum as its store gives it: S3's ETag, GCS's md5, a local file's
    sha256; fsspec's ``checksum`` (from size and time) otherwise."""
    for key in ("ETag", "etag", "md5Hash", "md5"):
        if info.get(key):
            return str(info[key]).strip('"')
    if "file" in filesystem.protocol or "local" in filesystem.protocol:
        return file_digest(info["name"])
    return str(filesystem.checksum(info["name"]))


def _folder_digest(folder: str) -> str:
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            digest.update(os.path.relpath(path, folder).encode())
            digest.update(file_digest(path).encode())
    return digest.hexdigest()


def code_digest(source) -> str:
    """The code that runs: the converted folder's files (its manifest lists their hashes),
    or a plain notebook's cells."""
    if source.notebook is not None:
        return source.pipeline.source_hash
    for name in (".nb2pipe-manifest.json", "pipeline.json"):
        path = os.path.join(source.folder, name)
        if os.path.exists(path):
            return file_digest(path)
    return source.pipeline.source_hash


def git_state(folder: str) -> dict:
    """``{"commit", "dirty"}`` of the repository holding ``folder``, or ``{}``."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True,
                                text=True, timeout=5)
        if commit.returncode != 0:
            return {}
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                cwd=folder, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return {}
    return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}


def lineage(source, parameters: dict, engine: str = "papermill",
            data_dir: str | None = None, uploaded: bool = False) -> dict:
    """The run's lineage record (``run.json``'s ``lineage``), with its fingerprint; see
    :func:`data_files` for ``data_dir`` and ``uploaded``."""
    record = {
        "data": data_files(source, parameters, data_dir, uploaded),
        "code": code_digest(source),
        "notebook": {"path": source.pipeline.notebook,
                     "source_hash": source.pipeline.source_hash},
        "parameters": parameters,
        "engine": engine,
        "git": git_state(source.work_dir),
    }
    notebook = os.path.normpath(os.path.join(source.folder, source.pipeline.notebook)) \
        if source.notebook is None else source.notebook
    if os.path.isfile(notebook):
        record["notebook"]["sha256"] = file_digest(notebook)
    record["fingerprint"] = fingerprint(record)
    return record


def fingerprint(record: dict) -> str:
    """What ``--if-changed`` compares: the data's hashes, the code, the parameters and the
    engine (not the git commit: a commit that changes nothing the pipeline runs is no
    reason to retrain)."""
    key = {"data": [(d.get("path") or d["expression"], d.get("sha256") or d.get("etag"),
                     d.get("error"))
                    for d in record["data"]],
           "code": record["code"], "parameters": record["parameters"],
           "engine": record["engine"]}
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()


def last_success(runs_dir: str, parameters: dict | None = None) -> tuple[str, dict] | None:
    """The latest succeeded run in ``runs_dir`` (with these ``parameters``, when given):
    ``(run id, its lineage)``; ``None`` when there is none with a lineage."""
    if not os.path.isdir(runs_dir):
        return None
    for run_id in sorted(os.listdir(runs_dir), reverse=True):
        path = os.path.join(runs_dir, run_id, "run.json")
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            continue
        if data.get("status") != "succeeded" or not data.get("lineage"):
            continue
        if parameters is not None and data["lineage"].get("parameters") != parameters:
            continue
        return run_id, data["lineage"]
    return None
