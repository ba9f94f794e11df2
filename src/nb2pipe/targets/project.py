"""Target ``project``: what every converted pipeline has around its steps.

``pipeline.json`` (the target-neutral model), ``requirements.txt`` (what the code imports,
pinned to the versions installed where ``nb2pipe convert`` runs), ``dag.mmd`` (the DAG as a
Mermaid picture) and ``README.md`` (how to run it).
"""

from __future__ import annotations

import sys

from nb2pipe import __version__
from nb2pipe.analysis.installed import packages_distributions
from nb2pipe.analysis.installed import version as installed_version
from nb2pipe.analysis.installs import install_magics, install_specs
from nb2pipe.analysis.knowledge import DISTRIBUTIONS, KERNEL_MODULES
from nb2pipe.analysis.local_modules import local_modules, module_files, module_imports
from nb2pipe.analysis.notebook import NotebookAnalysis
from nb2pipe.notebook.model import Notebook
from nb2pipe.pipeline.model import Pipeline
from nb2pipe.targets import Rendered

_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ()))


class ProjectTarget:
    name = "project"
    description = "pipeline.json, requirements.txt, dag.mmd and README.md"

    def render(self, pipeline: Pipeline, notebook: Notebook) -> Rendered:
        rendered = Rendered()
        rendered.files["pipeline.json"] = pipeline.to_json()
        requirements, unknown = requirements_for(notebook)
        rendered.files["requirements.txt"] = _requirements_text(requirements, unknown)
        for module in unknown:
            name, _, place = module.partition("` (imported by `")
            where = f" by {place.split('`')[0]}, a module beside the notebook," if place else ""
            rendered.warnings.append(f"`{name}` is imported{where} but not installed here: "
                                     f"requirements.txt lists it unpinned; install it, or a "
                                     f"step that imports it fails as a pod would")
        rendered.files["dag.mmd"] = mermaid(pipeline)
        rendered.files["README.md"] = _readme(pipeline)
        return rendered


def requirements_for(notebook: Notebook) -> tuple[dict[str, str | None], list[str]]:
    """Distribution → pinned version for every third-party import and ``pip install``."""
    cached = _REQUIREMENTS.get(id(notebook))
    if cached is not None and cached[0] is notebook:
        return cached[1]
    analysis = NotebookAnalysis(notebook)
    found: dict[str, str | None] = {}
    unknown: list[str] = []
    providers = None
    folder = _folder(notebook)
    # the local modules' own imports are requirements too (a helper.py that imports seaborn)
    via: dict[str, str] = {}
    for relative, source in local_modules(folder, analysis.imported_modules).items():
        for module in sorted(module_imports(source)):
            via.setdefault(module, relative)
    for module in sorted(set(analysis.imported_modules) | set(via)):
        if module in _STDLIB or module in KERNEL_MODULES or not module:
            continue
        if module_files(folder, module):  # beside the notebook: shipped, not installed
            continue
        distribution = DISTRIBUTIONS.get(module, module)
        version = _version(distribution)
        if version is None:
            # Only now pay for the full map of installed distributions (a third of a second).
            if providers is None:
                providers = packages_distributions()
            names = providers.get(module)
            if names:
                distribution = names[0]
                version = _version(distribution)
        if version is None:
            unknown.append(module if module in analysis.imported_modules else
                           f"{module}` (imported by `{via[module]}`)` and")
        found[distribution] = version
    for cell in notebook.code_cells:
        for _magic, _tool, command in install_magics(cell):
            for spec in install_specs(command)[0]:
                name = spec.split("==")[0].split(">=")[0].split("[")[0]
                if name and not name.startswith((".", "/", "-")) and "://" not in spec:
                    found.setdefault(name, _version(name))
    result = dict(sorted(found.items(), key=lambda kv: kv[0].lower())), unknown
    _REQUIREMENTS.clear()
    _REQUIREMENTS[id(notebook)] = (notebook, result)
    return result


_REQUIREMENTS: dict = {}


def _folder(notebook: Notebook) -> str:
    import os

    return os.path.dirname(os.path.abspath(notebook.path or "."))


