"""Values between steps: each type gets its format, and comes back equal."""

import json
import subprocess
import sys
import threading

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from nb2pipe import runtime
from nb2pipe.run.engine import _loggable


@pytest.mark.parametrize("value,expected_format", [
    (pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}), "parquet"),
    (pd.Series([1.5, 2.5], name="s"), "parquet"),
    (np.arange(6).reshape(2, 3), "npy"),
    ({"accuracy": 0.9, "labels": ["a", "b"], "n": None}, "json"),
    (3, "json"),
    (LogisticRegression(C=0.5), "joblib"),
    ({1, 2, 3}, "joblib"),
])
def test_values_round_trip_in_the_format_of_their_type(tmp_path, value, expected_format):
    record = runtime.save(str(tmp_path), "step", "value", value)
    assert record["format"] == expected_format
    meta = json.loads((tmp_path / "step" / "value.meta.json").read_text())
    assert meta["format"] == expected_format
    back = runtime.load(str(tmp_path), "step", "value")
    if isinstance(value, (pd.DataFrame, pd.Series)):
        assert back.equals(value)
    elif isinstance(value, np.ndarray):
        assert (back == value).all()
    elif isinstance(value, LogisticRegression):
        assert back.get_params() == value.get_params()
    else:
        assert back == value


def test_values_that_cannot_cross_a_process_name_step_and_variable(tmp_path):
    with open(tmp_path / "f.txt", "w") as handle:
        with pytest.raises(runtime.ArtifactError, match="step `load` cannot pass `handle`.*"
                                                        "an open file"):
            runtime.save(str(tmp_path), "load", "handle", handle)
    with pytest.raises(runtime.ArtifactError, match="a generator"):
        runtime.save(str(tmp_path), "load", "rows", (x for x in range(3)))
    with pytest.raises(runtime.ArtifactError, match="cannot pass `lock`"):
        runtime.save(str(tmp_path), "load", "lock", threading.Lock())


# Code as a step's kernel runs it: its functions and classes belong to `__main__`.
STEP_CODE = """
import functools
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

def double(v):
    return v * 2

class Box:
    def __init__(self, v):
        self.v = v

values = {
    "function": double,
    "lambda": lambda v: v + 1,
    "instance": Box(5),
    "nested": {"steps": [("double", double)]},
    "partial": functools.partial(double, 21),
    "model": make_pipeline(FunctionTransformer(double)),
    "shared": Box(7),
}
"""
CHECKS = {"function": "value(4) == 8", "lambda": "value(4) == 5", "instance": "value.v == 5",
          "nested": "value['steps'][0][1](3) == 6", "partial": "value() == 42",
          "model": "value.transform(__import__('numpy').ones((1, 1)))[0][0] == 2", "shared": "value.v == 7"}


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_what_a_step_defines_loads_in_another_process(tmp_path, monkeypatch, name):
    namespace = {"__name__": "__main__"}
    exec(STEP_CODE, namespace)
    # in a kernel, what the cells define is in `__main__` itself
    monkeypatch.setattr(sys.modules["__main__"], "Box", namespace["Box"], raising=False)
    # `shared` is an instance of a class the `functions` cells define (here: Box)
    runtime.start_step("define", shared=["Box"] if name == "shared" else [])
    record = runtime.save(str(tmp_path), "define", name, namespace["values"][name])
    runtime._STEP.clear()
    assert record["format"] == ("joblib" if name == "shared" else "cloudpickle")
    # another kernel: a fresh process that defines nothing (but Box, for the shared one)
    script = ("import sys\nfrom nb2pipe import runtime\n"
              + ("class Box:\n    def __init__(self, v):\n        self.v = v\n"
                 if name == "shared" else "")
              + f"value = runtime.load(sys.argv[1], 'define', {name!r})\n"
              + f"print({CHECKS[name]})\n")
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True,
                            text=True)
    assert result.stdout.strip() == "True", result.stderr[-500:]


def test_missing_artifact_says_which_step_should_have_written_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="step `train` did not write `model`"):
        runtime.load(str(tmp_path), "train", "model")


def test_secret_looking_parameters_are_never_logged():
    safe = _loggable({"API_KEY": "Zx9Kq2LzR8vT1xYb7Wm4Nc6H", "LR": 0.1,
                      "URL": "postgres://ana:s3cr3tpw@db:5432/x"})
    assert safe["LR"] == 0.1
    assert "not logged" in safe["API_KEY"] and "not logged" in safe["URL"]


