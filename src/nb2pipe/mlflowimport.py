"""MLflow imported and set up for autologging in a step's kernel, at less cost and with the
same effect.

Two costs of ``import mlflow`` and of its set-up are cut here:

- **Packages autologging never reaches.** ``import mlflow`` imports every part of MLflow, among
  them ``mlflow.genai`` (evaluation of language models: its judges, scorers and labelling,
  some hundred pydantic models) and ``mlflow.gateway`` (the AI gateway's server, through
  FastAPI): 0.2-0.3 s of the 0.45 s ``import mlflow`` took in a step's kernel. Around the
  import (:func:`deferred`) each is made as the import system makes it (its ``__spec__``,
  ``__path__``, ``__file__``: its submodules import as usual), but its ``__init__`` runs only
  when a name the package does not have yet is asked for: ``from mlflow.genai import
  evaluate``, ``mlflow.genai.evaluate(…)``, ``from mlflow.genai import *`` (``__all__``). It
  then runs in full, once, and the name is answered as it would have been. What MLflow's own
  modules import from these packages' submodules (its dataset source registry imports
  ``mlflow.genai.datasets.…``) imports as it always did.
- **The installed distributions, read seven times.** MLflow's registries (tracking stores,
  artifact repositories, dataset sources, run context providers…) each ask
  ``importlib.metadata.entry_points`` for their group while MLflow is imported, and each ask
  reads the entry points of every installed distribution again: 20 ms each here, on one core.
  While MLflow is set up (:func:`entry_points_read_once`) they are read once and every group
  is selected from that reading, as ``entry_points`` itself selects it.

Sound before fast: a package is deferred only when its ``__init__`` does nothing but import and
name (a docstring, ``import``, ``from … import`` and ``__all__``: read with :mod:`ast` when it is
found), so that deferring it defers imports and nothing else; else, and for a package
imported already, or one not loaded from a source file, it is imported as usual. The entry
points are read again by every ask after the set-up, also through a name bound to the
function during it (something installed later is found). Limits: the submodules a deferred
``__init__`` would have imported are not imported until then, so an import-time effect of
theirs (a registration) happens later, when the package is first asked; and ``dir()`` of the
package lists only what it has so far.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.abc
import importlib.machinery
import sys
import threading


#: Parts of MLflow that ``import mlflow`` imports and autologging never reaches (language
#: models' evaluation, the AI gateway's server).
MLFLOW_BESIDE_AUTOLOGGING = ("mlflow.genai", "mlflow.gateway")


def import_mlflow():
    """``import mlflow`` for autologging in a step: its GenAI and gateway packages run when
    first used."""
    with deferred(MLFLOW_BESIDE_AUTOLOGGING):
        import mlflow
    return mlflow


@contextlib.contextmanager
def entry_points_read_once():
    """While this lasts, ``importlib.metadata.entry_points`` reads the installed
    distributions once and answers every selection from that reading."""
    import importlib.metadata

    original = importlib.metadata.entry_points
    state: dict = {"open": True}
    lock = threading.Lock()

    def entry_points(**selection):
        if not state["open"]:
            return original(**selection)
        with lock:
            if "all" not in state:
                state["all"] = original()
        return state["all"].select(**selection)

    importlib.metadata.entry_points = entry_points
    try:
        yield
    finally:
        state["open"] = False
        if importlib.metadata.entry_points is entry_points:
            importlib.metadata.entry_points = original


@contextlib.contextmanager
def deferred(names):
    """While this lasts, an import of a package in ``names`` defers its ``__init__``."""
    finder = _Finder(names)
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(finder)


class _Finder(importlib.abc.MetaPathFinder):
    def __init__(self, names) -> None:
        self.names = set(names)

    def find_spec(self, fullname, path, target=None):
        if fullname not in self.names:
            return None
        self.names.discard(fullname)  # (once: the usual finders answer from here on)
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or not spec.submodule_search_locations or \
                not isinstance(spec.loader, importlib.machinery.SourceFileLoader) or \
                not _only_imports(spec.loader, fullname):
            return spec
        spec.loader = _DeferringLoader(spec.loader)
        return spec


def _only_imports(loader, fullname: str) -> bool:
    """Does the package's ``__init__`` only import and name (docstring, imports,
    ``__all__``)?"""
    try:
        tree = ast.parse(loader.get_source(fullname) or "")
    except (ImportError, OSError, SyntaxError, ValueError):
        return False
    for statement in tree.body:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant) \
                and isinstance(statement.value.value, str):
            continue  # a docstring
        targets = statement.targets if isinstance(statement, ast.Assign) else \
            [statement.target] if isinstance(statement, ast.AnnAssign) else None
        if targets and statement.value is not None and _literal(statement.value) and all(
                isinstance(target, ast.Name) and target.id == "__all__" for target in targets):
            continue
        return False
    return True


def _literal(value) -> bool:
    try:
        ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


class _DeferringLoader(importlib.abc.Loader):
    """Makes the package as the source loader would, and runs its code on the first name
    asked of it that it lacks (a module ``__getattr__``, PEP 562)."""

    def __init__(self, loader) -> None:
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        loader = self.loader
        lock = threading.RLock()
        state = {"running": False}

        def __getattr__(name):
            with lock:
                if not state["running"] and module.__dict__.get("__getattr__") is __getattr__:
                    state["running"] = True  # (a name asked while it runs is missing, as usual)
                    try:
                        loader.exec_module(module)
                    finally:
                        if module.__dict__.get("__getattr__") is __getattr__:
                            del module.__dict__["__getattr__"]
                try:
                    return module.__dict__[name]
                except KeyError:
                    pass
                later = module.__dict__.get("__getattr__")  # the package's own, if it has one
                if later is not None and later is not __getattr__:
                    return later(name)
                raise AttributeError(f"module {module.__name__!r} has no attribute {name!r}")

        module.__getattr__ = __getattr__
