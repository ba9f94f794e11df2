"""The data files a pipeline reads, as inputs: listed, and uploaded to an object store
(``nb2pipe run --engine kfp-local --upload URI``, ``nb2pipe submit --upload URI``).

The files are the reads the lineage records (``pipeline.json``'s ``data``), resolved with the
run's parameter values; each goes under the same key its component looks for
(:func:`nb2pipe.runtime.data_key`). fsspec writes them: a local folder, ``file://``,
``s3://`` (s3fs), ``gs://`` (gcsfs), MinIO through ``s3://`` and an endpoint
(``AWS_ENDPOINT_URL`` or ``FSSPEC_S3_ENDPOINT_URL``).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from nb2pipe.run.source import RunError


@dataclass(frozen=True)
class DataFile:
    path: str  # as the notebook reads it
    local: str  # the file (or folder) on this machine
    key: str  # where it goes under the data folder

    @property
    def size(self) -> int:
        if os.path.isdir(self.local):
            return sum(os.path.getsize(os.path.join(root, f))
                       for root, _dirs, files in os.walk(self.local) for f in files)
        return os.path.getsize(self.local)


def sweep_data_files(source, sets: list[dict]) -> list[DataFile]:
    """The data files of every parameter set of a run or a submission, each once."""
    found: dict[str, DataFile] = {}
    for values in sets:
        for data in data_files(source.pipeline, source.work_dir, values):
            found.setdefault(data.path, data)
    return list(found.values())


def data_files(pipeline, work_dir: str, parameters: dict) -> list[DataFile]:
    """The data files ``pipeline`` reads with these ``parameters``, found under ``work_dir``
    (the notebook's folder). Paths computed at run time are left out (convert warned)."""
    from nb2pipe.analysis.inputs import Unresolved, resolve
    from nb2pipe.runtime import data_key

    values = {p.name: p.default for p in pipeline.parameters}
    values.update(parameters)
    found: dict[str, DataFile] = {}
    for read in pipeline.data:
        try:
            path = resolve(read["path"], values)
        except Unresolved:
            continue
        local = path if os.path.isabs(path) else os.path.normpath(os.path.join(work_dir, path))
        if path not in found and os.path.exists(local):
            found[path] = DataFile(path, local, data_key(path))
    return list(found.values())


def upload(files: list[DataFile], uri: str, report=None) -> tuple[int, float]:
    """Copy ``files`` under ``uri``: (bytes sent, seconds)."""
    try:
        import fsspec
    except ImportError:
        raise RunError("uploading data needs fsspec: pip install 'nb2pipe[kfp]' (and s3fs for "
                       "s3://, gcsfs for gs://)") from None
    try:
        filesystem, root = fsspec.core.url_to_fs(uri)
    except (ImportError, ValueError) as error:
        raise RunError(f"cannot write to {uri}: {error}") from None
    started = time.perf_counter()
    for data in files:
        if report:
            report(f"  uploading {data.path} → {uri.rstrip('/')}/{data.key}")
    single = [d for d in files if not os.path.isdir(d.local)]
    try:
        if single:  # one call: fsspec sends them side by side (s3fs: concurrently)
            filesystem.put([d.local for d in single],
                           [root.rstrip("/") + "/" + d.key for d in single])
        for data in files:
            if os.path.isdir(data.local):
                filesystem.put(data.local, root.rstrip("/") + "/" + data.key, recursive=True)
    except Exception as error:  # noqa: BLE001 - any store's failure, said plainly
        raise RunError(f"uploading the data files to {uri} failed: "
                       f"{type(error).__name__}: {error}") from None
    return sum(d.size for d in files), time.perf_counter() - started
