"""The project around a notebook: dependency files, local modules, the repository root.

Looked up once per folder and cached, since a folder of notebooks shares its project; the
cache is checked against the folders' and files' modification times, so that a long-running
server sees a requirements file added or edited.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field

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


#: folder → (the folders and files its project depends on, their stamps, the project, when
#: they were last compared)
_PROJECTS: dict[str, tuple[tuple, tuple, Project, float]] = {}
#: How long a project found is trusted without looking at its files again.
RECHECK_SECONDS = 1.0


def _stamps(paths) -> tuple:
    stamps = []
    for path in paths:
        try:
            stat = os.stat(path)
            stamps.append((stat.st_mtime_ns, stat.st_size))
        except OSError:
            stamps.append(None)
    return tuple(stamps)


def project_for(folder: str) -> Project:
    """The project of a notebook in ``folder``: dependency files from there up to the repo root."""
    folder = os.path.abspath(folder)
    cached = _PROJECTS.get(folder)
    now = time.monotonic()
    if cached is not None:
        watched, stamps, project, checked = cached
        if now - checked < RECHECK_SECONDS:
            return project  # one `check` run, or one request: the files are as they were
        if _stamps(watched) == stamps:
            _PROJECTS[folder] = (watched, stamps, project, now)
            return project
    project, walked = _find_project(folder)
    if len(_PROJECTS) > 256:
        _PROJECTS.clear()
    watched = walked + project.dependency_files
    _PROJECTS[folder] = (watched, _stamps(watched), project, now)
    return project


_ENTRIES: dict[str, tuple[float, frozenset[str]]] = {}


def _entries(folder: str) -> frozenset[str]:
    """The names in ``folder`` (notebooks in sibling folders share their parents' listings)."""
    now = time.monotonic()
    cached = _ENTRIES.get(folder)
    if cached is not None and now - cached[0] < RECHECK_SECONDS:
        return cached[1]
    try:
        found = frozenset(os.listdir(folder))
    except OSError:
        found = frozenset()
    if len(_ENTRIES) > 1024:
        _ENTRIES.clear()
    _ENTRIES[folder] = (now, found)
    return found


def _find_project(folder: str) -> tuple[Project, tuple[str, ...]]:
    """The project, and the folders looked at (a file added to one changes its time)."""
    walked: list[str] = []
    files: list[str] = []
    root = None
    current = folder
    while True:
        walked.append(current)
        entries = _entries(current)
        for name in DEPENDENCY_FILES:
            if name in entries and os.path.isfile(os.path.join(current, name)):
                files.append(os.path.join(current, name))
        for entry in sorted(entries):
            if entry.startswith("requirements") and entry.endswith(".txt") and \
                    os.path.join(current, entry) not in files:
                files.append(os.path.join(current, entry))
        if ".git" in entries:
            root = current
            break
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    declared: set[str] = set()
    for path in files:
        declared |= _declared_in(path)
    return Project(folder, root, tuple(files), frozenset(declared)), tuple(walked)


def declaration_file(folder: str) -> str | None:
    """Where a fix may declare a package for a notebook in ``folder``: the nearest
    ``requirements*.txt`` of its project, else a new ``requirements.txt`` beside it when the
    project has no dependency file at all; None when it has only files nb2pipe does not edit
    (``pyproject.toml``, ``environment.yml``…)."""
    project = project_for(folder)
    texts = [f for f in project.dependency_files
             if os.path.basename(f).startswith("requirements") and f.endswith(".txt")]
    if texts:
        return texts[0]
    return None if project.dependency_files else os.path.join(os.path.abspath(folder),
                                                              "requirements.txt")


def declare(folder: str, distributions, write: bool = True) -> tuple[str | None, list[str]]:
    """Declare ``distributions`` (those the project does not declare yet) in
    :func:`declaration_file`, pinned to the installed versions: (the file, the lines added).
    Appends under a lock: notebooks fixed at once share the file. ``write=False`` only says
    what it would add (``--diff``)."""
    import fcntl
    from importlib import metadata

    project = project_for(folder)
    missing = [d for d in sorted(distributions) if not project.declares(d)]
    path = declaration_file(folder) if missing else None
    if path is None:
        return None, []

    def pinned(name: str) -> str:
        for candidate in (name, f"{name}-skinny"):  # (MLflow's client installs the skinny one)
            try:
                return f"{name}=={metadata.version(candidate)}"
            except metadata.PackageNotFoundError:
                continue
        return name

    def additions(text: str) -> list[str]:
        have = {normalise(re.split(r"[\s\[<>=!~;@]", line.strip(), maxsplit=1)[0])
                for line in text.splitlines() if line.strip() and not line.startswith("#")}
        return [pinned(name) for name in missing if normalise(name) not in have]

    if not write:
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                return path, additions(handle.read())
        except FileNotFoundError:
            return path, additions("")
    with open(path, "a+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        text = handle.read()
        added = additions(text)
        if added:
            handle.write(("" if not text or text.endswith("\n") else "\n") +
                         "\n".join(added) + "\n")
    _PROJECTS.clear()  # (the next check reads the file again)
    return path, added


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


def is_local_module(folder: str, module: str) -> bool:
    """Whether ``module`` is a module or package next to a notebook in ``folder``."""
    entries = _entries(folder)
    return module + ".py" in entries or (module in entries and
                                         os.path.isdir(os.path.join(folder, module)))
