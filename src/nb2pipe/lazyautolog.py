"""scikit-learn's autologging set up as scikit-learn's modules are imported, in a step's kernel.

MLflow's ``mlflow.sklearn.autolog()`` patches the fit, predict and score methods of every
estimator class scikit-learn has. To find them it imports every module of scikit-learn
(``sklearn.utils.all_estimators()``: 146 modules more than a notebook that fits a random
forest imports, pytest among them when it is installed) and patches some 700 methods: 0.4 s
of imports in every tracked step that fits, on this machine, where the fit often takes less.

Here each class is patched by MLflow's own function, with the arguments MLflow's
``autolog()`` patched the first classes with, when the module that defines it is imported:
the classes already imported at once, the others by an import hook on ``sklearn.*`` modules,
before any code can reach them. Which classes MLflow patches is MLflow's answer
(``mlflow.sklearn._gen_estimators_to_patch()``), computed the usual way the first time and kept
in nb2pipe's cache folder for the environment it was computed in (:mod:`nb2pipe.packagemap`'s
key: the same Python, and every installed distribution's metadata folder unchanged).

Sound before fast: MLflow's own way stays wherever this cannot follow it: no cached answer
(it is computed then), a class the cache cannot name again (``module.qualname``), an MLflow
whose functions are not the ones this was written against, a loader whose ``exec_module``
cannot be wrapped (every class left is then patched at once, as MLflow does). When MLflow's
own loop over the classes stops half-way (an error it keeps quiet), nothing is patched later:
MLflow's set-up stays as MLflow left it. A later
``autolog()`` call (the notebook's own, or the next step's) replaces MLflow's configuration:
the hook then stops, as MLflow has just patched every class itself.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import os
import sys

#: The arguments of ``_patch_estimator_method_if_available`` this was written against.
_PATCH_PARAMETERS = ("flavor_name", "class_def", "func_name", "patched_fn", "manage_run",
                     "extra_tags")


@contextlib.contextmanager
def estimators_as_imported(flavours):
    """Around ``autolog_frameworks(mlflow, flavours)``: when ``sklearn`` is one of them, its
    autologging patches the classes imported so far, and the others as they are imported."""
    flavour = _sklearn_flavour() if "sklearn" in flavours else None
    if flavour is None:
        yield
        return
    known = _read(cache_path())
    if known is None:
        with _remembered(flavour):
            yield
        return
    pending: dict = {}
    calls: dict[str, tuple] = {}  # method → MLflow's arguments for it, in MLflow's order
    given: list = []  # the classes MLflow's loop was given, and those it patched
    patched: set[int] = set()
    original_list = flavour._gen_estimators_to_patch
    original_patch = flavour._patch_estimator_method_if_available

    def estimators_now():
        from mlflow.sklearn.utils import _get_meta_estimators_for_autologging

        _get_meta_estimators_for_autologging()  # (imports what MLflow's own list imports first)
        now, later = _split(known)
        if not now:  # nothing to take MLflow's arguments from: MLflow's own list
            return original_list()
        pending.update(later)
        given[:] = now
        return now

    def recording(flavor_name, class_def, func_name, patched_fn, manage_run, extra_tags=None):
        calls.setdefault(func_name, (flavor_name, patched_fn, manage_run, extra_tags))
        done = original_patch(flavor_name, class_def, func_name, patched_fn, manage_run,
                              extra_tags=extra_tags)
        patched.add(id(class_def))
        return done

    flavour._gen_estimators_to_patch = estimators_now
    flavour._patch_estimator_method_if_available = recording
    try:
        yield
    finally:
        flavour._gen_estimators_to_patch = original_list
        flavour._patch_estimator_method_if_available = original_patch
    config = _config()
    if not pending or not config or config.get("disable"):
        return
    if not calls or any(id(cls) not in patched for cls in given):
        return  # MLflow's loop stopped before the end (it would have with its own list too)
    hook = _Hook(pending, calls, config, original_patch)
    hook.install()
    hook.patch_ready()


def _sklearn_flavour():
    """``mlflow.sklearn`` when its functions are the ones this was written against."""
    import inspect

    try:
        import mlflow.sklearn as flavour
        from mlflow.utils.autologging_utils import AUTOLOGGING_INTEGRATIONS  # noqa: F401
    except Exception:
        return None
    patch = getattr(flavour, "_patch_estimator_method_if_available", None)
    if not callable(getattr(flavour, "_gen_estimators_to_patch", None)) or not callable(patch):
        return None
    try:
        if tuple(inspect.signature(patch).parameters) != _PATCH_PARAMETERS:
            return None
    except (TypeError, ValueError):
        return None
    return flavour


def _config():
    from mlflow.utils.autologging_utils import AUTOLOGGING_INTEGRATIONS

    return AUTOLOGGING_INTEGRATIONS.get("sklearn")


@contextlib.contextmanager
def _remembered(flavour):
    """MLflow's own autologging, its list of classes kept for the next time."""
    original = flavour._gen_estimators_to_patch
    made: list = []

    def listing():
        classes = original()
        made[:] = classes
        return classes

    flavour._gen_estimators_to_patch = listing
    try:
        yield
    finally:
        flavour._gen_estimators_to_patch = original
    if made:
        names = [[c.__module__, c.__qualname__] for c in made]
        if all(_resolve(module, name) is cls for (module, name), cls in zip(names, made)):
            from nb2pipe.packagemap import write_whole

            write_whole(cache_path(), names)