def shipped_modules(notebook: Notebook) -> dict[str, str]:
    """The notebook's local modules (relative path → source), which every Kubeflow component
    carries: see :mod:`nb2pipe.analysis.local_modules`."""
    return local_modules(_folder(notebook), NotebookAnalysis(notebook).imported_modules)


def _version(distribution: str) -> str | None:
    return installed_version(distribution)


def _requirements_text(requirements: dict[str, str | None], unknown: list[str]) -> str:
    lines = [f"# What the pipeline's code imports, pinned to the versions nb2pipe {__version__}",
             "# found where it converted the notebook. Running the steps with `nb2pipe run` also",
             "# needs nb2pipe[run] (papermill, ipykernel) and, for tracking, nb2pipe[tracking]."]
    for name, version in requirements.items():
        lines.append(f"{name}=={version}" if version else f"{name}  # not installed here: pin it")
    return "\n".join(lines) + "\n"


def mermaid(pipeline: Pipeline) -> str:
    lines = ["flowchart TD"]
    for parameter_step in pipeline.steps:
        shape = f'{parameter_step.name}[["{parameter_step.name}"]]' \
            if parameter_step.kind == "metrics" else f'{parameter_step.name}["{parameter_step.name}"]'
        lines.append(f"    {shape}")
    for edge in pipeline.edges:
        if edge.kind == "data":
            label = ", ".join(edge.artifacts)
            if len(label) > 40:
                label = label[:37] + "..."
            lines.append(f'    {edge.source} -->|"{label}"| {edge.target}')
        else:
            lines.append(f"    {edge.source} -.-> {edge.target}")
    return "\n".join(lines) + "\n"


def _run_lines(pipeline: Pipeline) -> str:
    """The README's commands: the parameter examples only when there are parameters."""
    import shlex

    lines = [("nb2pipe run .", "every step, in dependency order, with MLflow tracking")]
    if pipeline.parameters:
        first = pipeline.parameters[0]
        lines.append((f"nb2pipe run . -p {shlex.quote(f'{first.name}={first.default!r}')}",
                      "other parameter values"))
        if isinstance(first.default, (int, float)) and not isinstance(first.default, bool):
            other = first.default * 2 if first.default else 1
            lines.append((f"nb2pipe run . -p {first.name}={first.default!r},{other!r}",
                          "a sweep: one run per value"))
    lines += [("nb2pipe run . --tracking none", "without tracking"),
              ("nb2pipe run . --resume RUN_ID", "continue a failed run from the failed step"),
              ("nb2pipe run . --if-changed", "only when the data, code or parameters changed"),
              ("mlflow ui --backend-store-uri sqlite:///mlflow.db", "browse the tracked runs")]
    width = max(len(command) for command, _ in lines) + 2
    return "\n".join(f"{command:<{width}}# {note}" for command, note in lines)


def _readme(pipeline: Pipeline) -> str:
    parameters = "\n".join(f"| `{p.name}` | {p.type} | `{p.default!r}` |"
                           for p in pipeline.parameters) or "| – | | |"
    steps = "\n".join(
        f"| `{s.name}` | {', '.join(f'`{n}`' for n in sorted(s.inputs)) or '–'} | "
        f"{', '.join(f'`{n}`' for n in s.outputs) or ('metrics: ' + ', '.join(s.metrics) if s.metrics else '–')} | "
        f"{', '.join(f'`{a}`' for a in s.after) or '–'} |" for s in pipeline.steps)
    return f"""# Pipeline `{pipeline.name}`

Converted by nb2pipe {__version__} from `{pipeline.notebook}`. Do not edit these files: edit the
notebook and run `nb2pipe convert` again (the same notebook always gives the same files).

```mermaid
{mermaid(pipeline).rstrip()}
```

## Steps

| step | inputs | outputs | runs after |
|---|---|---|---|
{steps}

## Parameters

| name | type | default |
|---|---|---|
{parameters}

## Running it

```bash
{_run_lines(pipeline)}
```

Each run writes `runs/RUN_ID/`: the executed step notebooks (and HTML renderings), the artifacts
passed between steps, and `run.json` (status, timings, parameters).

The steps are also plain Python (`components/`), runnable in one process:

```python
from components import run_pipeline
values = run_pipeline()
```

`papermill/STEP.ipynb` are the step notebooks `nb2pipe run` executes; `requirements.txt` pins
what the code imports.
"""
