"""Folder rules (NB7xx): what the project around a folder of notebooks lacks.

They run when `nb2pipe check` is given a folder, once per folder, after its notebooks are
checked; for a folder of several git repositories, once per repository
(:func:`project_folders`). Their findings belong to the folder (``path`` is the folder, no
cell).

Their examples are small trees of files, written as text::

    # file: notebooks/train.ipynb
    # %%
    model.fit(X, y)
    # file: requirements.txt
    numpy==2.1.0
    # file: data/big.csv size=20MB
    # git

``# file: PATH`` starts a file (``.ipynb`` files are ``# %%`` notebooks; ``size=`` makes a file of
that size); ``# git`` makes the tree a git repository with every file committed.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

#: Folders never looked into for tests, CI files or data.
SKIPPED = frozenset({".git", ".hg", ".svn", ".venv", "venv", "env", "node_modules",
                     ".ipynb_checkpoints", "__pycache__", ".tox", ".nox", ".mypy_cache",
                     ".pytest_cache", ".nb2pipe_cache", "site-packages", ".cache"})


@dataclass
class FolderContext:
    """What a folder rule sees: the folder, its notebooks, and the project around it."""

    folder: str  # as given on the command line
    notebooks: list[str] = field(default_factory=list)
    training: list[str] = field(default_factory=list)  # notebooks that fit a model

    @property
    def path(self) -> str:
        return self.folder

    @property
    def project(self):
        from nb2pipe.lint.project import project_for

        return project_for(self.folder)

    @property
    def root(self) -> str:
        """The repository root when the folder is in one, else the folder itself."""
        return self.project.root or os.path.abspath(self.folder)

    def walk(self, top: str | None = None, depth: int = 6):
        """``(folder, files)`` under ``top`` (default: the root), skipping environments,
        caches and version-control folders, at most ``depth`` levels down."""
        top = top or self.root
        start = top.rstrip(os.sep).count(os.sep)
        for folder, folders, files in os.walk(top):
            if folder.count(os.sep) - start >= depth:
                folders[:] = []
            folders[:] = [f for f in folders if f not in SKIPPED and not f.endswith(".egg-info")]
            yield folder, files


def project_folders(folder: str, notebooks: list[str]) -> list[tuple[str, tuple[str, ...]]]:
    """Where the folder rules run for ``folder`` given on the command line, as ``(folder,
    subfolders left out)``: the folder itself when it is inside one git repository or holds
    none; otherwise each repository under it that holds some of ``notebooks`` (a folder of
    cloned projects: each has its own requirements and CI), and the folder itself for the
    notebooks outside them."""
    from nb2pipe.lint.project import project_for

    if project_for(folder).root:
        return [(folder, ())]
    repositories = []
    start = os.path.abspath(folder).count(os.sep)
    for current, folders, files in os.walk(folder):
        if current != folder and (".git" in folders or ".git" in files):
            repositories.append(current)
            folders[:] = []  # (a repository's own sub-repositories belong to it)
            continue
        if os.path.abspath(current).count(os.sep) - start >= 6:
            folders[:] = []
        folders[:] = [f for f in folders if f not in SKIPPED]
    if not repositories:
        return [(folder, ())]

    def inside(path: str, top: str) -> bool:
        return os.path.abspath(path).startswith(os.path.abspath(top) + os.sep)

    found = [(r, ()) for r in sorted(repositories) if any(inside(n, r) for n in notebooks)]
    if any(not any(inside(n, r) for r in repositories) for n in notebooks):
        found.insert(0, (folder, tuple(repositories)))
    return found


def tracked_files(root: str) -> list[str] | None:
    """The files git tracks under ``root`` (relative paths), or None outside a repository."""
    if not os.path.exists(os.path.join(root, ".git")):
        return None
    try:
        done = subprocess.run(["git", "-C", root, "ls-files", "-z"], capture_output=True,
                              timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return [p for p in done.stdout.decode("utf-8", "replace").split("\0") if p]


def lfs_files(root: str, paths: list[str]) -> set[str]:
    """Those of ``paths`` that ``.gitattributes`` puts in Git LFS (``filter=lfs``)."""
    if not paths:
        return set()
    try:
        done = subprocess.run(["git", "-C", root, "check-attr", "-z", "filter", "--stdin"],
                              input="\0".join(paths).encode() + b"\0", capture_output=True,
                              timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return set()
    parts = done.stdout.decode("utf-8", "replace").split("\0")
    return {parts[i] for i in range(0, len(parts) - 2, 3) if parts[i + 2] == "lfs"}


# -- examples ---------------------------------------------------------------------------------

_SIZE = re.compile(r"^(\d+)\s*(KB|MB|GB)?$", re.IGNORECASE)


def write_example(text: str, into: Path) -> Path:
    """Write an example tree (the format in this module's docstring) under ``into``."""
    import json

    from nb2pipe.notebook.reader import notebook_from_percent

    files: list[tuple[str, dict, list[str]]] = []
    git = False
    for line in text.splitlines():
        if line.startswith("# file: "):
            name, *options = line[len("# file: "):].split()
            files.append((name, dict(o.split("=", 1) for o in options), []))
        elif line.strip() == "# git":
            git = True
        elif files:
            files[-1][2].append(line)
    for name, options, lines in files:
        path = into / name
        path.parent.mkdir(parents=True, exist_ok=True)
        body = "\n".join(lines) + ("\n" if lines else "")
        if name.endswith(".ipynb"):
            path.write_text(json.dumps(notebook_from_percent(body, str(path)).raw))
        elif "size" in options:
            number, unit = _SIZE.match(options["size"]).groups()
            scale = {"KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3}.get((unit or "").upper(), 1)
            with open(path, "wb") as handle:
                handle.write(b"x,y\n1,2\n")
                handle.truncate(int(number) * scale)
        else:
            path.write_text(body)
    if git:
        environment = dict(os.environ, GIT_AUTHOR_NAME="nb2pipe", GIT_AUTHOR_EMAIL="e@x",
                           GIT_COMMITTER_NAME="nb2pipe", GIT_COMMITTER_EMAIL="e@x")
        for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "example"]):
            subprocess.run(["git", "-C", str(into), *command], check=True, env=environment,
                           capture_output=True)
    return into
