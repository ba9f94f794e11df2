"""The level 0 → level 1 checklist, made from the diagnostics.

Each item names the diagnostics that hold it back and what clears it. A notebook is at level 1
when every item is met.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from nb2pipe.diagnostic import Diagnostic
from nb2pipe.lint.registry import RULES


@dataclass(frozen=True)
class Item:
    key: str
    title: str
    meaning: str
    clears: str


ITEMS = (
    Item("runs-top-to-bottom", "Runs top to bottom",
         "a fresh kernel can run every cell in order",
         "restart the kernel and run all cells; move or restore the cells NB105/NB106 name"),
    Item("reproducible", "Reproducible",
         "seeds set, dependencies pinned and declared, no machine-specific paths",
         "`nb2pipe check --fix` seeds generators and pins installs; declare packages in "
         "requirements.txt; make paths relative to a DATA_DIR parameter"),
    Item("parameterised", "Parameterised",
         "inputs and settings live in a `parameters` cell and can be changed per run",
         "`nb2pipe check --fix` adds a parameters cell; `--fix --unsafe-fixes` also moves "
         "hyperparameters into it"),
    Item("pipeline-ready", "Pipeline-ready",
         "cells tagged as steps whose inputs and outputs nb2pipe can resolve",
         "`nb2pipe convert --auto NOTEBOOK` proposes steps (or tag cells `step:NAME` by hand, "
         "docs/tags.md), then `nb2pipe convert NOTEBOOK -o DIR`"),
    Item("tracked", "Tracked",
         "parameters, metrics and models are logged to an experiment tracker",
         "`nb2pipe convert` injects MLflow tracking; or `nb2pipe check --fix --unsafe-fixes` "
         "adds `mlflow.autolog()`"),
    Item("no-secrets", "No secrets",
         "no keys, tokens or passwords in code or outputs",
         "`nb2pipe check --fix` moves literals to environment variables; clear outputs"),
)


@dataclass
class ItemStatus:
    item: Item
    met: bool
    codes: Counter
    fixable: int
    note: str | None = None

    def to_dict(self) -> dict:
        return {"key": self.item.key, "title": self.item.title, "met": self.met,
                "meaning": self.item.meaning, "clears": self.item.clears,
                "diagnostics": dict(sorted(self.codes.items())), "fixable": self.fixable,
                "note": self.note}


@dataclass
class Maturity:
    path: str
    items: list[ItemStatus]

    @property
    def level(self) -> int:
        return 1 if all(s.met for s in self.items) else 0

    @property
    def met(self) -> int:
        return sum(s.met for s in self.items)

    def to_dict(self) -> dict:
        return {"path": self.path, "level": self.level, "met": self.met,
                "total": len(self.items), "items": [s.to_dict() for s in self.items]}


def assess(path: str, diagnostics: list[Diagnostic], has_steps: bool = False) -> Maturity:
    """The checklist for one notebook from its diagnostics."""
    by_item: dict[str, list[Diagnostic]] = {item.key: [] for item in ITEMS}
    for diagnostic in diagnostics:
        rule = RULES.get(diagnostic.code)
        if rule is not None and rule.category in by_item:
            by_item[rule.category].append(diagnostic)
    statuses = []
    broken = any(d.code in ("NB901", "NB903") for d in diagnostics)
    for item in ITEMS:
        found = by_item[item.key]
        codes = Counter(d.code for d in found)
        fixable = sum(1 for d in found if d.fix)
        met = not found and not broken
        note = None
        if item.key == "pipeline-ready" and not has_steps and not broken:
            met = False
            note = "no cell is tagged `step:NAME` yet"
        statuses.append(ItemStatus(item, met, codes, fixable, note))
    return Maturity(path, statuses)


def has_step_tags(notebook) -> bool:
    return notebook is not None and any(t.startswith("step:") for c in notebook.cells
                                        for t in c.tags)
