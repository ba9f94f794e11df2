"""A step notebook leaves out the imports its code cannot reach, and only those."""

from __future__ import annotations

import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from nb2pipe.analysis.knowledge import INERT_MODULES
from nb2pipe.notebook import notebook_from_percent
from nb2pipe.notebook.magics import split_lines
from nb2pipe.pipeline.step_imports import step_imports


def pruned(imports: str, functions: str, step: str, extra: tuple[str, ...] = ()):
    notebook = notebook_from_percent(f"# %%\n{imports}\n# %%\n{functions}\n# %%\n{step}\n")
    cells = notebook.code_cells
    return step_imports([cells[0]], [cells[1], cells[2]], list(extra)), cells[0].index


def kept(imports: str, functions: str, step: str, extra: tuple[str, ...] = ()) -> list[str]:
    """The import lines the step still runs."""
    result, index = pruned(imports, functions, step, extra)
    return [line for line in split_lines(result.sources[index])
            if line.strip() and not line.startswith("#")]


IMPORTS = """import json
import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score"""


def test_only_what_the_step_reaches_is_imported():
    functions = "def score(y, p):\n    return accuracy_score(y, p)\n"
    assert kept(IMPORTS, functions, "total = 1 + 2") == []
    assert kept(IMPORTS, functions, "print(json.dumps({}))") == ["import json"]
    # through a function it calls, and one that function calls
    assert kept(IMPORTS, functions, "s = score([1], [1])") == [
        "from sklearn.metrics import accuracy_score, f1_score"]
    assert kept(IMPORTS, functions + "def both(y, p):\n    return score(y, p)\n",
                "s = both([1], [1])") == ["from sklearn.metrics import accuracy_score, f1_score"]
    # a function passed, not called, is reached all the same
    assert kept(IMPORTS, functions, "f = [score]") == [
        "from sklearn.metrics import accuracy_score, f1_score"]


def test_what_runs_when_a_function_is_defined_counts():
    assert kept(IMPORTS, "def f(x=np.pi):\n    return x\n", "y = 1") == ["import numpy as np"]
    assert kept(IMPORTS, "def f(x: pd.DataFrame):\n    return x\n", "y = 1") == [
        "import pandas as pd"]
    # a decorator may register the function: its body counts as used
    assert "import numpy as np" in kept(
        IMPORTS + "\nimport functools", "@functools.cache\ndef f():\n    return np.e\n", "y = 1")
    # a class's methods run at any time
    assert kept(IMPORTS, "class Model:\n    def fit(self):\n        return pd.NA\n",
                "y = 1") == ["import pandas as pd"]


def test_imports_that_do_something_are_kept():
    imports = ("from sklearn.experimental import enable_iterative_imputer\n"
               "from sklearn.impute import IterativeImputer\n"
               "from __future__ import annotations\n"
               "import seaborn as sns\nimport matplotlib.pyplot as plt\n"
               "from .helpers import clean\nimport mymodule\nfrom numpy import *")
    assert kept(imports, "", "x = 1") == [line for line in imports.split("\n")
                                          if "IterativeImputer" not in line]


def test_a_statement_sharing_its_line_stays():
    assert kept("import json; import math\nimport re", "", "x = 1") == [
        "import json; import math"]
    assert kept("import json; pd = None\nimport math", "", "x = 1") == [
        "import json; pd = None"]


def test_a_submodule_of_a_module_the_step_holds_stays():
    """`import numpy.linalg` makes `linalg` an attribute of NumPy's module, which the step
    reaches through `np` without naming `numpy`."""
    imports = "import numpy as np\nimport numpy.linalg\nimport json"
    assert kept(imports, "", "n = np.linalg.norm([3, 4])") == [
        "import numpy as np", "import numpy.linalg"]
    assert kept("import xml as x\nfrom xml.dom import minidom", "", "y = x.dom") == [
        "import xml as x", "from xml.dom import minidom"]
    # held by an import of the step's own cells
    assert kept("from sklearn.metrics import f1_score", "", "import sklearn\nsklearn.x") == [
        "from sklearn.metrics import f1_score"]
    assert kept("import numpy.linalg", "", "import scipy\ny = scipy") == []


def test_the_cells_other_statements_count_as_use():
    imports = "import warnings\nimport pandas as pd\nwarnings.filterwarnings('ignore')"
    assert kept(imports, "", "x = 1") == ["import warnings", "warnings.filterwarnings('ignore')"]


