"""What generated pipelines call at run time: passing values between steps, and tracking.

Values cross step boundaries as files in the run's artifact folder, written by a serializer
chosen by the value's type (a registry; the first that accepts the value wins):

| value | format | file |
|---|---|---|
| pandas DataFrame / Series | parquet (pickle when pyarrow is absent) | ``.parquet`` / ``.pkl`` |
| numpy array | ``.npy`` | ``.npy`` |
| JSON-able scalars, lists, dicts | JSON | ``.json`` |
| functions, classes and their instances defined in a step (or values that hold them) | cloudpickle, by value | ``.pkl`` |
| anything else (scikit-learn models, …) | joblib, else pickle | ``.joblib`` / ``.pkl`` |

Pickle writes a function or class of the notebook as a reference (``__main__.clean``) that only
a kernel that ran the same definition can resolve: the steps that share the ``functions``
cells can, the others cannot. So what a step itself defines goes by value, with cloudpickle.

Every artifact gets a ``NAME.meta.json`` beside it recording its format and type. A value no
serializer can write (an open file, a generator, a lock) raises :class:`ArtifactError`, naming
the step and the variable. This module imports nothing heavy until a value needs it.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_STEP: dict[str, Any] = {}


class ArtifactError(RuntimeError):
    """A value that cannot be passed to the next step."""

    def __init__(self, step: str, name: str, reason: str) -> None:
        super().__init__(f"step `{step}` cannot pass `{name}` to the next step: {reason}. "
                         f"Pass what it holds (a path, the data read from it) instead, or do "
                         f"the work in one step.")
        self.step, self.name, self.reason = step, name, reason


@dataclass(frozen=True)
class Serializer:
    format: str
    extension: str
    accepts: Callable[[Any], bool]
    save: Callable[[Any, str], None]
    load: Callable[[str], Any]


def _module_of(value: Any) -> str:
    return type(value).__module__.partition(".")[0]


def _is_pandas(value: Any) -> bool:
    return _module_of(value) == "pandas" and type(value).__name__ in ("DataFrame", "Series")


def _has_pyarrow() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


_SERIES = "__nb2pipe_series__"


def _save_parquet(value: Any, path: str) -> None:
    original = value
    if type(value).__name__ == "Series":  # a one-column frame; the column keeps the name
        name = "" if value.name is None else str(value.name)
        value = value.to_frame(name=f"{_SERIES}{name}")
    value.to_parquet(path)
    # Parquet cannot keep every pandas type (integer-coded categories, some extension
    # types, non-string column names, attrs…): what it would change goes by pickle instead
    # (the next serializer), never silently changed.
    change = _parquet_change(original, _load_parquet(path))
    if change:
        raise ValueError(f"parquet would change it ({change})")


def _parquet_change(before: Any, after: Any) -> str | None:
    """What a round trip through parquet changed, or ``None``."""
    if type(before) is not type(after):
        return f"{type(before).__name__} came back as {type(after).__name__}"
    if type(before).__name__ == "Series":
        if before.dtype != after.dtype or str(before.dtype) != str(after.dtype):
            return f"dtype {before.dtype} came back as {after.dtype}"
        if before.name != after.name:
            return f"name {before.name!r} came back as {after.name!r}"
    else:
        if not before.columns.equals(after.columns) or \
                type(before.columns) is not type(after.columns) or \
                list(before.columns.names) != list(after.columns.names) or \
                before.columns.dtype != after.columns.dtype:
            return "the column labels changed"
        for column, dtype in zip(range(before.shape[1]), before.dtypes):
            other = after.dtypes.iloc[column]
            if dtype != other or str(dtype) != str(other):
                return f"column {before.columns[column]!r}: dtype {dtype} came back as {other}"
    index, other = before.index, after.index
    if type(index) is not type(other) or list(index.names) != list(other.names) or \
            index.dtype != other.dtype or str(index.dtype) != str(other.dtype):
        return f"the index ({type(index).__name__} {index.dtype}) came back as " \
               f"{type(other).__name__} {other.dtype}"
    if before.attrs != after.attrs:
        return "its attrs were lost"
    if not before.equals(after):
        return "its values changed"
    return None


def _load_parquet(path: str) -> Any:
    import pandas

    frame = pandas.read_parquet(path)
    if len(frame.columns) == 1 and str(frame.columns[0]).startswith(_SERIES):
        series = frame.iloc[:, 0]
        series.name = str(frame.columns[0])[len(_SERIES):] or None
        return series
    return frame


def _is_json(value: Any, depth: int = 0) -> bool:
    if depth > 20:
        return False
    if value is None or type(value) in (bool, int, str):
        return True
    if type(value) is float:
        return value == value and value not in (float("inf"), float("-inf"))
    if type(value) is list:
        return len(value) <= 10_000 and all(_is_json(v, depth + 1) for v in value)
    if type(value) is dict:
        return len(value) <= 10_000 and all(type(k) is str and _is_json(v, depth + 1)
                                            for k, v in value.items())
    return False


def _save_json(value: Any, path: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(value, handle)


def _load_json(path: str) -> Any:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _save_npy(value: Any, path: str) -> None:
    import numpy

    numpy.save(path, value, allow_pickle=value.dtype == object)


def _load_npy(path: str) -> Any:
    import numpy

    return numpy.load(path, allow_pickle=True)


def _save_joblib(value: Any, path: str) -> None:
    import joblib

    joblib.dump(value, path)


def _load_joblib(path: str) -> Any:
    import joblib

    return joblib.load(path)


def _save_pickle(value: Any, path: str) -> None:
    with open(path, "wb") as handle:
        pickle.dump(value, handle)


def _save_cloudpickle(value: Any, path: str) -> None:
    try:
        import cloudpickle
    except ImportError:
        raise ImportError("it holds a function or class defined in this step, which needs "
                          "cloudpickle (pip install cloudpickle), or move the definition to "
                          "a cell tagged `functions`") from None
    with open(path, "wb") as handle:
        cloudpickle.dump(value, handle)


def by_value(value: Any, shared=frozenset(), budget: int = 5_000) -> bool:
    """Whether ``value`` is, or holds, a function or class that this step's kernel defined
    and the other steps' kernels do not: one of the notebook (module ``__main__``) that is
    not in ``shared`` (what the ``functions`` cells define), or one local to a function (as
    all are in a Kubeflow component). Pickle would write a reference to it that the next step
    cannot resolve. Looks through lists, tuples, sets, dicts, objects' attributes, bound
    methods and partials: ``budget`` objects at most. (Self-contained: the Kubeflow target
    inlines it into every component.)"""
    stack, seen = [value], set()
    while stack and budget:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        budget -= 1
        code = hasattr(item, "__code__")
        defines = item if isinstance(item, type) or code else type(item)
        module = getattr(defines, "__module__", None)
        qualname = getattr(defines, "__qualname__", "") or ""
        if "<locals>" in qualname or module == "__main__" and \
                qualname.partition(".")[0] not in shared:
            return True
        if isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(list(item)[:1000])
        elif isinstance(item, dict):
            stack.extend(list(item.values())[:1000])
        elif not isinstance(item, type) and not code:
            attributes = getattr(item, "__dict__", None)
            if isinstance(attributes, dict):
                stack.extend(list(attributes.values())[:1000])
            if callable(item):  # a bound method's function and object; a partial's parts
                stack.extend(part for part in (getattr(item, name, None) for name in (
                    "__func__", "__self__", "func", "args", "keywords")) if part is not None)
    return False


def _by_value(value: Any) -> bool:
    return by_value(value, _STEP.get("shared", frozenset()))


def _load_pickle(path: str) -> Any:
    with open(path, "rb") as handle:
        return pickle.load(handle)


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


SERIALIZERS: list[Serializer] = [
    Serializer("parquet", ".parquet", lambda v: _is_pandas(v) and _has_pyarrow(),
               _save_parquet, _load_parquet),
    Serializer("pandas-pickle", ".pkl", _is_pandas, lambda v, p: v.to_pickle(p),
               lambda p: __import__("pandas").read_pickle(p)),
    Serializer("npy", ".npy", lambda v: _module_of(v) == "numpy" and
               type(v).__name__ == "ndarray", _save_npy, _load_npy),
    Serializer("json", ".json", _is_json, _save_json, _load_json),
    Serializer("cloudpickle", ".pkl", _by_value, _save_cloudpickle, _load_pickle),
    Serializer("joblib", ".joblib", lambda v: _has("joblib") and not _by_value(v),
               _save_joblib, _load_joblib),
    Serializer("pickle", ".pkl", lambda v: not _by_value(v), _save_pickle, _load_pickle),
]


def register(serializer: Serializer, first: bool = True) -> None:
    """Add a serializer (tried before the built-in ones unless ``first`` is false)."""
    if first:
        SERIALIZERS.insert(0, serializer)
    else:
        SERIALIZERS.insert(len(SERIALIZERS) - 1, serializer)


def get(format_name: str) -> Serializer:
    for serializer in SERIALIZERS:
        if serializer.format == format_name:
            return serializer
    raise KeyError(f"no serializer for format `{format_name}`; known: "
                   f"{', '.join(s.format for s in SERIALIZERS)}")


_UNPASSABLE = {"TextIOWrapper": "an open file", "BufferedReader": "an open file",
               "BufferedWriter": "an open file", "generator": "a generator",
               "lock": "a lock", "RLock": "a lock", "socket": "a socket",
               "Connection": "a connection", "Engine": "a database engine",
               "coroutine": "a coroutine", "module": "a module"}


def save(folder: str, step: str, name: str, value: Any) -> dict:
    """Write ``value`` as the artifact ``name`` of ``step``; return its record."""
    kind = type(value).__name__
    if kind in _UNPASSABLE:
        raise ArtifactError(step, name, f"it is {_UNPASSABLE[kind]} ({type(value).__module__}."
                                        f"{kind})")
    target = os.path.join(folder, step)
    os.makedirs(target, exist_ok=True)
    errors = []
    for serializer in SERIALIZERS:
        try:
            if not serializer.accepts(value):
                continue
        except Exception:  # an accepts() that chokes on an exotic value: try the next one
            continue
        path = os.path.join(target, name + serializer.extension)
        try:
            serializer.save(value, path)
        except Exception as error:  # the next serializer may manage
            errors.append(f"{serializer.format}: {type(error).__name__}: {error}")
            if os.path.exists(path):
                os.unlink(path)
            continue
        record = {"name": name, "step": step, "format": serializer.format,
                  "file": os.path.basename(path),
                  "type": f"{type(value).__module__}.{type(value).__qualname__}"}
        if errors:  # why the formats tried first were not used
            record["not"] = errors
        with open(os.path.join(target, name + ".meta.json"), "w", encoding="utf-8") as handle:
            json.dump(record, handle, indent=1, sort_keys=True)
        _validate(step, name, value)
        return record
    raise ArtifactError(step, name, "no serializer could write it (" + "; ".join(errors) + ")")


def _validate(step: str, name: str, value: Any) -> None:
    """Check a frame against its baseline when ``nb2pipe run`` asks for it (the step then
    fails with :class:`nb2pipe.validation.DataValidationError`: its consumers never run)."""
    settings = _STEP.get("validation")
    if not settings or _STEP.get("name") != step:
        return
    from nb2pipe.validation import ValidationSettings, is_frame, validate_value

    if is_frame(value):
        validate_value(step, name, value, ValidationSettings.from_dict(settings))


def validate_read(step: str, name: str, value: Any) -> None:
    """Check a frame the step read from a data file (and does not pass on) against its
    baseline, as :func:`save` does for the frames it passes on; nothing when ``value`` is no
    frame (or no longer there)."""
    if value is not None:
        _validate(step, name, value)


def load(folder: str, step: str, name: str) -> Any:
    """Read the artifact ``name`` that ``step`` wrote."""
    meta = os.path.join(folder, step, name + ".meta.json")
    try:
        with open(meta, encoding="utf-8") as handle:
            record = json.load(handle)
    except FileNotFoundError:
        raise FileNotFoundError(f"step `{step}` did not write `{name}` ({meta} is missing): "
                                f"did it run, and does it still define `{name}`?") from None
    return get(record["format"]).load(os.path.join(folder, step, record["file"]))


# -- inside a step's kernel -------------------------------------------------------------------

def start_step(step: str, run: str = "", autolog: list[str] | tuple[str, ...] = (),
               shared: list[str] | tuple[str, ...] = (), random_from: str = "",
               artifacts: str = "") -> None:
    """Called first in each step notebook: start the step's tracking run, if there is one.

    Args:
        step: the step's name.
        run: JSON from ``nb2pipe run``: ``{"tracking": {"uri": …, "run_id": …},
            "validation": {…}}`` (the frames' baselines: :mod:`nb2pipe.validation`).
        autolog: MLflow flavours to autolog (the frameworks the step imports).
        shared: the names the ``functions`` cells define (every step's kernel defines them
            too: values that refer to them can be pickled by reference).
        random_from: the step before this one in the notebook's order: its random state
            (Python's and NumPy's global generators, as it left them) is restored here, so
            that draws continue as they did in the notebook's one kernel.
        artifacts: the run's artifacts folder (where random states are kept).
    """
    _settle_heap()
    _STEP.clear()
    _LEFT_OUT.clear()  # (an earlier step of this kernel left some imports out)
    _STEP["name"] = step
    _STEP["artifacts"] = artifacts
    if random_from and artifacts:
        _restore_random_state(os.path.join(artifacts, random_from, _RANDOM_STATE))
    _STEP["random_in"] = _random_states()  # (did the step draw? the step cache asks)
    _STEP["shared"] = frozenset(shared)
    info = json.loads(run) if run else {}
    _STEP["validation"] = info.get("validation")
    _STEP["model"] = info.get("model")  # (the run registers the model this step trains)
    if info.get("cwd") and os.path.isdir(info["cwd"]):
        os.chdir(info["cwd"])  # an earlier step in the same kernel may have changed it
    tracking = (info.get("tracking") or {}).get(step) or {}
    if info.get("io"):  # the step cache wants to know what the step reads
        from nb2pipe import stepio

        stepio.start(info["io"]["record"], info["io"]["run"], tracking.get("uri"))
    _end_open_runs()  # an earlier step of this kernel that failed left its run open
    if not tracking.get("run_id") or not autolog:
        return  # nb2pipe run logs the rest itself: only autologging needs MLflow in here
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from nb2pipe.lazyautolog import estimators_as_imported
    from nb2pipe.mlflowimport import entry_points_read_once, import_mlflow

    with _no_collections(), entry_points_read_once():
        mlflow = import_mlflow()
        uri = tracking["uri"]
        if tracking.get("buffer"):  # the runner logs what autologging makes: no store here
            from nb2pipe.autologbuffer import buffer_uri, register

            if register():
                uri = buffer_uri(tracking["buffer"], tracking["run_id"],
                                 str(tracking.get("experiment_id") or "0"),
                                 tracking.get("artifact_uri") or "")
        mlflow.set_tracking_uri(uri)
        mlflow.start_run(run_id=tracking["run_id"])
        _STEP["mlflow"] = True
        with estimators_as_imported(autolog):
            autolog_frameworks(mlflow, autolog)
        _keep_inline_figures()
    _settle_heap()


@contextlib.contextmanager
def _no_collections():
    """No garbage collection while MLflow is imported and autologging set up: what they make
    lives as long as the kernel, and each of the collections the allocations would trigger
    walks all of it (0.1-0.2 s of a tracked step that fits). The collector is as it was
    after (``_settle_heap`` then leaves all of it out of later passes)."""
    import gc

    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _settle_heap() -> None:
    """Leave what the kernel holds now (its modules, IPython's state) out of the garbage
    collector's full passes. Steps that share a kernel begin with IPython's ``%reset -f``,
    which ends with a full collection: it walked every object of every imported module,
    0.12 s per step with pandas and scikit-learn loaded, 0.2 s with MLflow, for nothing
    (what is alive at a step's start is the kernel's, not a step's: the namespace was just
    cleared and collected). It then walks only what later steps made."""
    import gc

    gc.freeze()


def autolog_frameworks(mlflow, flavours) -> None:
    """MLflow's autologging for the step's frameworks (``flavours``), without models (the
    runner logs them as the step's artifacts) and without scikit-learn's training plots (a
    confusion matrix, ROC and precision-recall curves, with matplotlib): 1.5 s of CPU on every
    classifier's fit, more than most fits, for pictures of the training data. Parameters,
    training metrics and datasets are logged as MLflow does; ``NB2PIPE_AUTOLOG_PLOTS=1``
    (``nb2pipe run --autolog-plots``) keeps the plots. MLflow asks one function whether it can
    plot; where that function is not there, nothing changes. After a fit, MLflow predicts on
    the training set for each metric (a classifier's forest: three times, once more for its
    score); each prediction is made once here and handed to each (a copy): the same values,
    a third of the time. (KFP components inline this.)"""
    import functools
    import os

    utils = None
    if "sklearn" in flavours:
        try:
            from mlflow.sklearn import utils
        except ImportError:
            pass
    if utils is not None:  # (before autolog(): it binds the function then)
        log_content = getattr(utils, "_log_estimator_content", None)
        if callable(log_content) and not getattr(log_content, "nb2pipe", False):

            def remembering(method, X):
                """``method``, answering a call with ``X`` alone with a copy of its first
                answer to it."""
                kept = []

                def once(*given, **options):
                    if len(given) != 1 or given[0] is not X or options:
                        return method(*given, **options)
                    if not kept:
                        kept.append(method(X))
                        return kept[0]
                    return kept[0].copy() if callable(getattr(kept[0], "copy", None)) \
                        else kept[0]

                return once

            def predicting_once(*args, **kwargs):
                """MLflow's ``_log_estimator_content``, the estimator's predictions on ``X``
                made once: its prediction methods are looked up on the instance while it runs
                (never those the instance holds itself), and the instance is as it was after.
                The global random generators (Python's, NumPy's) are as they were before:
                an estimator that draws from them when it predicts or scores (a
                ``DummyClassifier(strategy="stratified")``) would otherwise leave every later
                draw of the notebook different from an untracked run's."""
                import random
                import sys

                kept = [(random.setstate, random.getstate())]
                numpy = sys.modules.get("numpy")
                if numpy is not None and callable(getattr(numpy.random, "get_state", None)):
                    kept.append((numpy.random.set_state, numpy.random.get_state()))
                try:
                    return predicting(*args, **kwargs)
                finally:
                    for put, state in kept:
                        put(state)

            def predicting(*args, **kwargs):
                estimator, X = kwargs.get("estimator"), kwargs.get("X")
                try:
                    own = vars(estimator) if X is not None else None
                except TypeError:  # (no __dict__)
                    own = None
                added = []
                for name in ("predict", "predict_proba", "predict_log_proba",
                             "decision_function"):
                    if own is None or name in own:
                        continue
                    try:
                        method = getattr(estimator, name)
                    except Exception:  # (not available with this estimator's parameters)
                        continue
                    if callable(method):
                        own[name] = remembering(method, X)
                        added.append(name)
                try:
                    return log_content(*args, **kwargs)
                finally:
                    for name in added:
                        own.pop(name, None)

            once_each = functools.wraps(log_content)(predicting_once)
            once_each.nb2pipe = True
            utils._log_estimator_content = once_each
    for flavour in flavours:
        try:
            getattr(mlflow, flavour).autolog(log_models=False, silent=True)
        except Exception:  # a flavour whose library is missing or too new: skip it
            pass
    if utils is None:
        return
    import warnings

    def unheard(function):
        """``function`` (what autologging computes and logs after a fit: the training metrics,
        the plots) with its warnings kept from the user's cell: scikit-learn's own, raised by
        MLflow's calls (``log_loss(y_pred=…)`` in scikit-learn 1.9), were shown under the fit
        as if the notebook had caused them (found by the journey benchmark). The fit's own
        warnings are raised before it and stay."""
        if getattr(function, "nb2pipe", False) or not callable(function):
            return function

        @functools.wraps(function)
        def quietly(*args, **kwargs):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return function(*args, **kwargs)

        quietly.nb2pipe = True
        return quietly

    if os.environ.get("NB2PIPE_AUTOLOG_PLOTS") == "1":
        if callable(getattr(utils, "_log_specialized_estimator_content", None)):
            utils._log_specialized_estimator_content = unheard(
                utils._log_specialized_estimator_content)
        return
    if callable(getattr(utils, "_is_plotting_supported", None)):
        utils._is_plotting_supported = lambda: False
    # With no plots to draw, MLflow still imports matplotlib.pyplot after a classifier's fit
    # (0.5 s where the notebook has not: most of what autologging adds to a small fit) and
    # logs an empty folder. The content it logs is its training metrics alone: they are
    # logged here as MLflow logs them, with its own functions (where they are what this was
    # written against; otherwise MLflow's function stays).
    import inspect

    content = getattr(utils, "_log_specialized_estimator_content", None)
    expected = ("autologging_client", "fitted_estimator", "run_id", "prefix", "X", "y_true",
                "sample_weight", "pos_label", "model_id", "dataset")
    try:
        same = tuple(inspect.signature(content).parameters) == expected
    except (TypeError, ValueError):
        same = False
    if not same or getattr(content, "nb2pipe", False) or not all(callable(getattr(
            utils, name, None)) for name in ("_get_classifier_metrics", "_get_regressor_metrics")) \
            or not hasattr(utils, "_logger"):
        if callable(content):
            utils._log_specialized_estimator_content = unheard(content)
        return

    def training_metrics(autologging_client, fitted_estimator, run_id, prefix, X, y_true,
                         sample_weight, pos_label, model_id, dataset):
        import sklearn

        metrics = {}
        if y_true is None:
            return metrics
        try:
            if sklearn.base.is_classifier(fitted_estimator):
                metrics = utils._get_classifier_metrics(fitted_estimator, prefix, X, y_true,
                                                        sample_weight, pos_label)
            elif sklearn.base.is_regressor(fitted_estimator):
                metrics = utils._get_regressor_metrics(fitted_estimator, prefix, X, y_true,
                                                       sample_weight)
        except Exception as error:
            utils._logger.warning(f"Failed to autolog metrics for "
                                  f"{fitted_estimator.__class__.__name__}. Logging error: {error}")
            return {}
        autologging_client.log_metrics(run_id=run_id, metrics=metrics, model_id=model_id,
                                       dataset=dataset)
        return metrics

    utils._log_specialized_estimator_content = unheard(training_metrics)


def _keep_inline_figures() -> None:
    """Keep the notebook's figures shown while autologging. scikit-learn's autolog draws its
    plots inside ``matplotlib.rc_context``, which puts matplotlib's interactive flag back to
    off; the inline backend then shows no figure of the later cells (found by the journey
    benchmark: a tracked run's step notebooks lost their plots). Before each cell, with the
    inline backend, interactive mode is what IPython set."""
    import sys

    try:
        shell = sys.modules["IPython"].get_ipython()
    except (KeyError, AttributeError):
        return
    if shell is None or getattr(shell, "_nb2pipe_inline_figures", False):
        return

    def restore(*_args) -> None:
        matplotlib = sys.modules.get("matplotlib")
        if matplotlib is not None and "inline" in str(matplotlib.get_backend()) and \
                not matplotlib.is_interactive():
            matplotlib.interactive(True)

    shell.events.register("pre_run_cell", restore)
    shell._nb2pipe_inline_figures = True


def _end_open_runs() -> None:
    """End every MLflow run still open in this kernel (a step that raised never reached its
    ``end_step``; a notebook's own ``mlflow.start_run()`` outside a ``with``), as failed: the
    next step's run must not find one active ("Run with UUID … is already active")."""
    import sys

    mlflow = sys.modules.get("mlflow")  # never imported here: nothing can be open
    if mlflow is None:
        return
    _STEP.pop("mlflow", None)
    for _ in range(16):
        try:
            if mlflow.active_run() is None:
                return
            mlflow.end_run(status="FAILED")
        except Exception:  # a store that went away: nothing more to end
            return


def model_example(folder: str, producer: str | None, name: str | None) -> Any:
    """The first rows of the frame the model was fit on (``name``, as ``producer`` wrote it
    into ``folder``): the input example MLflow logs with the model; ``None`` without one."""
    if not producer or not name:
        return None
    value = load(folder, producer, name)
    return value[:5] if hasattr(value, "__getitem__") else None


def keep_model(value: Any) -> None:
    """Called by the step that trains the pipeline's model, after it saved its outputs: when
    ``nb2pipe run`` will register the model (tracking on, an SQLite store nb2pipe writes),
    MLflow's files of it are made here, by MLflow's ``save_model``, while MLflow, the model
    and its input example are loaded in this kernel; the runner then logs and registers them
    without loading any of them (:meth:`nb2pipe.tracking.registry.Registry.register_saved`).
    Anything failing here only means the runner logs the model through MLflow, as before."""
    plan = _STEP.get("model")
    if not plan or value is None:
        return
    try:
        example = model_example(_STEP["artifacts"], plan.get("producer"), plan.get("input"))
        from nb2pipe.modelfiles import save_files

        save_files(value, example, plan["folder"], plan["id"], plan["artifact_location"],
                   plan["run_id"])
    except Exception:  # noqa: BLE001 - the runner logs the model itself, and reports
        import shutil

        shutil.rmtree(f"{plan['folder']}.partial", ignore_errors=True)


_LEFT_OUT: dict[str, Any] = {}
_REFERRAL_HOOKED = False


def import_when_referred(statements: list[str]) -> None:
    """Run ``statements`` (imports the step's code does not use: the step notebook left them
    out) in the step's namespace the moment pickle looks a name of the notebook up
    (``__main__.clean``): a value read back may hold a function of the notebook whose body
    uses them. Called from the step notebook, after its ``imports`` cells. The hook is an
    audit hook (:func:`sys.addaudithook`, event ``pickle.find_class``: every unpickler,
    joblib's too), added once per kernel; it does nothing once the statements ran."""
    import sys

    global _REFERRAL_HOOKED
    _LEFT_OUT.clear()
    _LEFT_OUT.update(source="\n".join(statements), namespace=sys._getframe(1).f_globals)
    if not _REFERRAL_HOOKED:
        sys.addaudithook(_on_referral)
        _REFERRAL_HOOKED = True


def _on_referral(event: str, args: tuple) -> None:
    if event != "pickle.find_class" or args[0] != "__main__" or not _LEFT_OUT:
        return
    source, namespace = _LEFT_OUT.pop("source"), _LEFT_OUT.pop("namespace")
    exec(compile(source, "<the imports this step left out>", "exec"), namespace)  # noqa: S102


def end_step(metrics: dict | None = None, metrics_file: str = "") -> None:
    """Called last in each step notebook: write the metrics (``nb2pipe run`` logs them) and
    end the step's tracking run."""
    numbers = {k: float(v) for k, v in (metrics or {}).items()
               if isinstance(v, (int, float)) and not isinstance(v, bool)}
    if metrics_file and metrics:
        with open(metrics_file, "w", encoding="utf-8") as handle:
            json.dump({k: (float(v) if k in numbers else repr(v)) for k, v in metrics.items()},
                      handle, indent=1, sort_keys=True)
    if _STEP.get("artifacts") and _STEP.get("name"):
        _save_random_state(os.path.join(_STEP["artifacts"], _STEP["name"], _RANDOM_STATE))
    import sys

    stepio = sys.modules.get("nb2pipe.stepio")
    if stepio is not None:
        before = _STEP.get("random_in") or {}
        after = _random_states()
        stepio.finish(random_used=any(after.get(m) != state for m, state in before.items()))
    if _STEP.pop("mlflow", False):
        import mlflow

        mlflow.end_run()


_RANDOM_STATE = "_random_state.pkl"


def _random_states() -> dict[str, bytes]:
    """The global generators' states now, pickled (to compare), of the modules loaded."""
    import sys

    states = {}
    if "random" in sys.modules:
        states["random"] = pickle.dumps(sys.modules["random"].getstate())
    if "numpy" in sys.modules:
        try:
            states["numpy"] = pickle.dumps(sys.modules["numpy"].random.get_state())
        except Exception:  # a numpy without a global generator
            pass
    return states


def _save_random_state(path: str) -> None:
    """The global random generators' states as the step leaves them (those it imported)."""
    import sys

    states = {}
    if "random" in sys.modules:
        states["random"] = sys.modules["random"].getstate()
    if "numpy" in sys.modules:
        try:
            states["numpy"] = sys.modules["numpy"].random.get_state()
        except Exception:  # a numpy without a global generator
            pass
    if not states:
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        pickle.dump(states, handle)


def _restore_random_state(path: str) -> None:
    try:
        with open(path, "rb") as handle:
            states = pickle.load(handle)
    except (OSError, pickle.UnpicklingError, EOFError):
        return  # the step before drew nothing (or has not run here)
    if "random" in states:
        import random

        random.setstate(states["random"])
    if "numpy" in states:
        import numpy

        numpy.random.set_state(states["numpy"])


# -- data files as inputs (Kubeflow components; issue K) -------------------------------------
# A component runs far from the notebook's folder: the data files the notebook reads come
# from the pipeline's data folder (`--data-dir`, `nb2pipe submit --upload`), anything fsspec
# opens: a local folder, file://, s3://, gs://, a MinIO bucket. Components inline these two
# functions (kfp.py), and `submit --upload` lays the files out with the same keys.

def data_key(path: str) -> str:
    """Where the file a notebook reads as ``path`` sits in a data folder: its path relative
    to the notebook's folder (``..`` becomes ``_up``), or ``_abs/…`` for an absolute path."""
    import posixpath

    path = str(path).replace("\\", "/")
    if path.startswith("/"):
        return "_abs" + posixpath.normpath(path)
    parts = [("_up" if part == ".." else part) for part in posixpath.normpath(path).split("/")
             if part not in ("", ".")]
    return "/".join(parts)


def stage_data(data_dir: str, paths: list) -> str | None:
    """Copy the files a step reads (``paths``, as the notebook names them) from ``data_dir``
    into a new working folder laid out like the notebook's, and work there (an absolute path
    is written where the notebook reads it, unless a file is there already: on this machine
    that is the user's own, never overwritten). Nothing happens without a ``data_dir``. A
    file missing there is reported and left for the step's own code to fail on, as it would."""
    if not data_dir:
        return None
    import os
    import sys
    import tempfile

    if not paths:  # a step that reads no file still starts from an empty folder of its own
        work = tempfile.mkdtemp(prefix="nb2pipe-step-")
        os.chdir(work)
        return work
    import fsspec

    filesystem, root = fsspec.core.url_to_fs(data_dir)
    relative = [str(p) for p in paths if not os.path.isabs(str(p))]
    up = max((os.path.normpath(p).split(os.sep).count("..") for p in relative), default=0)
    work = os.path.join(tempfile.mkdtemp(prefix="nb2pipe-data-"), *(["nb"] * up))
    os.makedirs(work, exist_ok=True)
    for path in dict.fromkeys(str(p) for p in paths):
        source = root.rstrip("/") + "/" + data_key(path)
        target = path if os.path.isabs(path) else os.path.normpath(os.path.join(work, path))
        if os.path.isabs(path) and os.path.exists(path):
            continue  # read where it is: staging must not replace a file of the machine's
        if not filesystem.exists(source):
            print(f"nb2pipe: {path!r} is not in the pipeline's data folder "
                  f"({data_dir.rstrip('/')}/{data_key(path)})", file=sys.stderr)
            continue
        os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
        filesystem.get(source, target, recursive=filesystem.isdir(source))
    os.chdir(work)
    return work


# -- where a component failed, in the notebook's terms (issue H) -----------------------------

def failure_place(function: str, here: int, cells: list) -> None:
    """Make a component's traceback end with the notebook cell and the line in it: the
    component's own frame gives the line that was running; ``cells`` are ``(first, last,
    number)`` line ranges counted from ``here`` (the line of the component's first
    statement). What it prints: ``nb2pipe: failed in cell 5, line 3``."""
    import sys

    previous = sys.excepthook

    code = sys._getframe(1).f_code  # the component's (a library's `fit` has its name too)

    def hook(kind, value, traceback):
        previous(kind, value, traceback)
        line, entry = None, traceback
        while entry is not None:  # the component's own frame: the line that was running
            if entry.tb_frame.f_code is code and code.co_name == function:
                line = entry.tb_lineno
            entry = entry.tb_next
        for first, last, number in cells if line is not None else ():
            if first <= line - here <= last:
                print(f"nb2pipe: failed in cell {number}, line {line - here - first + 1}",
                      file=sys.stderr, flush=True)
                break

    sys.excepthook = hook
