"""Sound before precise (issue J, point 1): what a step changes in place reaches the steps
after it, whatever the change goes through (a function of the notebook, a library call that
changes its argument, another name for the same object). A generative differential test:
small notebooks built by hypothesis from random mixes of such patterns across headed cells,
converted with `--auto` and run with `--isolate` (a fresh kernel per step, as on a cluster),
must print exactly what the notebook prints, or convert must refuse with a clear message.
Never a different result."""

from __future__ import annotations

import json

import nbformat
import papermill
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nb2pipe.analysis.notebook import NotebookAnalysis
from nb2pipe.notebook import notebook_from_percent
from tests.helpers import run_cli

#: Each pattern: the definitions it needs (functions cell), the cell that makes its values,
#: the change (in place, through something), and what the report prints. `{k}` makes the
#: names of each use unique.
PATTERNS = {
    "function changes its argument": (
        "def add_ratio{k}(frame):\n    frame['ratio'] = frame['x'] / frame['z']\n",
        "df{k} = pd.DataFrame({{'x': [1.0, 2.0], 'z': [4.0, 5.0]}})\n",
        "add_ratio{k}(df{k})\n",
        "print(df{k}.columns.tolist())\n"),
    "function calls a function that changes its argument": (
        "def grow{k}(items):\n    items.append(len(items))\n\n\n"
        "def grow_twice{k}(values):\n    grow{k}(values)\n    grow{k}(values)\n",
        "seq{k} = [7]\n",
        "grow_twice{k}(seq{k})\n",
        "print(seq{k})\n"),
    "function changes its argument through a local alias": (
        "def tag{k}(record):\n    same = record\n    same['seen'] = True\n",
        "rec{k} = {{'id': 1}}\n",
        "tag{k}(rec{k})\n",
        "print(sorted(rec{k}))\n"),
    "function changes a global": (
        "def remember{k}():\n    log{k}.append('x')\n",
        "log{k} = []\n",
        "remember{k}()\n",
        "print(log{k})\n"),
    "a container holds the value": (
        "",
        "a{k} = [1, 2]\nholder{k} = {{'a': a{k}}}\n",
        "holder{k}['a'].append(3)\n",
        "print(a{k})\n"),
    "another name for the same list": (
        "",
        "base{k} = [3, 1, 2]\nother{k} = base{k}\n",
        "other{k}.sort()\n",
        "print(base{k})\n"),
    "numpy generator shuffles an array": (
        "",
        "arr{k} = np.arange(6)\n",
        "np.random.default_rng(0).shuffle(arr{k})\n",
        "print(arr{k}.tolist())\n"),
    "random.Random shuffles a list": (
        "",
        "items{k} = [1, 2, 3, 4, 5]\n",
        "random.Random(0).shuffle(items{k})\n",
        "print(items{k})\n"),
    "numpy fill": (
        "",
        "zeros{k} = np.zeros(3)\n",
        "zeros{k}.fill(2)\n",
        "print(zeros{k}.tolist())\n"),
    "dict update and setdefault": (
        "",
        "conf{k} = {{'a': 1}}\n",
        "conf{k}.update(b=2)\nconf{k}.setdefault('c', 3)\n",
        "print(conf{k})\n"),
    "an object keeps what it is made from": (
        "class Bag{k}:\n    def __init__(self, items):\n        self.items = items\n\n"
        "    def add(self, item):\n        self.items.append(item)\n",
        "kept{k} = [1]\nbag{k} = Bag{k}(kept{k})\n",
        "bag{k}.add(2)\n",
        "print(kept{k})\n"),
    "pandas in place": (
        "",
        "frame{k} = pd.DataFrame({{'v': [1.0, None]}})\n",
        "frame{k}.fillna(0, inplace=True)\n",
        "print(frame{k}['v'].tolist())\n"),
    "a set changed in place": (
        "",
        "seen{k} = {{1}}\n",
        "seen{k}.add(2)\nseen{k}.discard(1)\n",
        "print(sorted(seen{k}))\n"),
}

IMPORTS = "import random\nimport numpy as np\nimport pandas as pd\n"


def build(uses: list[tuple[str, int]]) -> str:
    """A notebook in `# %%` form: imports, definitions, then headed cells that make the
    values, change them (each change in the change cell it was drawn for) and report."""
    definitions, makes, reports = [], [], []
    changes: dict[int, list[str]] = {}
    for k, (pattern, where) in enumerate(uses):
        define, make, change, report = (part.format(k=k) for part in PATTERNS[pattern])
        if define:
            definitions.append(define)
        makes.append(make)
        changes.setdefault(where, []).append(change)
        reports.append(report)
    text = "# %%\n" + IMPORTS
    if definitions:
        text += "# %%\n" + "\n\n".join(definitions)
    text += "# %% [markdown]\n# ## Make the values\n# %%\n" + "".join(makes)
    for where in sorted(changes):
        text += f"# %% [markdown]\n# ## Change them, part {where + 1}\n# %%\n" + \
            "".join(changes[where])
    text += "# %% [markdown]\n# ## Report\n# %%\n" + "".join(reports)
    return text


def printed(notebook: dict) -> str:
    return "".join("".join(o.get("text", "")) for cell in notebook["cells"]
                   for o in cell.get("outputs", []) if o.get("output_type") == "stream")


USES = st.lists(st.tuples(st.sampled_from(sorted(PATTERNS)), st.integers(0, 2)),
                min_size=1, max_size=4)


@pytest.mark.parametrize("pattern", sorted(PATTERNS))
def test_each_change_reaches_the_cells_after_it(pattern):
    """The analysis, for each pattern alone: the change cell changes the reported value."""
    notebook = notebook_from_percent(build([(pattern, 0)]), "nb.ipynb")
    analysis = NotebookAnalysis(notebook)
    change = next(c.index for c in notebook.cells if c.is_code and "Change" in
                  notebook.cells[c.index - 1].source)
    report_reads = set(analysis.needs([notebook.cells[-1].index]))
    changed = set(analysis.facts[change].mutated)
    assert report_reads & changed, (pattern, report_reads, changed)


@settings(max_examples=6, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@pytest.mark.slow
@given(USES)
def test_a_pipeline_prints_what_its_notebook_prints(tmp_path_factory, uses):
    folder = tmp_path_factory.mktemp("sound")
    path = folder / "nb.ipynb"
    notebook = notebook_from_percent(build(uses), str(path))
    path.write_text(json.dumps(notebook.raw))
    reference = papermill.execute_notebook(nbformat.read(path, as_version=4), None,
                                           kernel_name="python3", progress_bar=False,
                                           cwd=str(folder))
    expected = printed(reference)
    code, _, err = run_cli("convert", "--auto", path, "-o", folder / "pipe")
    if code != 0:  # refused: with a finding that says where and why, never a traceback
        assert "Traceback" not in err and "NB4" in err, err
        return
    code, _, err = run_cli("run", folder / "pipe", "--isolate", "--tracking", "none",
                           "--no-validate", "--no-html")
    assert code == 0, err
    run = sorted((folder / "pipe" / "runs").iterdir())[-1]
    steps = json.loads((folder / "pipe" / "pipeline.json").read_text())["steps"]
    got = "".join(printed(json.loads((run / "notebooks" / f"{s['name']}.ipynb").read_text()))
                  for s in steps)
    assert got == expected, (build(uses), got, expected)
