"""Functions, lambdas and classes that a step defines, used by a later step: pickle would
write `__main__.add_one`, which the next step's kernel cannot resolve; they cross by value."""

import json
import math

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


REFERRING = '''# %% tags=["imports"]
import math
import numpy as np
from sklearn.preprocessing import FunctionTransformer
# %% tags=["functions"]
def clean(values):
    return np.log1p(values) + math.pi
# %% tags=["step:fit"]
transformer = FunctionTransformer(clean).fit([[1.0], [2.0]])
# %% tags=["step:use", "prev:fit"]
result = float(transformer.transform([[3.0]])[0][0])
# %% tags=["pipeline-metrics"]
print(result)
'''


def test_a_step_whose_input_refers_to_a_notebook_function_gets_the_imports_it_left_out(
        tmp_path, monkeypatch):
    """The step `use` names neither NumPy nor `clean`, so its notebook leaves their imports
    out; the transformer it reads back refers to `clean` (pickled by name, as every function
    of the `functions` cells), whose body needs them: they run when pickle looks it up."""
    monkeypatch.chdir(tmp_path)
    write_notebook(tmp_path / "refers.ipynb", REFERRING)
    assert run_cli("convert", "refers.ipynb", "-o", "out")[0] == 0
    step = json.loads((tmp_path / "out" / "papermill" / "use.ipynb").read_text())
    imports = next(c for c in step["cells"] if "imports" in c["metadata"].get("tags", []))
    assert "# import numpy as np" in "".join(imports["source"])  # left out of the step
    # one kernel for all steps, one each, and Kubeflow's components (no reference there:
    # their functions are local, and cross by value)
    for how in ([], ["--isolate"], ["--engine", "kfp-local"]):
        code, _, err = run_cli("run", "out", "--tracking", "none", "--no-html", "--no-cache",
                               *how)
        assert code == 0, err
        run = sorted((tmp_path / "out" / "runs").iterdir())[-1]
        record = json.loads((run / "run.json").read_text())
        assert record["metrics"]["result"] == pytest.approx(math.log1p(3.0) + math.pi)
