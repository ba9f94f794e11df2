"""Target ``papermill``: one parameterised notebook per step.

Each step notebook holds, in order: a ``parameters`` cell (the step's pipeline parameters and
where its artifacts live), a set-up cell (tracking), the ``imports`` and ``functions`` cells,
a cell that loads the step's inputs, the step's own cells verbatim (magics and all), and a cell
that saves its outputs. ``nb2pipe run`` executes them with papermill; so can anyone:
``papermill papermill/train.ipynb out.ipynb -p nb2pipe_artifacts runs/x/artifacts``.
"""

from __future__ import annotations

import copy

from nb2pipe import __version__
from nb2pipe.analysis.notebook import NotebookAnalysis
from nb2pipe.notebook.model import Notebook
from nb2pipe.notebook.writer import dumps, new_code_cell, new_markdown_cell, new_notebook
from nb2pipe.pipeline.level1 import read_frames
from nb2pipe.pipeline.model import Pipeline, Step
from nb2pipe.pipeline.step_imports import step_imports
from nb2pipe.targets import Rendered

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
#: First cell of every step: nb2pipe run shares one kernel between steps, so each step starts by
#: clearing the namespace (modules stay imported). In a fresh kernel it does nothing.
RESET_SOURCE = ("# Steps may share a kernel: start from an empty namespace.\n"
                "get_ipython().run_line_magic('reset', '-f')")


class PapermillTarget:
    name = "papermill"
    description = "one parameterised papermill notebook per step"

    def render(self, pipeline: Pipeline, notebook: Notebook) -> Rendered:
        rendered = Rendered()
        raw_cells = notebook.raw.get("cells", [])
        # What the `functions` cells define is defined in every step's kernel: values that
        # refer to it may be pickled by name (what a step defines itself goes by value).
        shared = sorted(NotebookAnalysis(notebook).binds(pipeline.functions)) \
            if pipeline.functions else []
        for position, step in enumerate(pipeline.steps):
            # the step before, in the notebook's order: its random state carries over
            previous = pipeline.steps[position - 1].name if position else ""
            cells = [new_markdown_cell(_intro(pipeline, step)),
                     new_code_cell(RESET_SOURCE, metadata={"tags": ["nb2pipe-reset"]})]
            lines = ["# Parameters: papermill (and nb2pipe run) inject values after this cell."]
            lines += [f"{name} = {pipeline.parameter(name).default!r}" for name in step.parameters]
            lines += ['nb2pipe_artifacts = "artifacts"  # where steps read and write values',
                      'nb2pipe_run = ""  # set by nb2pipe run: tracking, run id']
            cells.append(new_code_cell("\n".join(lines), metadata={"tags": ["parameters"]}))
            flavours = step.autolog
            cells.append(new_code_cell(
                "import nb2pipe.runtime as _nb2pipe\n\n"
                f"_nb2pipe.start_step({step.name!r}, nb2pipe_run, autolog={flavours!r}"
                + (f",\n                     shared={shared!r}" if shared else "")
                + f",\n                     random_from={previous!r}, "
                  f"artifacts=nb2pipe_artifacts)",
                metadata={"tags": ["nb2pipe-setup"]}))
            first = step is pipeline.steps[0]
            load = "\n".join(f"{name} = _nb2pipe.load(nb2pipe_artifacts, {producer!r}, {name!r})"
                             for name, producer in sorted(step.inputs.items()))
            save = _save_lines(pipeline, notebook, step)
            used = step_imports([notebook.cells[i] for i in pipeline.imports],
                                [notebook.cells[i] for i in pipeline.functions + step.cells],
                                ["\n".join(step.imports), load, "\n".join(save)])
            for index in pipeline.imports:
                cell = _copy(raw_cells[index], index)
                cell["source"] = once_per_kernel(used.sources[index], first)
                cells.append(cell)
            if used.left_out:
                cells.append(new_code_cell(
                    "# The imports above that this step's code does not use run only if a value "
                    "read back\n# with pickle refers to a function of the notebook (its body "
                    "may use them).\n_nb2pipe.import_when_referred([\n"
                    + "".join(f"    {statement!r},\n" for statement in used.left_out) + "])",
                    metadata={"tags": ["nb2pipe-imports-left-out"]}))
            for index in pipeline.functions:
                cells.append(_copy(raw_cells[index], index))
            if step.imports:
                cells.append(new_code_cell("\n".join(step.imports),
                                           metadata={"tags": ["nb2pipe-imports"]}))
            if step.inputs:
                cells.append(new_code_cell(load, metadata={"tags": ["nb2pipe-load"]}))
            for index in step.cells:
                cells.append(_copy(raw_cells[index], index))
            cells.append(new_code_cell("\n".join(save), metadata={"tags": ["nb2pipe-save"]}))
            for number, cell in enumerate(cells):
                cell["id"] = f"{step.name[:40]}-{number:03d}"
            document = new_notebook(cells=cells, metadata={
                "kernelspec": KERNELSPEC, "language_info": {"name": "python"},
                "nb2pipe": {"pipeline": pipeline.name, "step": step.name,
                            "source_hash": pipeline.source_hash, "version": __version__}})
            rendered.files[f"papermill/{step.name}.ipynb"] = dumps(document)
        return rendered