def test_names_in_strings_that_parse_as_code_count():
    assert kept(IMPORTS, "def f(x: 'pd.DataFrame'):\n    return x\n", "y = f(1)") == [
        "import pandas as pd"]


def test_code_that_reaches_names_dynamically_keeps_everything():
    every = IMPORTS.split("\n")
    for step in ("y = eval('np.pi')", "y = globals()['np']", "y = vars()", "exec('x = 1')",
                 "df = frame.query('a > @limit')", "import __main__",
                 "y = sys.modules['numpy']", "%run other.py", "!echo {np.pi}",
                 "m = importlib.import_module('numpy')",
                 "!echo $HOME", "get_ipython().run_line_magic('who', '')",
                 "warnings.simplefilter('error')", "warnings.filterwarnings(action=mode)"):
        result, index = pruned(IMPORTS, "", step)
        assert result.left_out == [] and result.kept_all, step
        assert kept(IMPORTS, "", step) == every, step
    # plain magics and dir(obj) do not
    assert kept(IMPORTS, "", "%matplotlib inline\n%time x = 1\nnames = dir(x)\n"
                             "warnings.filterwarnings('ignore')") == []


def test_nbformat_3_style_line_endings_and_lines_kept():
    imports = "import json\r\nfrom math import (\r\n    floor,\r\n    ceil)\r\nimport re"
    result, index = pruned(imports, "", "x = re.compile('a')")
    assert len(split_lines(result.sources[index])) == len(split_lines(imports))
    assert result.left_out == ["import json", "from math import (\n    floor,\n    ceil)"]


def test_generated_code_counts_but_its_strings_do_not():
    extra = ("scores = _nb2pipe.load(nb2pipe_artifacts, 'evaluate', 'json')",)
    assert kept(IMPORTS, "def evaluate():\n    return np.e\n", "x = 1", extra) == []
    assert kept(IMPORTS, "", "x = 1", ("_nb2pipe.save(a, 'b', 'c', np)",)) == [
        "import numpy as np"]


# -- generated notebooks: the step run with what is left gives what it gave with everything --

#: (statement, the names it binds, an expression using each)
POOL = [
    ("import json", {"json": "json.dumps([1])"}),
    ("import math", {"math": "math.sqrt(16)"}),
    ("import numpy as np", {"np": "int(np.int64(3))"}),
    ("from collections import Counter, OrderedDict",
     {"Counter": "Counter('aab')['a']", "OrderedDict": "list(OrderedDict(a=1))"}),
    ("from fractions import (\n    Fraction,\n)", {"Fraction": "str(Fraction(1, 3))"}),
    ("import os.path", {"os": "os.path.basename('/a/b')"}),
    ("import statistics as stats", {"stats": "stats.mean([1, 2, 3])"}),
    ("import re; import string", {"re": "re.sub('a', 'b', 'aa')",
                                  "string": "string.digits"}),
    ("import functools", {"functools": "functools.reduce(int.__add__, [1, 2])"}),
]
USES = {name: expression for _, names in POOL for name, expression in names.items()}


@st.composite
def notebooks(draw):
    statements = draw(st.lists(st.sampled_from(POOL), min_size=1, max_size=len(POOL),
                               unique_by=lambda item: item[0]))
    names = sorted({name for _, bound in statements for name in bound})
    functions = []
    for number in range(draw(st.integers(0, 4))):
        body = [USES[n] for n in draw(st.lists(st.sampled_from(names), max_size=2))]
        if number:
            body += [f"f{k}()" for k in draw(st.lists(st.integers(0, number - 1), max_size=2))]
        header = f"def f{number}():"
        if draw(st.booleans()) and "math" in names:
            header = f"def f{number}(x=math.tau):"
        if draw(st.booleans()) and "functools" in names:
            header = "@functools.lru_cache\n" + header
        functions.append(f"{header}\n    return ({', '.join(body + ['0'])},)")
    uses = [USES[n] for n in draw(st.lists(st.sampled_from(names), max_size=3))]
    if functions:
        uses += [f"f{k}()" for k in draw(st.lists(st.integers(0, len(functions) - 1),
                                                  max_size=2))]
    step = f"result = ({', '.join(uses + ['0'])},)"
    return "\n".join(s for s, _ in statements), "\n".join(functions), step


def outcome(*sources: str):
    namespace: dict = {}
    try:
        for source in sources:
            exec(compile(source, "<cell>", "exec"), namespace)  # noqa: S102
    except Exception as error:  # noqa: BLE001 - the outcome to compare
        return type(error).__name__, str(error)
    return repr(namespace["result"])


