"""The project around a notebook: dependency files, local modules, the repository root.

Looked up once per folder and cached, since a folder of notebooks shares its project.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import lru_cache

DEPENDENCY_FILES = ("requirements.txt", "requirements-dev.txt", "requirements.in",
                    "pyproject.toml", "environment.yml", "environment.yaml", "setup.py",
                    "setup.cfg", "Pipfile", "Pipfile.lock", "poetry.lock", "uv.lock",
                    "conda-lock.yml", "pixi.toml")
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass(frozen=True)
class Project:
    """What nb2pipe knows of the folders around a notebook."""

    folder: str
    root: str | None  # the repository root (a folder with .git), if any
    dependency_files: tuple[str, ...] = ()
    declared: frozenset[str] = field(default_factory=frozenset)  # normalised names

    def declares(self, distribution: str) -> bool:
        return normalise(distribution) in self.declared


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@lru_cache(maxsize=256)
def project_for(folder: str) -> Project:
    """The project of a notebook in ``folder``: dependency files from there up to the repo root."""
    folder = os.path.abspath(folder)
    files: list[str] = []
    root = None
    current = folder
    while True:
        for name in DEPENDENCY_FILES:
            path = os.path.join(current, name)
            if os.path.isfile(path):
                files.append(path)
        try:
            entries = os.listdir(current)
        except OSError:
            entries = []
        for entry in entries:
            if entry.startswith("requirements") and entry.endswith(".txt") and \
                    os.path.join(current, entry) not in files:
                files.append(os.path.join(current, entry))
        if os.path.exists(os.path.join(current, ".git")):
            root = current
            break
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    declared: set[str] = set()
    for path in files:
        declared |= _declared_in(path)
    return Project(folder, root, tuple(files), frozenset(declared))


def _declared_in(path: str) -> set[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read(2_000_000)
    except OSError:
        return set()
    name = os.path.basename(path)
    names: set[str] = set()
    if name.endswith(".toml") or name in ("Pipfile",):
        names |= _from_toml(text)
    elif name.endswith((".yml", ".yaml")):
        for line in text.splitlines():
            stripped = line.strip()
            if stripped.startswith("- "):
                spec = stripped[2:].strip().strip("'\"")
                match = _REQUIREMENT.match(spec.split("::")[-1])
                if match:
                    names.add(normalise(match.group(1)))
    elif name.endswith(".lock"):
        for match in re.finditer(r'^\s*(?:name\s*=\s*"|"|)([A-Za-z0-9][\w.-]*)"?\s*[=:]', text,
                                 re.MULTILINE):
            names.add(normalise(match.group(1)))
    else:  # requirements files, setup.py, setup.cfg: one spec per line or quoted specs
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip().strip("'\",")
            if not line or line.startswith("-"):
                continue
            match = _REQUIREMENT.match(line)
            if match:
                names.add(normalise(match.group(1)))
        for match in re.finditer(r"['\"]([A-Za-z0-9][\w.-]*)\s*(?:\[[^\]]*\])?\s*[<>=!~;'\"]",
                                 text):
            names.add(normalise(match.group(1)))
    return names


def _from_toml(text: str) -> set[str]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        data = tomllib.loads(text)
    except Exception:
        return set()
    specs: list[str] = []
    project = data.get("project", {})
    specs += project.get("dependencies", []) or []
    for group in (project.get("optional-dependencies", {}) or {}).values():
        specs += group
    for group in (data.get("dependency-groups", {}) or {}).values():
        specs += [s for s in group if isinstance(s, str)]
    poetry = data.get("tool", {}).get("poetry", {})
    names = {normalise(n) for n in poetry.get("dependencies", {})}
    for group in (poetry.get("group", {}) or {}).values():
        names |= {normalise(n) for n in group.get("dependencies", {})}
    for section in ("packages", "dev-packages"):
        names |= {normalise(n) for n in data.get(section, {})}
    names |= {normalise(n) for n in data.get("dependencies", {}) if isinstance(n, str)}
    for spec in specs:
        if isinstance(spec, str):
            match = _REQUIREMENT.match(spec)
            if match:
                names.add(normalise(match.group(1)))
    return names


@lru_cache(maxsize=4096)
def is_local_module(folder: str, module: str) -> bool:
    base = os.path.join(folder, module)
    return os.path.isfile(base + ".py") or os.path.isdir(base)
