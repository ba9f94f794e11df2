"""The notebook's pipeline as tagged now, for the panel: each code cell's step or role, and the
steps' DAG. It is what ``convert`` would build from the same tags (the same reading of the tags,
the same build), and nothing is written.

When the build finds errors (a bad tag, two unordered producers…), the steps are still drawn
from the tags, with only the ``prev:`` edges, and ``complete`` is false: the panel shows the
steps the user is tagging while the findings say what is in the way.
"""

from __future__ import annotations

from nb2pipe.notebook.model import Notebook
from nb2pipe.pipeline.build import METRICS_STEP, cell_places, is_tagged


def outline(notebook: Notebook, build) -> dict | None:
    """``{"cells", "steps", "edges", "complete"}`` of a tagged notebook, ``None`` otherwise.

    Args:
        build: ``(pipeline or None, diagnostics)``, the build of this notebook.

    ``cells``: one entry per code cell, ``{"index", "id", "step", "role", "own"}``: ``role``
    is ``step``, ``imports``, ``functions``, ``parameters``, ``metrics``, ``skip`` or ``None``
    (before the first tag); ``step`` the step it runs in (the metrics cells: the metrics
    step); ``own`` whether the cell carries that tag itself (else it joins the cell above).
    ``steps``: in the notebook's order, each ``{"name", "after", "inputs", "outputs",
    "colour"}``; ``colour`` is the step's place in the notebook (the panel's palette index),
    the same for the step's cells and its node.
    """
    if not is_tagged(notebook):
        return None
    pipeline = build[0]
    cells: list[dict] = []
    order: list[str] = []
    prev: dict[str, list[str]] = {}
    for cell, tags, place in cell_places(notebook):
        role, step = (place or (None, None))
        if role == "metrics":
            step = METRICS_STEP
        if step and step not in prev:
            order.append(step)
            prev[step] = []
        if role == "step" and tags.role == "step":
            prev[step] += [p for p in tags.prev if p in prev and p != step and p not in prev[step]]
        cells.append({"index": cell.index, "id": cell.id, "role": role, "step": step,
                      "own": tags.role is not None})
    if pipeline is not None:
        steps, edges = drawn(pipeline)
    else:
        steps = [{"name": name, "after": prev[name], "inputs": [], "outputs": [],
                  "colour": number} for number, name in enumerate(order)]
        edges = [{"source": p, "target": name, "kind": "order"}
                 for name in order for p in prev[name]]
    return {"cells": cells, "steps": steps, "edges": edges, "complete": pipeline is not None}


def drawn(pipeline) -> tuple[list[dict], list[dict]]:
    """A built pipeline's steps as the panel draws them, and its edges. The steps come in the
    notebook's order (by their first cell), except that a step never comes before one it
    runs after (the metrics cells, say, may start above the step whose score they read):
    each with its ``colour``, its place in that order, the same as in the outline of the
    notebook, so a converted pipeline's view colours each step as the chips of its cells."""
    ordered = _notebook_order(pipeline.steps)
    steps = [{"name": step.name, "after": list(step.after), "inputs": sorted(step.inputs),
              "outputs": list(step.outputs), "colour": number}
             for number, step in enumerate(ordered)]
    edges = [{"source": e.source, "target": e.target, "kind": e.kind} for e in pipeline.edges]
    return steps, edges


def _notebook_order(steps) -> list:
    """The steps by their first cell, each moved down only as far as the steps it runs after
    (a topological order; among the steps ready to run, the first in the notebook)."""
    waiting = sorted(steps, key=lambda step: (min(step.cells, default=1 << 30), step.name))
    placed: list = []
    names: set[str] = set()
    while waiting:
        ready = next((step for step in waiting if set(step.after) <= names), waiting[0])
        waiting.remove(ready)
        placed.append(ready)
        names.add(ready.name)
    return placed
