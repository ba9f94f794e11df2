"""The level 0 → level 1 checklist.

Two lists, because a notebook alone cannot be at level 1:

- **Ready for a pipeline** (:data:`ITEMS`), made from a notebook's diagnostics: runs top to
  bottom, reproducible, parameterised, pipeline-ready, tracked, no secrets. A notebook that
  meets them all is "ready for level 1"; it is still at level 0.
- **Level 1** (:data:`LEVEL1_ITEMS`), read from a converted pipeline folder and its runs, each
  from the maturity model that asks for it: an automated pipeline and metadata (Google's
  level 1, "ML pipeline automation"), data validation and model validation (Google), a model
  registry (Microsoft's level of automated training), pipeline triggers (Google). A folder
  meeting them all is at level 1.

Each item names what holds it back and what clears it. Reading a folder's runs costs JSON
reads, not MLflow: ``check`` stays light.
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
    source: str = ""  # the maturity model that asks for it (level-1 items)


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
                "source": self.item.source,
                "diagnostics": dict(sorted(self.codes.items())), "fixable": self.fixable,
                "note": self.note}


@dataclass
class Maturity:
    path: str
    items: list[ItemStatus]
    kind: str = "notebook"  # or "pipeline": a converted folder, with the level-1 items

    @property
    def ready(self) -> bool:
        """Every item met: a notebook is then ready for level 1; a pipeline is at level 1."""
        return all(s.met for s in self.items)

    @property
    def level(self) -> int:
        return 1 if self.kind == "pipeline" and self.ready else 0

    @property
    def stage(self) -> str:
        if self.level == 1:
            return "level 1"
        return "level 0, ready for level 1" if self.ready and self.kind == "notebook" else \
            "level 0"

    @property
    def met(self) -> int:
        return sum(s.met for s in self.items)

    def to_dict(self) -> dict:
        return {"path": self.path, "kind": self.kind, "level": self.level,
                "ready": self.ready, "stage": self.stage, "met": self.met,
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


#: What level 1 adds to a pipeline, and which maturity model asks for it.
LEVEL1_ITEMS = (
    Item("automated-pipeline", "Automated pipeline",
         "the notebook is a pipeline of steps that runs unattended, and a run of it succeeded",
         "`nb2pipe convert NOTEBOOK -o DIR`, then `nb2pipe run DIR`",
         "Google, level 1: ML pipeline automation"),
    Item("data-validation", "Data validation",
         "every frame between steps is checked against a reviewed baseline (schema, drift)",
         "run the pipeline once (its first successful run records DIR/validation/), review "
         "and commit the baselines; keep validation on",
         "Google, level 1: data validation"),
    Item("model-validation", "Model gate",
         "a trained model must meet conditions before it is promoted",
         "declare the gate: `nb2pipe convert … --gate \"accuracy>=0.9\"` or a `gate:` tag "
         "(docs/level1.md)",
         "Google, level 1: model validation"),
    Item("model-registry", "Model registry",
         "models are versioned in a registry, with a champion and a previous version",
         "run the pipeline with tracking on: a model that passes the gate is registered in "
         "MLflow's Model Registry",
         "Microsoft, level 2 (automated training): model management"),
    Item("metadata", "Lineage and metadata",
         "each run records its data hashes, code, parameters and commit",
         "`nb2pipe run DIR` records them in run.json and MLflow",
         "Google, level 1: metadata management"),
    Item("triggers", "Pipeline trigger",
         "new data or code starts a run, not a person",
         "schedule `nb2pipe run DIR --if-changed` (cron, CI) or `nb2pipe submit DIR "
         "--schedule`; docs/run.md shows both",
         "Google, level 1: pipeline triggers"),
)


def assess_pipeline(folder: str) -> Maturity:
    """The level-1 checklist of a converted pipeline folder, from ``pipeline.json``, its
    ``validation/`` baselines and its runs' records."""
    import os

    from nb2pipe.pipeline.model import Pipeline

    with open(os.path.join(folder, "pipeline.json"), encoding="utf-8") as handle:
        pipeline = Pipeline.from_json(handle.read())
    runs = _runs(os.path.join(folder, "runs"))
    succeeded = [r for r in runs if r.get("status") == "succeeded"]
    baselines = os.path.join(folder, "validation")
    has_baselines = os.path.isdir(baselines) and any(
        name.endswith(".profile.json") for name in os.listdir(baselines))
    validating = (pipeline.validation or {}).get("enabled", True)
    registered = [r for r in runs if (r.get("gate") or {}).get("registered")]
    trigger = find_trigger(folder)
    checks = {
        "automated-pipeline": (bool(succeeded), None if succeeded else
                               "no successful run yet" if runs else "never run"),
        "data-validation": (validating and has_baselines, None if has_baselines else
                            "no baselines in validation/ yet" if validating else
                            "validation is off"),
        "model-validation": (bool(pipeline.gate) and bool(pipeline.model),
                             None if pipeline.gate and pipeline.model else
                             "no trained model found" if not pipeline.model else
                             "no gate conditions"),
        "model-registry": (bool(registered), None if registered else
                           "no version registered yet"),
        "metadata": (any(r.get("lineage") for r in succeeded), None if any(
            r.get("lineage") for r in succeeded) else "no run with lineage yet"),
        "triggers": (trigger is not None, f"{trigger}" if trigger else
                     "nothing schedules `nb2pipe run --if-changed`"),
    }
    statuses = []
    for item in LEVEL1_ITEMS:
        met, note = checks[item.key]
        statuses.append(ItemStatus(item, met, Counter(), 0, note))
    return Maturity(folder, statuses, kind="pipeline")