def _resolve(module_name: str, qualname: str):
    """The class ``module_name.qualname`` if its module is imported and defines it now."""
    value = sys.modules.get(module_name)
    for part in qualname.split("."):
        if value is None:
            return None
        value = getattr(value, part, None)
    return value if isinstance(value, type) else None


def _split(known) -> tuple[list, dict]:
    """The known classes imported already, and the others by ``(module, qualname)``."""
    now, later = [], {}
    for module_name, qualname in known:
        found = _resolve(module_name, qualname)
        if found is None:
            later[(module_name, qualname)] = True
        else:
            now.append(found)
    return now, later


class _Hook(importlib.abc.MetaPathFinder):
    """Patches the classes left as ``sklearn.*`` modules finish executing."""

    def __init__(self, pending: dict, calls: dict, config: dict, patch) -> None:
        self.pending = pending
        self.calls = calls
        self.config = config
        self.patch = patch

    def install(self) -> None:
        sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _Hook)]
        sys.meta_path.insert(0, self)

    def retire(self) -> None:
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(self)

    def current(self) -> bool:
        """Still MLflow's configuration of the set-up (no ``autolog()`` call since)."""
        return bool(self.pending) and _config() is self.config

    def find_spec(self, fullname, path, target=None):
        if fullname != "sklearn" and not fullname.startswith("sklearn."):
            return None
        if not self.current():
            self.retire()
            return None
        spec = None
        for finder in list(sys.meta_path):
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec = find(fullname, path, target)
            if spec is not None:
                break
        if spec is None:
            return None
        loader = spec.loader
        execute = getattr(loader, "exec_module", None)
        if execute is None:
            self.patch_all()
            return spec
        if getattr(execute, "nb2pipe", False):
            return spec

        def exec_module(module):
            execute(module)
            self.patch_ready()

        exec_module.nb2pipe = True
        try:
            loader.exec_module = exec_module  # this module's loader only
        except (AttributeError, TypeError):
            self.patch_all()
        return spec

    def patch_ready(self) -> None:
        if not self.current():
            return
        for key in list(self.pending):
            found = _resolve(*key)
            if found is not None and self.pending.pop(key, None):
                self._patch(found)
        if not self.pending:
            self.retire()

    def patch_all(self) -> None:
        """Every class left, at once (imports their modules, as MLflow's own list does)."""
        import importlib

        if not self.current():
            return
        for module_name, _ in list(self.pending):
            with contextlib.suppress(Exception):
                importlib.import_module(module_name)
        self.patch_ready()

    def _patch(self, cls) -> None:
        for func_name, (flavor_name, patched_fn, manage_run, extra_tags) in self.calls.items():
            self.patch(flavor_name, cls, func_name, patched_fn, manage_run,
                       extra_tags=extra_tags)


def cache_path() -> str:
    """The cache file of this environment's list of the classes MLflow patches."""
    import mlflow

    from nb2pipe.packagemap import environment_key, template_folder

    return os.path.join(template_folder(), f"mlflow-{mlflow.__version__}-sklearn-estimators-"
                                           f"{environment_key()[:20]}.json")


def _read(path: str) -> list | None:
    from nb2pipe.packagemap import read_json

    value = read_json(path)
    if not isinstance(value, list) or not value or not all(
            isinstance(v, list) and len(v) == 2 and all(isinstance(p, str) for p in v)
            for v in value):
        return None
    return value