@settings(max_examples=60, deadline=None)
@given(notebooks())
def test_a_step_without_the_imports_left_out_gives_the_same_result(notebook):
    imports, functions, step = notebook
    result, index = pruned(imports, functions, step)
    before = outcome(imports, functions, step)
    after = outcome(result.sources[index], functions, step)
    assert after == before
    assert len(split_lines(result.sources[index])) == len(split_lines(imports))
    # and what was left out, run afterwards, is everything that was there
    assert outcome(result.sources[index], functions, "\n".join(result.left_out),
                   step) == before


def test_the_inert_modules_change_nothing_that_code_not_naming_them_sees():
    """Import each module in a fresh interpreter; what Python code can see without naming it
    must be as it was: builtins, the import system, warnings filters, the environment,
    pickle's and codecs' registries, display and exception hooks, logging's handlers, and the
    global random generators (Python's, NumPy's) a step's draws come from."""
    snapshot = """
import builtins, copyreg, logging, os, sys, warnings, codecs, locale, random
# NumPy's generator is watched around the data-science packages; a standard-library module
# that imported NumPy at all would be reported
WATCH_NUMPY = sys.argv[1].partition(".")[0] in ("pandas", "scipy", "sklearn", "joblib")
if WATCH_NUMPY:
    import numpy
def state():
    return (sorted(vars(builtins)), list(sys.meta_path),
            len(sys.path_hooks), list(sys.path), list(warnings.filters),
            dict(os.environ), dict(copyreg.dispatch_table), sys.displayhook, sys.excepthook,
            list(logging.root.handlers), logging.root.level, sys.flags,
            sys.getrecursionlimit(), locale.setlocale(locale.LC_ALL),
            sorted(codecs.lookup(n).name for n in ("utf-8", "latin-1")), random.getstate(),
            sys.modules["numpy"].random.get_state()[1].tobytes() if WATCH_NUMPY
            else sys.argv[1] != "numpy" and "numpy" in sys.modules)
before = state()
modules_before = {name.partition(".")[0] for name in sys.modules}
import importlib
importlib.import_module(sys.argv[1])
after = state()
names = ("builtins", "meta_path", "path_hooks", "path", "warnings", "environ", "copyreg",
         "displayhook", "excepthook", "handlers", "level", "flags", "recursion", "locale",
         "codecs", "random", "numpy.random")
changed = {n for n, a, b in zip(names, before, after) if a != b}
new = {name.partition(".")[0] for name in sys.modules} - modules_before
loaded = [m for name, m in list(sys.modules.items()) if name.partition(".")[0] in new]
def own(thing):  # a class of a package this import loaded: only that package's objects
    return getattr(thing, "__module__", "").partition(".")[0] in new or any(
        getattr(m, getattr(thing, "__name__", ""), None) is thing for m in loaded)
# Scikit-learn and joblib set Intel OpenMP's variables, which no Python code reads.
if {k for k, _ in set(os.environ.items()) ^ set(before[5].items())} <= {
        "KMP_DUPLICATE_LIB_OK", "KMP_INIT_AT_FORK"}:
    changed.discard("environ")
# pickle's reductions for the package's own types
if all(own(t) for t in set(after[6]) - set(before[6])):
    changed.discard("copyreg")
# filters of the package's own warnings, and NumPy's of its binary-compatibility messages
# (only a module that imports NumPy can raise them); a notebook that sets filters itself
# keeps every import (step_imports)
if all(own(f[2]) or f[1] is not None and f[1].pattern.startswith(
        ("numpy.", "the matrix subclass")) for f in after[4] if f not in before[4]):
    changed.discard("warnings")
# six's finder (pandas loads it through dateutil) serves `six.moves` only
if all(type(f).__module__ == "six" for f in after[1] if f not in before[1]):
    changed.discard("meta_path")
changed = sorted(changed)
print(",".join(changed))
"""
    checked = ["numpy", "pandas", "scipy.stats", "sklearn.ensemble", "sklearn.metrics",
               "joblib"] + sorted(INERT_MODULES - {"numpy", "pandas", "scipy", "sklearn",
                                                   "joblib"})
    failures = {}
    for module in checked:
        done = subprocess.run([sys.executable, "-c", snapshot, module], capture_output=True,
                              text=True, timeout=120)
        if done.returncode or done.stdout.strip():
            failures[module] = done.stdout.strip() or done.stderr[-300:]
    assert failures == {}
