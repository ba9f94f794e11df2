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