def _runs(runs_dir: str) -> list[dict]:
    import json
    import os

    found = []
    if not os.path.isdir(runs_dir):
        return found
    for name in sorted(os.listdir(runs_dir)):
        try:
            with open(os.path.join(runs_dir, name, "run.json"), encoding="utf-8") as handle:
                found.append(json.load(handle))
        except (OSError, ValueError):
            continue
    return found


#: Files that schedule work: CI workflows, crontabs, Airflow DAGs.
_SCHEDULERS = (".github/workflows", ".gitlab-ci.yml", ".circleci", "Jenkinsfile",
               "azure-pipelines.yml", "crontab", "dags")


def find_trigger(folder: str) -> str | None:
    """A file in the pipeline's project that *runs* ``nb2pipe run DIR --if-changed`` or
    ``nb2pipe submit DIR --schedule`` for this folder (searched from the folder up to the
    repository's root), as a path; ``None`` when there is none. What counts is a command that
    runs: a workflow step's ``run:`` (with its ``working-directory`` and any ``cd``), a
    crontab entry, a string in an Airflow DAG; comments and other folders do not."""
    import os

    target = os.path.realpath(folder)
    own = _scheduled_dag(folder)
    if own:
        return own
    current = os.path.abspath(folder)
    while True:
        for name in _SCHEDULERS:
            path = os.path.join(current, name)
            for candidate in _files(path):
                try:
                    with open(candidate, encoding="utf-8", errors="replace") as handle:
                        text = handle.read(200_000)
                except OSError:
                    continue
                for where, command in _commands(candidate, text, current):
                    if _triggers(command, where, target):
                        return os.path.relpath(candidate)
        if os.path.exists(os.path.join(current, ".git")):
            return None
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def _scheduled_dag(folder: str) -> str | None:
    """The pipeline's own Airflow DAG (``convert --target airflow``: ``airflow/*.py``) when it
    runs on a schedule or on its data files' assets (``@dag(schedule=…)``, not ``None``)."""
    import ast
    import os

    for path in sorted(_files(os.path.join(folder, "airflow"))):
        if not path.endswith(".py"):
            continue
        try:
            with open(path, encoding="utf-8") as handle:
                tree = ast.parse(handle.read())
        except (OSError, SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "dag":
                schedule = next((k.value for k in node.keywords if k.arg == "schedule"), None)
                if schedule is not None and not (isinstance(schedule, ast.Constant) and
                                                 schedule.value is None):
                    return os.path.relpath(path)
    return None


def _commands(path: str, text: str, root: str) -> list[tuple[str, str]]:
    """The shell commands a scheduler file runs, each with the folder it starts in."""
    import os
    import re

    found: list[tuple[str, str]] = []
    if path.endswith(".py"):  # an Airflow DAG: the strings it hands to operators
        import ast

        try:
            tree = ast.parse(text)
        except SyntaxError:
            return []
        return [(root, node.value) for node in ast.walk(tree)
                if isinstance(node, ast.Constant) and isinstance(node.value, str)]
    if "crontab" in os.path.basename(path) or path.endswith(".cron"):
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#") or "=" in line.split(" ", 1)[0]:
                continue
            # `@daily COMMAND`, or five time fields then the command
            fields = line.split(None, 1 if line.startswith("@") else 5)
            command = fields[-1] if len(fields) in (2, 6) else ""
            found.append((os.path.expanduser("~"), command))
        return found
    # YAML workflows: each step's `run:` (GitHub), `script:` (GitLab, Azure), `bash:`, with
    # the step's `working-directory`
    try:
        import yaml

        document = yaml.safe_load(text)
    except Exception:  # no PyYAML here, or a file it cannot read: read the lines
        document = None
    if document is not None:
        stack = [document]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                start = os.path.join(root, str(node.get("working-directory") or ""))
                for key in ("run", "script", "bash", "command"):
                    value = node.get(key)
                    for item in value if isinstance(value, list) else [value]:
                        if isinstance(item, str):
                            found.append((start, item))
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)
        return found
    lines = text.splitlines()
    for number, line in enumerate(lines):
        match = re.match(r"^(\s*)(-\s*)?run:\s*(.*)$", line)
        if not match or line.lstrip().startswith("#"):
            continue
        indent = len(match.group(1)) + len(match.group(2) or "")
        value = match.group(3).strip()
        if value[:1] in ("|", ">"):
            block = []
            for following in lines[number + 1:]:
                if following.strip() and len(following) - len(following.lstrip()) <= indent:
                    break
                block.append(following.strip())
            value = "\n".join(block)
        elif value[:1] in ("'", '"') and value[-1:] == value[:1]:
            value = value[1:-1]
        start = root
        for other in lines[max(0, number - 8):number + 9]:
            directory = re.match(r"^\s*(-\s*)?working-directory:\s*['\"]?([^'\"#]+)", other)
            if directory:
                start = os.path.join(root, directory.group(2).strip())
        found.append((start, value))
    return found


