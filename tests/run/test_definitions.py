"""Functions, lambdas and classes that a step defines, used by a later step: pickle would
write `__main__.add_one`, which the next step's kernel cannot resolve; they cross by value."""

import json

import pytest

from tests.helpers import run_cli, write_notebook

NOTEBOOK = '''# %% tags=["imports"]
import functools
# %% tags=["functions"]
class Scaler:
    def __init__(self, k):
        self.k = k

    def apply(self, v):
        return v * self.k
# %% tags=["step:define"]
def add_one(v):
    return v + 1

square = lambda v: v * v

class Counter:
    def __init__(self):
        self.n = 0

    def bump(self):
        self.n += 1
        return self.n

counter = Counter()
counter.bump()
triple = functools.partial(lambda a, b: a * b, 3)
scaler = Scaler(10)
helpers = {"inc": add_one}
# %% tags=["step:use", "prev:define"]
total = add_one(1) + square(3) + counter.bump() + triple(2) + scaler.apply(1) + helpers["inc"](0)
shared_class = int(isinstance(scaler, Scaler))
# %% tags=["pipeline-metrics"]
print(total)
print(shared_class)
'''


@pytest.mark.parametrize("engine", ["papermill", "kfp-local"])
def test_what_a_step_defines_is_usable_in_the_next_step(tmp_path, monkeypatch, engine):
    monkeypatch.chdir(tmp_path)
    write_notebook(tmp_path / "defs.ipynb", NOTEBOOK)
    assert run_cli("convert", "defs.ipynb", "-o", "out")[0] == 0
    code, _, err = run_cli("run", "out", "--engine", engine, "--tracking", "none", "--no-html")
    assert code == 0, err
    (run,) = list((tmp_path / "out" / "runs").iterdir())
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "succeeded"
    assert record["metrics"]["total"] == 30  # 2 + 9 + 2 (the counter's state came along) + 6 + 10 + 1
    if engine == "papermill":
        # a class of the `functions` cells is the same class in every step's kernel
        assert record["metrics"]["shared_class"] == 1
        formats = {json.loads(p.read_text())["name"]: json.loads(p.read_text())["format"]
                   for p in (run / "artifacts" / "define").glob("*.meta.json")}
        assert formats["add_one"] == formats["counter"] == "cloudpickle"
        assert formats["scaler"] == "joblib"  # by reference: the next kernel defines Scaler
