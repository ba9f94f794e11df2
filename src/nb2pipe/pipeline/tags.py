"""The tag grammar: Kale's, plus papermill's ``parameters``.

Cell tags (``metadata.tags``): ``imports``, ``functions``, ``pipeline-parameters`` (alias
``parameters``), ``pipeline-metrics`` (alias ``metrics``), ``skip``, ``step:NAME`` (Kale's older
``block:NAME`` too), ``prev:NAME``, and per-step settings ``image:IMAGE``, ``limit:RES:QTY``,
``label:KEY:VALUE``, ``annotation:KEY:VALUE``, ``cache:enabled|disabled``, ``retry:N``,
``secret:NAME:KEY:ENV``, ``report:enabled|disabled`` (the step's HTML report); and
``gate:CONDITION`` (on any cell: a condition of the model gate, :mod:`.gate`). Step names
follow Kale: lower case letters, digits and ``_``, not starting with a digit. Tags of other tools (``hide-input``, ``raises-exception``…) are left
alone; a tag that looks like a pipeline tag but is not one (``stpe:train``, ``prev:``) is an
NB401 problem.
"""

from __future__ import annotations

import difflib
import keyword
import re
from dataclasses import dataclass, field

ROLE_TAGS = {
    "imports": "imports", "functions": "functions",
    "pipeline-parameters": "parameters", "parameters": "parameters",
    "pipeline-metrics": "metrics", "metrics": "metrics", "skip": "skip",
}
STEP_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
SETTING_PREFIXES = ("image", "limit", "label", "annotation", "cache", "retry", "secret",
                    "report")