def _triggers(command: str, start: str, target: str) -> bool:
    """Whether ``command`` (run from ``start``) runs ``nb2pipe run TARGET --if-changed`` or
    ``nb2pipe submit TARGET --schedule``, following ``cd`` between its parts."""
    import os
    import re
    import shlex

    here = start
    for part in re.split(r"&&|;|\n|\|\|", command):
        part = part.split(" #", 1)[0].strip()
        if not part or part.startswith("#"):
            continue
        try:
            words = shlex.split(part)
        except ValueError:
            continue
        if words[:1] == ["cd"] and len(words) > 1:
            here = os.path.join(here, os.path.expanduser(words[1]))
            continue
        if "nb2pipe" in words:
            words = words[words.index("nb2pipe") + 1:]
        elif words[:3] in (["python", "-m", "nb2pipe"], ["python3", "-m", "nb2pipe"]):
            words = words[3:]
        else:
            continue
        verb, rest = (words[0], words[1:]) if words else ("", [])
        flag = {"run": "--if-changed", "submit": "--schedule"}.get(verb)
        paths = [w for w in rest if not w.startswith("-")]
        if flag and any(w == flag or w.startswith(flag + "=") for w in rest) and paths and \
                os.path.realpath(os.path.join(here, paths[0])) == target:
            return True
    return False


def _files(path: str) -> list[str]:
    import os

    if os.path.isfile(path):
        return [path]
    if os.path.isdir(path):
        return [os.path.join(root, name) for root, _, names in os.walk(path)
                for name in sorted(names)][:200]
    return []