# -- dtypes survive the crossing (issue M) -------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def _column(kind: str, rows: int, draw):
    ints = draw(st.lists(st.integers(-5, 5), min_size=rows, max_size=rows))
    texts = [("abc"[i % 3] * (1 + i % 2)) for i in ints]
    missing = [i % 4 == 0 for i in ints]
    if kind == "int_category":
        return pd.Categorical(ints)
    if kind == "text_category_ordered":
        return pd.Categorical(texts, categories=sorted(set(texts) | {"zz"}), ordered=True)
    if kind == "nullable_int":
        return pd.array([None if m else i for i, m in zip(ints, missing)], dtype="Int64")
    if kind == "string_pyarrow":
        return pd.array([None if m else t for t, m in zip(texts, missing)],
                        dtype="string[pyarrow]")
    if kind == "object_text":
        return np.array(texts, dtype=object)
    if kind == "datetime_tz":
        return pd.to_datetime(ints, unit="D", origin="2026-01-01").tz_localize("Asia/Tokyo")
    if kind == "period":
        return pd.array([pd.Period("2026-01", "M") + i for i in ints], dtype="period[M]")
    if kind == "interval":
        return pd.arrays.IntervalArray.from_breaks(range(rows + 1)) if rows else \
            pd.arrays.IntervalArray.from_breaks([0])
    if kind == "bool":
        return np.array(missing)
    return np.array(ints, dtype="float32")


KINDS = ["int_category", "text_category_ordered", "nullable_int", "string_pyarrow",
         "object_text", "datetime_tz", "period", "interval", "bool", "float32"]


@st.composite
def frames(draw):
    rows = draw(st.integers(0, 6))
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=4))
    labels = draw(st.sampled_from(["text", "int", "multi"]))
    data = {}
    for n, kind in enumerate(kinds):
        label = f"c{n}_{kind}" if labels == "text" else n if labels == "int" else \
            ("group", f"c{n}")
        data[label] = _column(kind, rows, draw)
    frame = pd.DataFrame(data)
    index = draw(st.sampled_from(["range", "named", "multi"]))
    if index == "named":
        frame.index = pd.Index(range(100, 100 + rows), name="id")
    elif index == "multi":
        frame.index = pd.MultiIndex.from_arrays([list(range(rows)), ["x"] * rows],
                                                names=["n", "tag"])
    if draw(st.booleans()):
        frame.attrs["source"] = "sensor 7"
    return frame if draw(st.integers(0, 4)) else frame.iloc[:, 0]  # now and then a Series


def _assert_same(back, value) -> None:
    """The same frame or series: dtypes, index types and names, labels, attrs."""
    if isinstance(value, pd.Series):
        pd.testing.assert_series_equal(back, value, check_exact=True, check_index_type=True,
                                       check_categorical=True, check_freq=False)
    else:
        pd.testing.assert_frame_equal(back, value, check_exact=True, check_index_type=True,
                                      check_column_type=True, check_categorical=True,
                                      check_freq=False)
    assert back.attrs == value.attrs


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(value=frames())
def test_values_cross_steps_with_their_exact_types(tmp_path, value):
    """A frame or series of any of these dtypes comes back exactly: dtypes (categories and
    their order, nullable integers, string[pyarrow] against object, time zones, periods,
    intervals), index types and names, column labels, attrs. Where parquet cannot keep one,
    another format carries it, and the record says why."""
    record = runtime.save(str(tmp_path), "step", "value", value)
    back = runtime.load(str(tmp_path), "step", "value")
    _assert_same(back, value)
    if record["format"] != "parquet":
        assert any(note.startswith("parquet") for note in record["not"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(value=frames())
def test_values_cross_kubeflow_components_with_their_exact_types(tmp_path_factory, value):
    """The same on the Kubeflow engine: the save and load code every component inlines
    (kfp/pipeline.py), on kfp's own artifact objects."""
    from kfp import dsl

    from nb2pipe.targets.kfp import _runtime_source

    inlined: dict = {}
    exec(compile(_runtime_source(), "<component runtime>", "exec"), inlined)
    folder = tmp_path_factory.mktemp("artifact")
    produced = dsl.Dataset(uri=str(folder / "value"), metadata={})
    inlined["_nb2pipe_save"](value, produced, "step", "value")
    consumed = dsl.Dataset(uri=produced.uri, metadata=dict(produced.metadata))
    back = inlined["_nb2pipe_load"](consumed)
    _assert_same(back, value)