PREFIXES = ("step", "block", "prev", "gate") + SETTING_PREFIXES
_K8S_KEY = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?(/[A-Za-z0-9]([A-Za-z0-9._-]*"
                      r"[A-Za-z0-9])?)?$")
_RESOURCE = re.compile(r"^[a-z][a-z0-9./-]*$")
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?([a-zA-Z]{1,2}i?)?$")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: Names a step may not take: roles, and names that would shadow the generated modules.
RESERVED = frozenset(ROLE_TAGS) | {"common", "pipeline", "nb2pipe", "main", "runtime"}


@dataclass(frozen=True)
class TagProblem:
    """A tag nb2pipe cannot use, with how to fix it."""

    tag: str
    message: str
    hint: str


@dataclass
class CellTags:
    """What a cell's tags say about its place in the pipeline."""

    role: str | None = None  # imports, functions, parameters, metrics, skip, step
    step: str | None = None
    prev: list[str] = field(default_factory=list)
    settings: dict = field(default_factory=dict)
    gate: list[str] = field(default_factory=list)  # conditions of the model gate
    problems: list[TagProblem] = field(default_factory=list)

    @property
    def is_pipeline_cell(self) -> bool:
        return self.role is not None or bool(self.settings) or bool(self.prev)


def parse_tags(tags: tuple[str, ...] | list[str]) -> CellTags:
    """Parse one cell's tags."""
    result = CellTags()
    steps: list[str] = []
    for tag in tags:
        tag = tag.strip()
        if tag in ROLE_TAGS:
            role = ROLE_TAGS[tag]
            if result.role not in (None, role) and result.role != "step":
                result.problems.append(TagProblem(
                    tag, f"`{tag}` conflicts with this cell's other role tag",
                    "give each cell one of imports, functions, pipeline-parameters, "
                    "pipeline-metrics, skip or step:NAME"))
            if result.role is None or role == "skip":
                result.role = role
            continue
        prefix, colon, rest = tag.partition(":")
        if not colon:
            close = difflib.get_close_matches(tag, list(ROLE_TAGS), n=1, cutoff=0.8)
            if close:
                result.problems.append(TagProblem(tag, f"unknown pipeline tag `{tag}`",
                                                  f"did you mean `{close[0]}`?"))
            continue
        if prefix in ("step", "block"):
            if not rest:
                continue  # Kale's UI may leave an empty `step:`; it means nothing
            if not STEP_NAME.match(rest):
                result.problems.append(TagProblem(
                    tag, f"`{rest}` is not a valid step name",
                    "use lower case letters, digits and `_`, not starting with a digit "
                    f"(e.g. `step:{_suggest_name(rest)}`)"))
            elif rest in RESERVED or keyword.iskeyword(rest):
                result.problems.append(TagProblem(
                    tag, f"`{rest}` cannot name a step (it is reserved)",
                    f"rename the step, e.g. `step:{rest}_step`"))
            # A bad name is still this cell's step: the cells after it (and their `prev:`)
            # are checked as the author meant them, without errors that only follow from it.
            steps.append(rest)
        elif prefix == "prev":
            if not rest or not STEP_NAME.match(rest):
                result.problems.append(TagProblem(
                    tag, f"`{tag}` does not name a step", "write `prev:NAME` with a step "
                    "defined above this cell"))
                continue
            result.prev.append(rest)
        elif prefix == "gate":
            from nb2pipe.pipeline.gate import GateError, parse

            try:
                parse(rest)
            except GateError as error:
                result.problems.append(TagProblem(tag, str(error), "see docs/tags.md"))
                continue
            result.gate.append(rest.strip())
        elif prefix == "notebook":
            result.problems.append(TagProblem(
                tag, f"Kale's sub-pipeline tag `{tag}` is not supported",
                "convert that notebook into its own pipeline and run the two in order (or "
                "copy its cells into this notebook as steps)"))
        elif prefix in SETTING_PREFIXES:
            problem = _setting(prefix, rest, result.settings)
            if problem:
                result.problems.append(TagProblem(tag, problem[0], problem[1]))
        else:
            close = difflib.get_close_matches(prefix, PREFIXES, n=1, cutoff=0.75)
            if close:
                result.problems.append(TagProblem(
                    tag, f"unknown pipeline tag `{tag}`", f"did you mean `{close[0]}:{rest}`?"))
    if len(set(steps)) > 1:
        result.problems.append(TagProblem(
            " ".join(f"step:{s}" for s in steps), f"one cell is tagged with {len(set(steps))} "
            f"steps ({', '.join(sorted(set(steps)))})", "a cell belongs to one step: split it"))
    if steps:
        if result.role not in (None, "step"):
            result.problems.append(TagProblem(
                f"step:{steps[0]}", f"a `{result.role}` cell cannot also be step "
                f"`{steps[0]}`", "remove one of the two tags"))
        else:
            result.role, result.step = "step", steps[0]
    if (result.prev or result.settings) and result.role != "step":
        first = f"prev:{result.prev[0]}" if result.prev else next(iter(result.settings))
        result.problems.append(TagProblem(
            first, "`prev:` and per-step settings need a `step:NAME` tag on the same cell",
            "add `step:NAME` to the cell"))
    return result


def _setting(prefix: str, rest: str, settings: dict) -> tuple[str, str] | None:
    if prefix == "image":
        if not rest or " " in rest:
            return "`image:` needs an image reference", "e.g. `image:python:3.11-slim`"
        settings["image"] = rest
    elif prefix == "limit":
        resource, _, quantity = rest.partition(":")
        if not _RESOURCE.match(resource) or not _QUANTITY.match(quantity):
            return (f"`limit:{rest}` is not `limit:RESOURCE:QUANTITY`",
                    "e.g. `limit:memory:4Gi`, `limit:cpu:2`, `limit:nvidia.com/gpu:1`")
        settings.setdefault("limits", {})[resource] = quantity
    elif prefix in ("label", "annotation"):
        key, colon, value = rest.partition(":")
        if not colon or not _K8S_KEY.match(key):
            return (f"`{prefix}:{rest}` is not `{prefix}:KEY:VALUE` with a Kubernetes key",
                    f"e.g. `{prefix}:team:ml`")
        settings.setdefault(prefix + "s", {})[key] = value
    elif prefix == "cache":
        if rest not in ("enabled", "disabled"):
            return f"`cache:{rest}` must be `cache:enabled` or `cache:disabled`", ""
        settings["cache"] = rest == "enabled"
    elif prefix == "report":
        if rest not in ("enabled", "disabled"):
            return f"`report:{rest}` must be `report:enabled` or `report:disabled`", ""
        settings["report"] = rest == "enabled"
    elif prefix == "retry":
        if not rest.isdigit() or not 0 <= int(rest) <= 100:
            return f"`retry:{rest}` must be a number of retries", "e.g. `retry:3`"
        settings["retry"] = int(rest)
    elif prefix == "secret":
        parts = rest.split(":")
        if len(parts) != 3 or not all(parts) or not _K8S_KEY.match(parts[0]) or \
                not _ENV.match(parts[2]):
            return (f"`secret:{rest}` is not `secret:NAME:KEY:ENV`",
                    "e.g. `secret:db-credentials:password:DB_PASSWORD`")
        settings.setdefault("secrets", []).append(
            {"secret": parts[0], "key": parts[1], "env": parts[2]})
    return None


def _suggest_name(text: str) -> str:
    import unicodedata

    # accents dropped (`données` → `donnees`), anything else not allowed → `_`
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    name = re.sub(r"[^a-z0-9_]+", "_", plain.lower()).strip("_") or "step"
    return "_" + name if name[0].isdigit() else name
