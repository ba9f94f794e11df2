"""Python modules that live beside the notebook (``preamble.py``, ``utils/``) and that it
imports, directly or through each other: a pipeline carries them with it (issue K).

On a cluster a component runs in a fresh container, far from the notebook's folder; a module
that sat beside the notebook is only importable there if the component brings it. They are
never third-party packages, so they never go into ``requirements.txt``.
"""

from __future__ import annotations

import ast
import os

#: A local module larger than this is not embedded (a component is a text in the YAML).
MAX_BYTES = 2 * 1024 * 1024


def module_files(folder: str, module: str) -> list[str]:
    """The files of ``module`` (a top-level name) in ``folder``, relative to it: ``name.py``,
    or every ``.py`` of the package ``name/``. Empty when it is not there."""
    single = os.path.join(folder, module + ".py")
    if os.path.isfile(single):
        return [module + ".py"]
    package = os.path.join(folder, module)
    if not os.path.isfile(os.path.join(package, "__init__.py")):
        return []
    found = []
    for root, dirs, files in os.walk(package):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__pycache__")))
        found += [os.path.relpath(os.path.join(root, f), folder)
                  for f in sorted(files) if f.endswith(".py")]
    return found


def local_modules(folder: str, imported: set[str]) -> dict[str, str]:
    """Relative path → source of every local module among ``imported`` (top-level module
    names) and of the local modules those import in turn, in ``folder``."""
    shipped: dict[str, str] = {}
    waiting = sorted(imported)
    seen: set[str] = set()
    while waiting:
        module = waiting.pop()
        if module in seen or not module:
            continue
        seen.add(module)
        for relative in module_files(folder, module):
            path = os.path.join(folder, relative)
            try:
                if os.path.getsize(path) > MAX_BYTES:
                    continue
                with open(path, encoding="utf-8") as handle:
                    source = handle.read()
            except (OSError, UnicodeDecodeError):
                continue
            shipped[relative.replace(os.sep, "/")] = source
            waiting += sorted(_imports(source) - seen)
    return dict(sorted(shipped.items()))


def local_module_names(paths: dict[str, str] | list[str]) -> list[str]:
    """The top-level module names of shipped files (``utils/io.py`` → ``utils``)."""
    return sorted({path.split("/")[0].removesuffix(".py") for path in paths})


def module_imports(source: str) -> set[str]:
    """The top-level modules a module's source imports (anywhere in it)."""
    return _imports(source)


def _imports(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.partition(".")[0])
    return names