def _save_lines(pipeline: Pipeline, notebook: Notebook, step: Step) -> list[str]:
    """The last cell of a step: save its outputs, check the frames it read, end the step."""
    save = [f"_nb2pipe.save(nb2pipe_artifacts, {step.name!r}, {name!r}, {name})"
            for name in step.outputs]
    save += [f"_nb2pipe.validate_read({step.name!r}, {name!r}, globals().get({name!r}))"
             for name in read_frames(pipeline, notebook, step)]
    model = pipeline.model
    if model and model.get("step") == step.name and model.get("name") in step.outputs:
        save.append(f"_nb2pipe.keep_model({model['name']})  # (when the run registers "
                    f"it)")
    if step.kind == "metrics":
        pairs = ", ".join(f"{name!r}: {name}" for name in step.metrics)
        save.append(f"_nb2pipe.end_step({{{pairs}}}, "
                    f"metrics_file=nb2pipe_artifacts + '/metrics.json')")
    else:
        save.append("_nb2pipe.end_step()")
    return save


def _intro(pipeline: Pipeline, step: Step) -> str:
    rows = [f"# Step `{step.name}` of the pipeline `{pipeline.name}`", "",
            f"Generated by nb2pipe {__version__} from `{pipeline.notebook}`. Edit the notebook "
            "and convert it again rather than this file.", ""]
    if step.inputs:
        rows.append("- **Inputs:** " + ", ".join(f"`{n}` from `{p}`"
                                                 for n, p in sorted(step.inputs.items())))
    if step.parameters:
        rows.append("- **Parameters:** " + ", ".join(f"`{p}`" for p in step.parameters))
    if step.outputs:
        rows.append("- **Outputs:** " + ", ".join(f"`{o}`" for o in step.outputs))
    if step.metrics:
        rows.append("- **Metrics:** " + ", ".join(f"`{m}`" for m in step.metrics))
    return "\n".join(rows)


#: Line magics that show something once (versions, the environment): the first step shows them.
_SHOW_ONCE = frozenset({"watermark", "version_information", "lsmagic", "env", "who", "whos"})


def once_per_kernel(source: str, first: bool) -> str:
    """The imports cell as every step runs it: what must happen once per kernel happens
    once (``%load_ext X`` becomes ``%reload_ext X``, which loads it when it is not loaded,
    quietly otherwise), and what only shows something (``%watermark``, ``!pip list``) is
    shown by the first step only. Steps may share one kernel."""
    lines = []
    for line in source.split("\n"):
        stripped = line.strip()
        word = stripped[1:].split(" ", 1)[0] if stripped.startswith("%") and \
            not stripped.startswith("%%") else ""
        if word == "load_ext":
            line = line.replace("%load_ext", "%reload_ext", 1)
        elif not first and (word in _SHOW_ONCE or stripped.startswith(
                ("!pip list", "!pip freeze", "!conda list", "!nvidia-smi"))):
            line = line[:len(line) - len(line.lstrip())] + f"pass  # {stripped}  " \
                "(shown by the first step)"
        lines.append(line)
    return "\n".join(lines)


def _text(source) -> str:
    return "".join(source) if isinstance(source, list) else source


def _copy(raw: dict, index: int) -> dict:
    cell = copy.deepcopy(raw)
    cell.pop("id", None)
    cell["metadata"] = dict(cell.get("metadata") or {})
    cell["metadata"]["nb2pipe"] = {"cell": index + 1}
    if cell.get("cell_type") == "code":
        cell["outputs"] = []
        cell["execution_count"] = None
    return cell
