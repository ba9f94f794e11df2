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
  modules import from these packages' submodules while MLflow is imported (its dataset source
  registry imports ``mlflow.genai.datasets.…``) imports as it always did. After the set-up, a
  package still unrun is out of ``sys.modules``: an import of it or of any of its submodules
  (MLflow's SQLAlchemy store imports ``mlflow.genai.scorers.…``) imports it as Python does,
  its ``__init__`` first and in its order (a submodule imported first, under an unrun
  package, met a circular import that order avoids).
- **The installed distributions, read seven times.** MLflow's registries (tracking stores,
  artifact repositories, dataset sources, run context providers…) each ask
  ``importlib.metadata.entry_points`` for their group while MLflow is imported, and each ask
  reads the entry points of every installed distribution again: 20 ms each here, on one core.
  While MLflow is set up (:func:`entry_points_read_once`) they are read once and every group
  is selected from that reading, as ``entry_points`` itself selects it.

Sound before fast: a package is deferred only when its ``__init__`` does nothing but import and
name (a docstring, ``import``, ``from … import`` and ``__all__``: read with :mod:`ast` when it is
found), so that deferring it defers imports and nothing else; else, and for a package
imported already, or one not loaded from a source file, it is imported as usual; and when
``import mlflow`` fails with them deferred, MLflow is imported again as usual. The entry
points are read again by every ask after the set-up, also through a name bound to the
function during it (something installed later is found). Limits: the submodules a deferred
``__init__`` would have imported are not imported until then, so an import-time effect of
theirs (a registration) happens later, when the package is first used; ``dir()`` of the
package lists only what it has so far; and until then ``sys.modules`` does not hold it (the
parent's attribute does).
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
    return import_deferring("mlflow", MLFLOW_BESIDE_AUTOLOGGING)


def import_deferring(name: str, beside):
    """The package ``name``, imported with the packages ``beside`` deferred; imported as usual
    when that import fails (one of them was needed as it loaded)."""
    import importlib

    before = set(sys.modules)
    try:
        with deferred(beside):
            return importlib.import_module(name)
    except Exception:
        sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _Finder)]
        for module in set(sys.modules) - before:
            if module == name or module.startswith(name + "."):
                del sys.modules[module]
        return importlib.import_module(name)


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
    """While this lasts, an import of a package in ``names`` defers its ``__init__``.

    A package still unrun when it ends leaves ``sys.modules`` (the parent keeps it as an
    attribute, and the finder stays until every such package has run): any later import of it
    or of one of its submodules then imports it as Python does, its ``__init__`` first, in
    the order its ``__init__`` gives. (A submodule imported first, under a package whose
    ``__init__`` had not run, may find a circular import the usual order does not: MLflow's
    SQLAlchemy store, opened after the set-up, failed so on ``mlflow.genai.scorers``.)"""
    finder = _Finder(names)
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        finder.names.clear()
        for loader in list(finder.loaders.values()):
            loader.leave_modules()
        if not finder.pending():
            with contextlib.suppress(ValueError):
                sys.meta_path.remove(finder)


class _Finder(importlib.abc.MetaPathFinder):
    def __init__(self, names) -> None:
        self.names = set(names)
        self.loaders: dict[str, _DeferringLoader] = {}

    def pending(self) -> list:
        return [loader for loader in self.loaders.values() if loader.out]

    def find_spec(self, fullname, path, target=None):
        loader = self.loaders.get(fullname)
        if loader is not None and loader.out:  # asked again after the set-up: run it now
            return loader.resumed_spec(self)
        if fullname not in self.names:
            return None
        self.names.discard(fullname)  # (once: the usual finders answer from here on)
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or not spec.submodule_search_locations or \
                not isinstance(spec.loader, importlib.machinery.SourceFileLoader) or \
                not _only_imports(spec.loader, fullname):
            return spec
        spec.loader = self.loaders[fullname] = _DeferringLoader(spec.loader, fullname)
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
    asked of it that it lacks (a module ``__getattr__``, PEP 562), or when it is imported
    again after leaving ``sys.modules``."""

    def __init__(self, loader, name: str) -> None:
        self.loader, self.name = loader, name
        self.module = None
        self.ran = False
        self.out = False  # (left sys.modules unrun: the next import runs it)
        self.lock = threading.RLock()

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        self.module = module

        def __getattr__(name):
            if self.out:  # through the import system, as any later import of it
                importlib.import_module(self.name)
            else:
                self.run()
            try:
                return module.__dict__[name]
            except KeyError:
                pass
            later = module.__dict__.get("__getattr__")  # the package's own, if it has one
            if later is not None and later is not __getattr__:
                return later(name)
            raise AttributeError(f"module {module.__name__!r} has no attribute {name!r}")

        module.__getattr__ = __getattr__
        self.own_getattr = __getattr__

    def run(self) -> None:
        """The package's ``__init__``, once (a name asked while it runs is missing, as
        usual)."""
        with self.lock:
            if self.ran:
                return
            self.ran = True
            module = self.module
            if module.__dict__.get("__getattr__") is self.own_getattr:
                del module.__dict__["__getattr__"]
            try:
                self.loader.exec_module(module)
            except BaseException:  # as a failed import: tried again when asked again
                self.ran = False
                module.__dict__.setdefault("__getattr__", self.own_getattr)
                raise

    def leave_modules(self) -> None:
        with self.lock:
            if not self.ran and self.module is not None and \
                    sys.modules.get(self.name) is self.module:
                del sys.modules[self.name]
                self.out = True

    def resumed_spec(self, finder):
        """The spec that imports the package again: the same module, its ``__init__`` run."""
        original = self.module.__spec__
        spec = importlib.machinery.ModuleSpec(self.name, _Resuming(self, finder),
                                              origin=original.origin, is_package=True)
        spec.submodule_search_locations = original.submodule_search_locations
        spec.cached, spec.has_location = original.cached, original.has_location
        return spec


class _Resuming(importlib.abc.Loader):
    def __init__(self, deferring: _DeferringLoader, finder: _Finder) -> None:
        self.deferring, self.finder = deferring, finder

    def create_module(self, spec):
        return self.deferring.module

    def exec_module(self, module) -> None:
        deferring, finder = self.deferring, self.finder
        deferring.out = False
        try:
            deferring.run()
        except BaseException:  # out of sys.modules again (the import system took it out)
            deferring.out = True
            raise
        finally:
            if not finder.pending():
                with contextlib.suppress(ValueError):
                    sys.meta_path.remove(finder)
