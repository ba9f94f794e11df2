"""Notebook-level dataflow: use-before-define, undefined names, and what groups of cells need."""

from nb2pipe.analysis import NotebookAnalysis
from nb2pipe.notebook import notebook_from_percent


def analysis(source):
    return NotebookAnalysis(notebook_from_percent(source))


def problems(source):
    return [(p.cell.number, p.read.name, p.defined_in.cell + 1 if p.defined_in else None, p.via)
            for p in analysis(source).order_problems]


def test_use_before_define_names_the_later_cell():
    assert problems("# %%\nprint(model)\n# %%\nmodel = 1\n") == [(1, "model", 2, None)]


def test_function_defined_early_and_called_late_is_fine():
    assert problems("# %%\ndef predict(x):\n    return model.predict(x)\n# %%\nmodel = make()\n"
                    "# %%\npredict(1)\n# %%\ndef make():\n    return 1\n") == \
        [(2, "make", 4, None)]


def test_function_called_before_its_globals_exist_is_reported_at_the_call():
    assert problems("# %%\ndef f():\n    return g()\n# %%\ndef g():\n    return late\n"
                    "# %%\nf()\n# %%\nlate = 1\n") == [(3, "late", 4, "f")]


def test_undefined_names_in_cells_and_function_bodies():
    assert problems("# %%\nprint(gone)\ndef f():\n    return missing\n") == [
        (1, "gone", None, None), (1, "missing", None, "f")]


def test_wildcards_and_run_make_names_unknowable():
    assert problems("# %%\nfrom os.path import *\nprint(join)\n") == []
    assert problems("# %%\n%run setup.py\nprint(things)\n") == []


def test_names_from_unparsable_cells_are_not_called_undefined():
    assert problems("# %%\nthing = 1 +\n# %%\nprint(thing)\n") == []


def test_magics_bind_names():
    assert problems("# %%\nfiles = !ls\n%%capture\n# %%\nprint(files)\n") == []


def test_needs_and_binds_of_a_group_of_cells():
    result = analysis("# %%\nimport pandas as pd\nSEED = 1\n# %%\ndef load():\n"
                      "    return pd.read_csv(PATH)\n# %%\ndf = load()\ndf['x'] = SEED\n"
                      "# %%\nmodel = fit(df)\nscore = model.score(df)\n")
    assert set(result.needs([2])) == {"load", "pd", "PATH", "SEED"}
    assert set(result.needs([1, 2])) == {"pd", "PATH", "SEED"}
    assert result.binds([2, 3]) == {"df", "model", "score"}
    assert set(result.needs([3])) == {"fit", "df"}


def test_a_function_defined_further_down_is_not_the_value_a_cell_uses():
    """`model` is a forest in cell 2 and a function only from cell 3: using the forest
    does not need what the later function reads."""
    result = analysis("# %%\nimport numpy as np\nX = [[1]]\n"
                      "# %%\nmodel = Forest()\nmodel.fit(X)\n"
                      "# %%\nrng = np.random.RandomState(0)\n"
                      "def model(x):\n    return x + rng.rand()\n"
                      "# %%\ny = model(1)\n")
    assert set(result.needs([1])) == {"Forest", "X"}
    assert set(result.needs([3])) == {"model", "rng"}  # the function, and what it reads


def test_a_change_through_a_view_or_a_second_name_changes_the_first():
    analysis = NotebookAnalysis(notebook_from_percent(
        "# %%\nimport numpy as np\na = np.arange(6)\nb = [1, 2]\n"
        "# %%\nview = a[1:4]\nsame = b\nview[0] = 99\n"
        "# %%\nsame.append(3)\n# %%\nview = np.zeros(2)\nview[0] = 1\n"))
    assert set(analysis.facts[1].mutated) == {"view", "a"}
    assert set(analysis.facts[2].mutated) == {"same", "b"}
    assert set(analysis.facts[3].mutated) == {"view"}  # a new array: `a` is no longer shared


def test_changing_the_loop_variable_changes_what_the_loop_visits():
    analysis = NotebookAnalysis(notebook_from_percent(
        "# %%\nimport numpy as np\na = np.arange(4)\nrows = [[1], [2]]\n"
        "# %%\nfor x in np.nditer(a, op_flags=['readwrite']):\n    x[...] = x * x\n"
        "# %%\nfor number, row in enumerate(rows):\n    row.append(number)\n"
        "# %%\nfor row in rows:\n    print(row)\n"))
    assert "a" in analysis.facts[1].mutated and "np" not in analysis.facts[1].mutated
    assert "rows" in analysis.facts[2].mutated
    assert "rows" not in analysis.facts[3].mutated  # only read


def test_a_draw_from_a_random_generator_changes_it():
    analysis = NotebookAnalysis(notebook_from_percent(
        "# %%\nimport numpy as np\nrng = np.random.default_rng(0)\n"
        "# %%\nx = rng.normal(size=3)\ny = np.mean(x)\n"))
    assert set(analysis.facts[1].mutated) == {"rng"}


def test_qualify_resolves_import_aliases():
    result = analysis("# %%\nimport numpy as np\nfrom sklearn.ensemble import "
                      "RandomForestClassifier as RF\n")
    assert result.qualify("np.random.seed") == "numpy.random.seed"
    assert result.qualify("RF") == "sklearn.ensemble.RandomForestClassifier"
    assert result.qualify("other.thing") == "other.thing"


# -- invariants -----------------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from nb2pipe.lint.runner import lint_notebook  # noqa: E402

STATEMENTS = st.sampled_from([
    "{new} = {old} + 1", "{new} = [v for v in range(3)]", "def {new}(a):\n    return a + {old}",
    "for {new} in range(2):\n    pass", "{new}, _rest = {old}, 0", "import math as {new}",
    "class {new}:\n    size = {old}", "with open(__file__ if False else 'x') as {new}:\n    pass",
    "{new} = lambda q: q * {old}", "if ({new} := {old}):\n    pass",
])


@settings(max_examples=200, deadline=None)
@given(st.lists(STATEMENTS, min_size=1, max_size=10), st.randoms(use_true_random=False))
def test_a_notebook_in_dependency_order_has_no_order_findings(templates, rng):
    """Every name read was bound by an earlier cell, counts run 1..n: no NB1xx finding."""
    names = ["seed0"]
    cells = ["# %% execution_count=1\nseed0 = 1\n"]
    for number, template in enumerate(templates, 2):
        new = f"v{number}"
        source = template.format(new=new, old=rng.choice(names))
        if "open(" in source:
            source = f"{new} = None"
        cells.append(f"# %% execution_count={number}\n{source}\n")
        names.append(new)
    notebook = notebook_from_percent("".join(cells))
    found = [d for d in lint_notebook(notebook, with_project=False) if d.code.startswith("NB1")]
    assert found == [], [(d.code, d.message) for d in found]
