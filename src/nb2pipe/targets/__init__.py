"""Targets: what ``nb2pipe convert`` writes, one module per target behind one small protocol.

A target turns a pipeline (and the notebook it came from) into files, in memory; the caller
writes them. Targets are found through the ``nb2pipe.targets`` entry point group, so other
packages can add their own; the built-in ones are always there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from nb2pipe.notebook.model import Notebook
from nb2pipe.pipeline.model import Pipeline


@dataclass
class Rendered:
    """A target's files (relative path → text) and the warnings it has for the user."""

    files: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


class Target(Protocol):
    name: str
    description: str

    def render(self, pipeline: Pipeline, notebook: Notebook) -> Rendered: ...


_BUILTIN = {
    "components": "nb2pipe.targets.components:ComponentsTarget",
    "papermill": "nb2pipe.targets.papermill:PapermillTarget",
    "project": "nb2pipe.targets.project:ProjectTarget",
    "kfp": "nb2pipe.targets.kfp:KfpTarget",
    "airflow": "nb2pipe.targets.airflow:AirflowTarget",
}
DEFAULT_TARGETS = ("components", "papermill", "project", "kfp")


def _load(reference: str):
    import importlib

    module, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module), attribute)()


def available() -> dict[str, str]:
    """Target name → ``module:Class``, built-in ones first, then entry points."""
    targets = dict(_BUILTIN)
    from nb2pipe.analysis.installed import entry_points

    for name, value in entry_points("nb2pipe.targets"):
        targets.setdefault(name, value)
    return targets


class UnknownTarget(KeyError):
    """A target name nb2pipe does not know (a KeyError, as it always was)."""


def get(name: str) -> Target:
    """The target called ``name``.

    Raises:
        UnknownTarget: no such target; the message lists the known ones.
    """
    targets = available()
    if name not in targets:
        import difflib

        close = difflib.get_close_matches(name, list(targets), n=1)
        hint = f"; did you mean `{close[0]}`?" if close else ""
        raise UnknownTarget(f"unknown target `{name}`{hint} "
                            f"(known: {', '.join(sorted(targets))})")
    return _load(targets[name])
