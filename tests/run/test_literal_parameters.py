"""Parameters of every literal type (issue K): tuples, sets, None, nested containers convert
and reach each step as the same Python value, on papermill and on kfp's local runner; what
cannot (1e999, which is inf) is one NB405 finding with a hint, never a traceback."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import run_cli, write_notebook

_scalars = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000),
                     st.floats(allow_nan=False, allow_infinity=False, width=32),
                     st.text("abc xyz", max_size=5))
_literals = st.recursive(
    _scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.lists(inner, max_size=3).map(tuple),
        st.frozensets(st.integers(0, 9), min_size=1, max_size=3).map(set),
        st.dictionaries(st.text("kv", min_size=1, max_size=3), inner, max_size=3)),
    max_leaves=6)


def _notebook(value) -> str:
    return (f'# %% tags=["pipeline-parameters"]\nvalue = {value!r}\n'
            f'# %% tags=["step:use"]\nsame = float(value == {value!r} and '
            f'repr(value) == {repr(value)!r})\n'
            f'# %% tags=["pipeline-metrics"]\nprint(same)\n')


@settings(max_examples=12, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@pytest.mark.slow
@given(value=_literals)
def test_literal_parameters_cross_to_every_step_unchanged(tmp_path_factory, value):
    folder = tmp_path_factory.mktemp("literal")
    write_notebook(folder / "nb.ipynb", _notebook(value))
    code, _, err = run_cli("convert", folder / "nb.ipynb", "-o", folder / "pipeline")
    assert code == 0 and "Traceback" not in err, err
    for engine in ("kfp-local", "papermill"):
        code, _, err = run_cli("run", folder / "pipeline", "--engine", engine, "--tracking",
                               "none", "--no-validate", "--no-html")
        assert code == 0, (engine, value, err)
        runs = sorted((folder / "pipeline" / "runs").iterdir())
        record = json.loads((runs[-1] / "run.json").read_text())
        assert record["metrics"] == {"same": 1.0}, (engine, value)


def test_a_tuple_is_given_on_the_command_line_and_swept(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_notebook(tmp_path / "nb.ipynb", '# %% tags=["pipeline-parameters"]\n'
                   'shape = (32, 32, 3)\n# %% tags=["step:use"]\n'
                   'cells = float(shape[0] * shape[1]) if isinstance(shape, tuple) else -1.0\n'
                   '# %% tags=["pipeline-metrics"]\nprint(cells)\n')
    assert run_cli("convert", "nb.ipynb", "-o", "pipeline")[0] == 0
    code, out, err = run_cli("run", "pipeline", "--tracking", "none", "-p",
                             "shape=(2, 3, 1),(4, 5, 1)")
    assert code == 0, err
    assert "cells=6" in out and "cells=20" in out
    code, out, err = run_cli("submit", "pipeline", "--dry-run", "--output-format", "json", "-p", "shape=(1, 2, 3)")
    assert code == 0, err
    assert '"shape": "(1, 2, 3)"' in out


def test_a_value_that_cannot_be_read_back_is_one_finding(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_notebook(tmp_path / "nb.ipynb", '# %% tags=["pipeline-parameters"]\n'
                   'big = 1e999\nempty = set()\n# %% tags=["step:use"]\nn = len(empty) + big\n')
    code, out, err = run_cli("check", "nb.ipynb", "--select", "NB405",
                             "--output-format", "concise")
    assert out.count("NB405") == 1 and "NB405 parameter `big`: `inf` cannot be written" in out
    code, _, err = run_cli("convert", "nb.ipynb", "-o", "pipeline")
    assert code == 1 and "NB405" in err and "Traceback" not in err


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.dictionaries(st.from_regex(r"[A-Z_]{1,6}", fullmatch=True), _literals,
                              max_size=4))
def test_a_run_record_gives_its_parameters_back_with_their_types(tmp_path_factory, values):
    """run.json holds what JSON cannot carry as text as well, so that `--resume` and the
    Airflow tasks (which read the record) run with a tuple, not the list JSON made of it."""
    from nb2pipe.run.record import RunRecord

    folder = tmp_path_factory.mktemp("record")
    RunRecord(run_id="r", pipeline="p", source=".", parameters=values).write(str(folder))
    back = RunRecord.read(str(folder)).parameters
    assert back == values and [type(v) for v in back.values()] == \
        [type(v) for v in values.values()]


_with_infinities = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
              st.complex_numbers(allow_nan=False), st.text(max_size=5), st.binary(max_size=3)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.lists(inner, max_size=3).map(tuple),
                            st.dictionaries(st.text(max_size=3), inner, max_size=2)),
    max_leaves=6)


@settings(max_examples=300, deadline=None, database=None)
@given(value=_with_infinities)
def test_a_literal_written_as_text_reads_back_as_itself(value):
    """What run.json and Airflow's params keep of a parameter JSON cannot carry: its text,
    infinities included (`1e999`, `(0.0+1e999j)`), reads back as the same value."""
    from nb2pipe.pipeline.literals import literal_text, parse_literal

    back = parse_literal(literal_text(value))
    assert back == value and type(back) is type(value)
