"""What a compiled Kubeflow pipeline carries so that it runs on a cluster (issue K), far from
the notebook's folder: its local modules (shipped inside each component), the data files each
step reads (staged from the pipeline's data folder), the packages the components install (or
an image that has them: ``kfp/Dockerfile``), and the line ranges that let a failing component
name its notebook cell.
"""

from __future__ import annotations

from nb2pipe import __version__
from nb2pipe.notebook.model import Notebook
from nb2pipe.pipeline.model import Pipeline, Step
from nb2pipe.targets import Rendered
from nb2pipe.targets.components import INDENT

BASE_IMAGE = "python:3.11-slim"


def runtime_packages(pipeline: Pipeline, notebook: Notebook, required: set[str]) -> list[str]:
    """What the components need besides the notebook's imports, pinned as installed here:
    nb2pipe's runtime (data validation, the model gate; with pandera and MLflow's client),
    cloudpickle when a function or class the notebook defines crosses components, fsspec and
    s3fs when steps read data files from the pipeline's data folder."""
    packages = [f"nb2pipe[run,tracking]=={__version__}"]
    if defines_code(pipeline, notebook) and "cloudpickle" not in required:
        packages.append(pinned("cloudpickle"))
    if pipeline.data:
        packages += [pinned(name) for name in ("fsspec", "s3fs") if name not in required]
    return packages


def dockerfile(pipeline: Pipeline, runtime: list[str]) -> str:
    """An image with everything the components install when they start: built once, pushed,
    and named with ``convert --image``, the components start at once and offline."""
    listed = " \\\n    ".join(f'"{p}"' for p in [*runtime, pinned("kfp")])
    return f"""# The image of the Kubeflow components of `{pipeline.name}`, written by nb2pipe {__version__}.
# It holds what the components would otherwise install at every start: the notebook's imports
# (requirements.txt) and what the components need besides (nb2pipe's runtime, MLflow's client,
# fsspec for the data folder, the kfp SDK). Build it from the pipeline's folder, push it where
# the cluster pulls images from, and convert again with --image:
#
#   docker build -f kfp/Dockerfile -t REGISTRY/{pipeline.name}:1 .
#   docker push REGISTRY/{pipeline.name}:1
#   nb2pipe convert NOTEBOOK -o DIR --image REGISTRY/{pipeline.name}:1
#
# Where nb2pipe is not on your package index, build its wheel (`pip wheel --no-deps
# NB2PIPE_SOURCE -w kfp/`) and install it first: COPY kfp/nb2pipe-*.whl /tmp/ and add
# /tmp/nb2pipe-*.whl to the pip line.
FROM {BASE_IMAGE}
COPY requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir -r /tmp/requirements.txt \\
    {listed}
"""


def step_reads(pipeline: Pipeline, notebook: Notebook, step: Step,
               rendered: Rendered | None = None) -> list[str]:
    """The path expressions of the data files ``step`` reads, as the component evaluates them
    (with its parameters). A path computed at run time cannot become an input: a warning
    names its cell and line."""
    from nb2pipe.analysis.inputs import Unresolved, resolve

    defaults = {p.name: p.default for p in pipeline.parameters}
    reads = []
    for read in pipeline.data:
        if read.get("step") != step.name:
            continue
        try:
            resolve(read["path"], defaults)
        except Unresolved:
            if rendered is not None:
                rendered.warnings.append(
                    f"cell {notebook.cells[read['cell']].number}, line {read['line']}: "
                    f"`{read['path']}` is computed at run time, so it cannot become an input "
                    f"of the Kubeflow pipeline (a pod will not find it): make it a literal "
                    f"path or a parameter")
            continue
        reads.append(read["path"])
    return list(dict.fromkeys(reads))


def ship_modules(modules: dict[str, str]) -> list[str]:
    """Component code that recreates the notebook's local modules (``preamble.py``…) in a
    scratch folder on the import path: a pod has no notebook folder to import them from."""
    if not modules:
        return []
    entries = "".join(f"\n{INDENT}{path!r}: {source!r}," for path, source in modules.items())
    return [
        "# The notebook's local modules, shipped inside the component (not on PyPI).",
        "import os as _os, sys as _sys, tempfile as _tempfile",
        "_nb2pipe_modules = {" + entries + "\n}",
        "_nb2pipe_module_dir = _tempfile.mkdtemp(prefix='nb2pipe-modules-')",
        "for _path, _text in _nb2pipe_modules.items():",
        f"{INDENT}_file = _os.path.join(_nb2pipe_module_dir, *_path.split('/'))",
        f"{INDENT}_os.makedirs(_os.path.dirname(_file), exist_ok=True)",
        f"{INDENT}with open(_file, 'w', encoding='utf-8') as _handle:",
        f"{INDENT * 2}_handle.write(_text)",
        "_sys.path.insert(0, _nb2pipe_module_dir)",
    ]


def failure_hook(body: list[str], cell_code: list[tuple[int, int]], function: str) -> str:
    """The line that makes a failing component name its notebook cell and line: each cell's
    line range, counted from the component's first statement (``_nb2pipe_here``)."""
    starts, line = [], 0
    for part in body:
        starts.append(line)
        line += part.count("\n") + 1
    here = starts[next(i for i, part in enumerate(body) if part.startswith("_nb2pipe_here"))]
    cells = [(starts[index] - here, starts[index] - here + body[index].count("\n"), number)
             for index, number in cell_code]
    return f"_nb2pipe_failure_place({function!r}, _nb2pipe_here, {cells!r})"


def defines_code(pipeline: Pipeline, notebook: Notebook) -> bool:
    """Whether the pipeline's cells define a function, lambda or class (whose values, or
    instances, may cross components: those go by value, with cloudpickle)."""
    import ast

    cells = pipeline.functions + [i for step in pipeline.steps for i in step.cells]
    for index in cells:
        tree = notebook.cells[index].tree
        if tree is not None and any(isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                      ast.ClassDef, ast.Lambda))
                                    for node in ast.walk(tree)):
            return True
    return False


def pinned(distribution: str) -> str:
    from importlib import metadata

    try:
        return f"{distribution}=={metadata.version(distribution)}"
    except metadata.PackageNotFoundError:
        return distribution
