"""Values between steps: each type gets its format, and comes back equal."""

import json
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


def test_missing_artifact_says_which_step_should_have_written_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="step `train` did not write `model`"):
        runtime.load(str(tmp_path), "train", "model")


def test_secret_looking_parameters_are_never_logged():
    safe = _loggable({"API_KEY": "Zx9Kq2LzR8vT1xYb7Wm4Nc6H", "LR": 0.1,
                      "URL": "postgres://ana:s3cr3tpw@db:5432/x"})
    assert safe["LR"] == 0.1
    assert "not logged" in safe["API_KEY"] and "not logged" in safe["URL"]
