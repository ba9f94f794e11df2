"""``nb2pipe convert``: a tagged notebook in, a folder of pipeline files out, whole or not at all.

The notebook is read and the pipeline built and checked first; only when nothing is wrong are
the targets rendered (in memory) and written: into a temporary folder beside the destination,
then moved into place in one rename. The input notebook is never modified.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field

from nb2pipe.lint.diagnostic import Diagnostic
from nb2pipe.notebook.model import Notebook
from nb2pipe.notebook.reader import read_notebook
from nb2pipe.pipeline.build import PipelineError, build_pipeline
from nb2pipe.pipeline.model import Pipeline
from nb2pipe.targets import DEFAULT_TARGETS, get

MARKER = "pipeline.json"


class ConvertError(Exception):
    """Converting failed before anything was written; the message says why and what to do."""


@dataclass
class Conversion:
    pipeline: Pipeline
    files: dict[str, str]
    warnings: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def render(notebook: Notebook, targets=DEFAULT_TARGETS, notebook_ref: str | None = None) \
        -> Conversion:
    """Build the pipeline and render the targets, in memory.

    Args:
        notebook_ref: how the pipeline refers to its notebook (a path relative to the output
            folder, so that runs find the notebook's data files); the notebook's path if None.

    Raises:
        PipelineError: the notebook's tags or dataflow do not make a pipeline.
    """
    pipeline, diagnostics = build_pipeline(notebook)
    if pipeline is None:
        raise PipelineError([d for d in diagnostics if d.severity == "error"])
    if notebook_ref is not None:
        pipeline.notebook = notebook_ref
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
    return Conversion(pipeline, dict(sorted(files.items())), warnings, diagnostics)


def top_level_awaits(notebook: Notebook, pipeline: Pipeline) -> list[Diagnostic]:
    """An ``await`` (``async for``, ``async with``) outside any ``async def`` in the pipeline's
    cells: IPython runs it, but a component is a plain function, where it does not parse."""
    import ast

    from nb2pipe.lint.registry import RULES

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
                found.append(Diagnostic(
                    code="NB902", name=RULES["NB902"].name, severity="error",
                    message="top-level `await` runs in IPython only: a pipeline component is "
                            "a plain function, where it does not parse",
                    path=notebook.path, cell=index, cell_id=cell.id,
                    line=getattr(node, "lineno", 1), col=getattr(node, "col_offset", 0) + 1,
                    help="put the async code in `async def main(): …` and call "
                         "`asyncio.run(main())`, or convert with `--target papermill` (its "
                         "step notebooks run in IPython)"))
                break
            stack.extend(ast.iter_child_nodes(node))
    return found


def convert(notebook_path: str, out_dir: str, targets=DEFAULT_TARGETS,
            force: bool = False) -> Conversion:
    """Convert ``notebook_path`` into ``out_dir`` (replaced whole if it holds an earlier
    conversion)."""
    notebook = read_notebook(notebook_path)
    reference = os.path.relpath(os.path.abspath(notebook_path), os.path.abspath(out_dir))
    conversion = render(notebook, targets, reference.replace(os.sep, "/"))
    write_tree(out_dir, conversion.files, force)
    return conversion


def tagged_copy_path(notebook_path: str) -> str:
    """Where ``convert --auto`` writes the tagged copy: beside the notebook, so that its
    relative data paths still hold."""
    stem, _ = os.path.splitext(notebook_path)
    return stem + ".tagged.ipynb"


def convert_auto(notebook_path: str, out_dir: str, targets=DEFAULT_TARGETS, force: bool = False,
                 in_place: bool = False):
    """Propose tags for an untagged notebook, write them into a copy (or back into the
    notebook with ``in_place``) and convert that.

    Nothing is written unless the proposal builds: the pipeline folder first (whole or not at
    all), then the tagged notebook (atomically).

    Returns:
        The proposal, the conversion and the path of the tagged notebook.

    Raises:
        AutoTagError: no proposal could be made; its problems say why.
    """
    from nb2pipe.notebook.writer import write_notebook
    from nb2pipe.pipeline.auto import propose

    notebook = read_notebook(notebook_path)
    tagged_path = notebook_path if in_place else tagged_copy_path(notebook_path)
    if not in_place and os.path.exists(tagged_path) and not force and \
            not _written_by_auto(tagged_path):
        raise ConvertError(f"{tagged_path} exists and nb2pipe did not write it; move it away, "
                           f"or pass --force to replace it")
    proposal = propose(notebook)
    reference = os.path.relpath(os.path.abspath(tagged_path), os.path.abspath(out_dir))
    conversion = render(proposal.notebook, targets, reference.replace(os.sep, "/"))
    write_tree(out_dir, conversion.files, force)
    write_notebook(tagged_path, proposal.notebook.raw)
    return proposal, conversion, tagged_path


def _written_by_auto(path: str) -> bool:
    import json

    try:
        with open(path, encoding="utf-8") as handle:
            metadata = json.load(handle).get("metadata") or {}
    except (OSError, ValueError, AttributeError):
        return False
    return isinstance(metadata.get("nb2pipe"), dict) and "auto" in metadata["nb2pipe"]


def write_tree(out_dir: str, files: dict[str, str], force: bool = False) -> None:
    """Write ``files`` under ``out_dir`` atomically: all of them, or none."""
    out_dir = os.path.abspath(out_dir)
    if os.path.exists(out_dir):
        if not os.path.isdir(out_dir):
            raise ConvertError(f"{out_dir} exists and is not a folder; choose another -o")
        ours = os.path.exists(os.path.join(out_dir, MARKER))
        if os.listdir(out_dir) and not ours and not force:
            raise ConvertError(f"{out_dir} is not empty and was not written by nb2pipe; choose "
                               f"another -o, or pass --force to replace it")
    parent = os.path.dirname(out_dir)
    try:
        os.makedirs(parent, exist_ok=True)
        staging = tempfile.mkdtemp(prefix=".nb2pipe-", dir=parent)
    except OSError as error:
        raise ConvertError(f"cannot write {out_dir}: {error.strerror or error}; choose another "
                           f"-o (a folder that can be created and written)") from None
    try:
        for relative, text in files.items():
            path = os.path.join(staging, relative)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
        if os.path.exists(out_dir):
            runs = os.path.join(out_dir, "runs")
            if os.path.isdir(runs):  # earlier runs of this pipeline are kept
                os.rename(runs, os.path.join(staging, "runs"))
            old = out_dir + ".old-" + os.path.basename(staging)
            os.rename(out_dir, old)
            os.rename(staging, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
