"""``nb2pipe convert``: a tagged notebook in, a folder of pipeline files out, whole or not at all.

The notebook is read and the pipeline built and checked first; only when nothing is wrong are
the targets rendered (in memory) and written: into a temporary folder beside the destination,
then moved into place in one rename. The input notebook is never modified.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field

from nb2pipe.diagnostic import Diagnostic, diagnostic
from nb2pipe.notebook.model import Notebook
from nb2pipe.notebook.reader import read_notebook
from nb2pipe.pipeline.build import PipelineError, build_pipeline
from nb2pipe.pipeline.model import Pipeline
from nb2pipe.targets import DEFAULT_TARGETS, get

#: The list of files nb2pipe wrote into a pipeline folder, with their SHA-256: only these are
#: ever replaced or removed by a later conversion.
MANIFEST = ".nb2pipe-manifest.json"
#: What runs leave in a pipeline folder (run records, tracking stores, accepted data baselines,
#: Jupyter's checkpoints, Python's caches): never touched by a conversion, never foreign.
KEPT = frozenset({"runs", "mlflow.db", "mlflow.db-journal", "mlflow.db-wal", "mlflow.db-shm",
                  "mlruns", "validation", ".ipynb_checkpoints", "__pycache__",
                  ".nb2pipe-cache"})


class ConvertError(Exception):
    """Converting failed before anything was written; the message says why and what to do."""


@dataclass
class Conversion:
    pipeline: Pipeline
    files: dict[str, str]
    warnings: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: the notebook's local modules (``preamble.py``…) that the Kubeflow components carry
    local_modules: list[str] = field(default_factory=list)


def render(notebook: Notebook, targets=DEFAULT_TARGETS, notebook_ref: str | None = None,
           gate=(), image: str | None = None, schedule: str | None = None,
           airflow_tasks: str | None = None) -> Conversion:
    """Build the pipeline and render the targets, in memory.

    Args:
        notebook_ref: how the pipeline refers to its notebook (a path relative to the output
            folder, so that runs find the notebook's data files); the notebook's path if None.
        gate: model gate conditions besides the notebook's (``convert --gate``).
        image: the Kubeflow components' image, which has what they need (``--image``); the
            Airflow pods' image too.
        airflow_tasks: ``pod`` for a DAG whose tasks run in Kubernetes pods of ``image``.

    Raises:
        PipelineError: the notebook's tags or dataflow do not make a pipeline.
        ConvertError: a ``gate`` condition cannot be read, or names no metric.
    """
    pipeline, diagnostics = build_pipeline(notebook)
    if pipeline is None:
        raise PipelineError([d for d in diagnostics if d.severity == "error"])
    if notebook_ref is not None:
        pipeline.notebook = notebook_ref
    if image:
        pipeline.image = image
    if schedule:
        from nb2pipe.targets.airflow import schedule_problem

        problem = schedule_problem(schedule)
        if problem:
            raise ConvertError(f"--schedule {schedule!r}: {problem}")
        pipeline.schedule = schedule
    if airflow_tasks == "pod":
        if not image:
            raise ConvertError("--airflow-tasks pod runs each task in a pod of --image: build "
                               "one from kfp/Dockerfile (convert --target kfp writes it) and "
                               "name it with --image REGISTRY/NAME:TAG")
        pipeline.airflow_tasks = airflow_tasks
    if "airflow" in targets and "papermill" not in targets:
        targets = (*targets, "papermill")  # the DAG's tasks run the step notebooks
    if gate:
        from nb2pipe.pipeline.level1 import gate_problem

        for condition in gate:
            problem = gate_problem(condition, pipeline.metrics)
            if problem:
                raise ConvertError(f"--gate {problem[0]}; {problem[1]}")
        pipeline.gate = list(dict.fromkeys([*pipeline.gate, *(c.strip() for c in gate)]))
    if {"components", "kfp"} & set(targets):
        awaits = top_level_awaits(notebook, pipeline)
        if awaits:
            raise PipelineError(awaits)
    files: dict[str, str] = {}
    warnings: list[str] = []
    for name in targets:
        rendered = get(name).render(pipeline, notebook)
        files.update(rendered.files)
        warnings.extend(rendered.warnings)
    shipped = []
    if "kfp" in targets:
        from nb2pipe.targets.project import shipped_modules

        shipped = list(shipped_modules(notebook))
    return Conversion(pipeline, dict(sorted(files.items())), warnings, diagnostics, shipped)


def top_level_awaits(notebook: Notebook, pipeline: Pipeline) -> list[Diagnostic]:
    """An ``await`` (``async for``, ``async with``) outside any ``async def`` in the pipeline's
    cells: IPython runs it, but a component is a plain function, where it does not parse."""
    import ast

    found = []
    cells = pipeline.imports + pipeline.functions + [i for s in pipeline.steps for i in s.cells]
    for index in sorted(cells):
        cell = notebook.cells[index]
        stack = list(cell.tree.body) if cell.tree is not None else []
        while stack:
            node = stack.pop()
            if isinstance(node, (ast.AsyncFunctionDef, ast.Lambda)):
                continue
            if isinstance(node, (ast.Await, ast.AsyncFor, ast.AsyncWith)) or \
                    isinstance(node, ast.comprehension) and node.is_async:
                found.append(diagnostic(
                    "NB902", "top-level `await` runs in IPython only: a pipeline component is "
                             "a plain function, where it does not parse",
                    notebook.path, cell, line=getattr(node, "lineno", 1),
                    col=getattr(node, "col_offset", 0) + 1,
                    help="put the async code in `async def main(): …` and call "
                         "`asyncio.run(main())`, or convert with `--target papermill` (its "
                         "step notebooks run in IPython)"))
                break
            stack.extend(ast.iter_child_nodes(node))
    return found


def convert(notebook_path: str, out_dir: str, targets=DEFAULT_TARGETS,
            force: bool = False, protected=(), gate=(), image: str | None = None,
            schedule: str | None = None, airflow_tasks: str | None = None) -> Conversion:
    """Convert ``notebook_path`` into ``out_dir``; an earlier conversion there is replaced,
    and nothing else (see :func:`write_tree`).

    Args:
        protected: folders the output may neither be nor hold (the server's root), besides
            the notebook's own folder.
    """
    notebook = read_notebook(notebook_path)
    protected = [notebook_path, *protected]
    check_target(out_dir, protected)
    reference = os.path.relpath(os.path.abspath(notebook_path), os.path.abspath(out_dir))
    conversion = render(notebook, targets, reference.replace(os.sep, "/"), gate, image,
                        schedule, airflow_tasks)
    _kept(conversion, write_tree(out_dir, conversion.files, force, protected))
    return conversion


def tagged_copy_path(notebook_path: str) -> str:
    """Where ``convert --auto`` writes the tagged copy: beside the notebook, so that its
    relative data paths still hold."""
    stem, _ = os.path.splitext(notebook_path)
    return stem + ".tagged.ipynb"


def convert_auto(notebook_path: str, out_dir: str, targets=DEFAULT_TARGETS, force: bool = False,
                 in_place: bool = False, gate=(), image: str | None = None,
                 schedule: str | None = None, airflow_tasks: str | None = None):
    """Propose tags for an untagged notebook, write them into a copy (or back into the
    notebook with ``in_place``) and convert that.

    Nothing is written unless the proposal builds: the pipeline folder first (whole or not at
    all), then the tagged notebook (atomically).

    Returns:
        The proposal, the conversion and the path of the tagged notebook.

    Raises:
        AutoTagError: no proposal could be made; its problems say why.
    """
    from nb2pipe.auto import propose
    from nb2pipe.lint.tidy import tidy
    from nb2pipe.notebook.writer import write_notebook

    notebook = read_notebook(notebook_path)
    check_target(out_dir, [notebook_path])
    tagged_path = notebook_path if in_place else tagged_copy_path(notebook_path)
    if not in_place and os.path.exists(tagged_path) and not force and \
            not _written_by_auto(tagged_path):
        raise ConvertError(f"{tagged_path} exists and nb2pipe did not write it; move it away, "
                           f"or pass --force to replace it")
    proposal = propose(notebook, tidy)
    reference = os.path.relpath(os.path.abspath(tagged_path), os.path.abspath(out_dir))
    default = None
    if not gate:  # no worse than the registered champion: level 1 without a hand edit
        from nb2pipe.pipeline.build import build_pipeline

        pipeline, _ = build_pipeline(proposal.notebook)  # (render says what fails)
        default = None if pipeline is None or pipeline.gate else default_gate(pipeline)
    conversion = render(proposal.notebook, targets, reference.replace(os.sep, "/"),
                        [default] if default else gate, image, schedule, airflow_tasks)
    if default:
        proposal.notes.append(f"gated the model on `{default}` (no worse than the registered "
                              f"champion; --gate CONDITION chooses another)")
    _kept(conversion, write_tree(out_dir, conversion.files, force, protected=[notebook_path]))
    raw = proposal.notebook.raw
    if conversion.pipeline.gate:  # converting the tagged copy again keeps the gate
        section = raw.setdefault("metadata", {}).setdefault("nb2pipe", {})
        if isinstance(section, dict):
            section["gate"] = list(conversion.pipeline.gate)
    write_notebook(tagged_path, raw)
    return proposal, conversion, tagged_path


#: Metrics that are better when lower.
_LOWER_IS_BETTER = ("loss", "error", "mse", "mae", "rmse", "mape", "deviance")
#: Metrics a default gate prefers, in order.
_PREFERRED = ("accuracy", "f1", "roc_auc", "auc", "r2", "cv_score", "score")


def default_gate(pipeline) -> str | None:
    """The gate ``convert --auto`` proposes when the user gives none: the pipeline's main
    metric no worse than the champion's (the first version always passes)."""
    if not pipeline.model or not pipeline.metrics:
        return None
    metrics = list(pipeline.metrics)
    chosen = next((m for word in _PREFERRED for m in metrics if m == word), None) or \
        next((m for word in _PREFERRED for m in metrics if word in m), None) or metrics[0]
    lower = any(word in chosen.lower() for word in _LOWER_IS_BETTER)
    return f"{chosen}{'<=' if lower else '>='}champion"


def _kept(conversion: Conversion, kept: list[str]) -> None:
    if kept:
        shown = ", ".join(kept[:5]) + (f" and {len(kept) - 5} more" if len(kept) > 5 else "")
        conversion.warnings.append(
            f"kept {len(kept)} file{'s' if len(kept) != 1 else ''} nb2pipe did not write "
            f"({shown})")
    moved = [k for k in kept if k in conversion.files]
    if moved:
        conversion.warnings.append(
            f"{', '.join(moved)} stood where the pipeline writes: kept as "
            f"{', '.join(m + '.orig' for m in moved)} (or .orig.N where that existed)")


def _written_by_auto(path: str) -> bool:
    import json

    try:
        with open(path, encoding="utf-8") as handle:
            metadata = json.load(handle).get("metadata") or {}
    except (OSError, ValueError, AttributeError):
        return False
    return isinstance(metadata.get("nb2pipe"), dict) and "auto" in metadata["nb2pipe"]


def check_target(out_dir: str, protected=()) -> None:
    """Refuse an output folder that holds what must never be replaced, even with ``--force``:
    a protected folder (the server's root) or the folder of a protected file (the notebook),
    or one of their ancestors.

    Raises:
        ConvertError: ``out_dir`` is such a folder, or exists and is not a folder.
    """
    target = os.path.realpath(out_dir)
    for path in protected:
        real = os.path.realpath(path)
        folder = real if os.path.isdir(real) else os.path.dirname(real)
        if folder == target or folder.startswith(target.rstrip(os.sep) + os.sep):
            what = "the server's root" if folder == real else \
                f"{os.path.basename(real)} (the notebook's folder, or one above it)"
            raise ConvertError(f"{out_dir} holds {what}: a pipeline needs a folder of its "
                               f"own, which convert may replace; choose another -o, such as "
                               f"NOTEBOOK-pipeline")
    if os.path.exists(target) and not os.path.isdir(target):
        raise ConvertError(f"{out_dir} exists and is not a folder; choose another -o")


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_manifest(out_dir: str) -> dict[str, str]:
    """The files an earlier conversion wrote into ``out_dir``, with their SHA-256; empty when
    there is no manifest or it cannot be read (then nothing counts as nb2pipe's)."""
    try:
        with open(os.path.join(out_dir, MANIFEST), encoding="utf-8") as handle:
            files = json.load(handle).get("files")
    except (OSError, ValueError, AttributeError):
        return {}
    if not isinstance(files, dict):
        return {}
    return {k: v for k, v in files.items() if isinstance(k, str) and isinstance(v, str)}


def _existing_files(out_dir: str) -> list[str]:
    """The files under ``out_dir`` (relative, ``/``-separated), skipping what runs keep."""
    found = []
    for folder, dirs, files in os.walk(out_dir):
        relative = os.path.relpath(folder, out_dir)
        links = [d for d in dirs if os.path.islink(os.path.join(folder, d))]
        dirs[:] = sorted(d for d in dirs if d not in KEPT and not d.startswith(".nb2pipe-")
                         and d not in links)
        files = files + links  # a link to a folder is the user's, like a file
        for name in sorted(files):
            if relative == "." and (name in KEPT or name == MANIFEST):
                continue
            path = name if relative == "." else os.path.join(relative, name)
            found.append(path.replace(os.sep, "/"))
    return found


def foreign_files(out_dir: str, files: dict[str, str]) -> list[str]:
    """Files in ``out_dir`` that nb2pipe did not write, or that were changed since: not in the
    manifest with the same content, and not already what this conversion writes."""
    manifest = read_manifest(out_dir)
    foreign = []
    for relative in _existing_files(out_dir):
        try:
            with open(os.path.join(out_dir, relative), "rb") as handle:
                digest = _digest(handle.read())
        except OSError:
            foreign.append(relative)
            continue
        new = files.get(relative)
        if manifest.get(relative) == digest or \
                new is not None and _digest(new.encode("utf-8")) == digest:
            continue
        foreign.append(relative)
    return foreign


def write_tree(out_dir: str, files: dict[str, str], force: bool = False,
               protected=()) -> list[str]:
    """Write ``files`` under ``out_dir`` with a manifest of them, deleting nothing nb2pipe did
    not write.

    A new folder is written in a staging folder and renamed into place: whole or not at all.
    An existing one is replaced only where nb2pipe wrote it: the manifest's files, checked
    byte for byte, are updated (each file atomically) and those the new conversion no longer
    has are removed. Any other file is the user's: without ``force`` nothing is touched; with
    it the user's files are kept, and one that stands where the conversion writes is kept
    beside it as ``NAME.orig``. Runs and tracking stores (:data:`KEPT`) are never touched,
    and the folder keeps its permissions.

    Returns:
        The user's files that were kept (renamed to ``.orig`` where they were in the way).

    Raises:
        ConvertError: the folder is protected, holds files nb2pipe did not write (without
            ``force``), or cannot be written.
    """
    check_target(out_dir, protected)
    out_dir = os.path.abspath(out_dir)
    manifest = {relative: _digest(text.encode("utf-8")) for relative, text in files.items()}
    if not os.path.exists(out_dir):
        _write_new(out_dir, files, manifest)
        return []
    foreign = foreign_files(out_dir, files)
    if foreign and not force:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more"
                                         if len(foreign) > 3 else "")
        raise ConvertError(f"{out_dir} holds files nb2pipe did not write ({shown}); nothing "
                           f"was touched: choose another -o, or pass --force to write the "
                           f"pipeline there and keep those files")
    _update(out_dir, files, manifest, set(foreign))
    return foreign


def _write_files(folder: str, files: dict[str, str], manifest: dict[str, str]) -> None:
    for relative, text in files.items():
        path = os.path.join(folder, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    with open(os.path.join(folder, MANIFEST), "w", encoding="utf-8", newline="\n") as handle:
        json.dump({"written_by": "nb2pipe convert", "files": manifest}, handle, indent=1,
                  sort_keys=True)
        handle.write("\n")


def _staging(parent: str, out_dir: str) -> str:
    try:
        os.makedirs(parent, exist_ok=True)
        return tempfile.mkdtemp(prefix=".nb2pipe-", dir=parent)
    except OSError as error:
        raise ConvertError(f"cannot write {out_dir}: {error.strerror or error}; choose another "
                           f"-o (a folder that can be created and written)") from None


def _write_new(out_dir: str, files: dict[str, str], manifest: dict[str, str]) -> None:
    staging = _staging(os.path.dirname(out_dir), out_dir)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(staging, 0o777 & ~umask)  # mkdtemp makes it private; a new folder is not
        _write_files(staging, files, manifest)
        os.rename(staging, out_dir)
    except BaseException as error:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(error, OSError):
            raise ConvertError(f"cannot write {out_dir}: {error.strerror or error}; nothing "
                               f"was written") from None
        raise


def _update(out_dir: str, files: dict[str, str], manifest: dict[str, str],
            foreign: set[str]) -> None:
    """Stage every file inside ``out_dir``, then move each into place; remove the files of the
    earlier manifest the new conversion no longer writes (unchanged ones only)."""
    old = read_manifest(out_dir)
    staging = _staging(out_dir, out_dir)
    try:
        _write_files(staging, files, manifest)
        for relative in files:
            target = os.path.join(out_dir, relative)
            if relative in foreign and os.path.lexists(target):
                os.replace(target, _free_name(target + ".orig"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.replace(os.path.join(staging, relative), target)
        os.replace(os.path.join(staging, MANIFEST), os.path.join(out_dir, MANIFEST))
    except OSError as error:
        raise ConvertError(f"cannot write {out_dir}: {error.strerror or error}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    for relative in sorted(set(old) - set(files) - foreign):
        path = os.path.join(out_dir, relative)
        try:
            with open(path, "rb") as handle:
                if _digest(handle.read()) != old[relative]:
                    continue
            os.unlink(path)
        except OSError:
            continue
        _remove_empty_parents(os.path.dirname(path), out_dir)


def _free_name(path: str) -> str:
    """``path``, or ``path.1``, ``path.2``… : the first that does not exist."""
    candidate, number = path, 0
    while os.path.lexists(candidate):
        number += 1
        candidate = f"{path}.{number}"
    return candidate


def _remove_empty_parents(folder: str, top: str) -> None:
    """Folders emptied by removing nb2pipe's old files go too; any folder with content stays."""
    while os.path.abspath(folder) != os.path.abspath(top):
        try:
            os.rmdir(folder)
        except OSError:
            return
        folder = os.path.dirname(folder)
