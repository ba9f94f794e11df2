"""`convert --auto` finds the scores notebooks compute out of sight: in a function of their
own, in a Keras evaluation, in cross-validation arrays, or nowhere (the model's training
score then). The proposal's cells print what the notebook's printed, and the metrics hold
the values the notebook computed."""

import contextlib
import io

import pytest

from nb2pipe.auto import propose as propose_with
from nb2pipe.lint.tidy import tidy
from nb2pipe.notebook.reader import notebook_from_percent
from nb2pipe.pipeline.build import build_pipeline

HEAD = ("# %%\nimport numpy as np\nimport pandas as pd\n"
        "from sklearn.linear_model import LinearRegression, LogisticRegression\n"
        "from sklearn.cluster import KMeans\n"
        "from sklearn.metrics import accuracy_score, f1_score\n"
        "from sklearn.model_selection import GridSearchCV, cross_val_score\n"
        "# %% [markdown]\n# ## Load\n# %%\n"
        "df = pd.DataFrame({'a': np.arange(40.0), 'b': np.arange(40.0) % 7, "
        "'y': (np.arange(40) % 2)})\n")


def propose(source: str):
    notebook = notebook_from_percent(source, "nb.ipynb")
    proposal = propose_with(notebook, tidy)
    pipeline, problems = build_pipeline(proposal.notebook)
    assert pipeline is not None, problems
    return notebook, proposal, pipeline


def execute(notebook, metrics_cell: bool = True) -> tuple[str, dict]:
    """What running the cells top to bottom prints and shows (a cell's last expression, as
    Jupyter shows it), the pipeline-metrics cell apart; and the namespace after."""
    import ast

    namespace: dict = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for cell in notebook.code_cells:
            if "pipeline-metrics" in cell.tags and not metrics_cell:
                continue
            tree = ast.parse(cell.source)
            last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) \
                else None
            exec(compile(tree, f"cell{cell.index}", "exec"), namespace)
            if last is not None:
                value = eval(compile(ast.Expression(last.value), f"cell{cell.index}", "eval"),
                             namespace)
                if value is not None:
                    print("Out:", repr(value))
    return out.getvalue(), namespace


def same_prints(notebook, proposal) -> dict:
    before, _ = execute(notebook)
    after, namespace = execute(proposal.notebook, metrics_cell=False)
    assert after == before
    return namespace


CASES = [
    # (the training and evaluating cells, the metrics, an expression of their values)
    pytest.param(
        "model = LinearRegression()\nmodel.fit(df.drop('y', axis=1), df.y)\n"
        "print(model.coef_.round(3))\n",
        ["training_r2"], "model.score(df.drop('y', axis=1), df.y)",
        id="no score shown: the regressor's R² on its (computed) training data"),
    pytest.param(
        "model = LinearRegression()\nmodel.fit(df[['a']], df.y)\n",
        ["training_r2"], "model.score(df[['a']], df.y)",
        id="the fit is the cell's last expression: the model it shows stays shown"),
    pytest.param(
        "model = LogisticRegression()\nscores = cross_val_score(model, df[['a', 'b']], df.y, "
        "cv=3)\nprint(scores.round(3))\n",
        ["cv_score"], "cross_val_score(model, df[['a', 'b']], df.y, cv=3).mean()",
        id="cross-validation scores printed"),
    pytest.param(
        "sse = []\nfor k in range(1, 4):\n    km = KMeans(n_clusters=k, n_init=3, "
        "random_state=0)\n    km.fit(df[['a', 'b']])\n    sse.append(km.inertia_)\n"
        "print(len(sse))\n",
        ["training_score"], "-sse[-1]",
        id="an elbow loop: the last model's score (minus its inertia) after the loop"),
    pytest.param(
        "model = LogisticRegression().fit(df[['a', 'b']], df.y)\n"
        "# %% [markdown]\n# ## Evaluate\n# %%\n"
        "def evaluate(model, X, y):\n    predictions = model.predict(X)\n"
        "    accuracy = np.mean(predictions == y)\n    f1_value = f1_score(y, predictions)\n"
        "    print(f'Accuracy: {100 * accuracy:.2f}%')\n    print('F1', f1_value)\n"
        "# %%\nevaluate(model, df[['a', 'b']], df.y)\n",
        ["accuracy", "f1_value"],
        "[np.mean(model.predict(df[['a', 'b']]) == df.y), "
        "f1_score(df.y, model.predict(df[['a', 'b']]))]",
        id="a function that only prints its scores"),
    pytest.param(
        "model = LogisticRegression().fit(df[['a', 'b']], df.y)\n"
        "# %% [markdown]\n# ## Evaluate\n# %%\n"
        "def evaluate_preds(y_true, y_preds):\n    accuracy = accuracy_score(y_true, y_preds)\n"
        "    metric_dict = {'accuracy': round(accuracy, 2), 'rows': len(y_true)}\n"
        "    return metric_dict\n"
        "# %%\nbaseline_metrics = evaluate_preds(df.y, model.predict(df[['a', 'b']]))\n"
        "print(baseline_metrics)\n",
        ["accuracy"], "[round(accuracy_score(df.y, model.predict(df[['a', 'b']])), 2)]",
        id="a function that returns a dict of scores"),
    pytest.param(
        "model = LogisticRegression()\nscores = cross_val_score(model, df[['a', 'b']], df.y, "
        "cv=3)\nscores\n",
        ["cv_score"], "cross_val_score(model, df[['a', 'b']], df.y, cv=3).mean()",
        id="cross-validation scores displayed"),
    pytest.param(
        "grid = GridSearchCV(LogisticRegression(), {'C': [0.1, 1.0]}, cv=3)\n"
        "grid.fit(df[['a', 'b']], df.y)\ngrid.best_score_\n",
        ["best_cv_score"], "grid.best_score_",
        id="a search's best score displayed"),
]


@pytest.mark.parametrize("cells, metrics, values", CASES)
def test_auto_finds_scores_out_of_sight(cells, metrics, values):
    notebook, proposal, pipeline = propose(
        HEAD + "# %% [markdown]\n# ## Train\n# %%\n" + cells)
    assert pipeline.metrics == metrics
    namespace = same_prints(notebook, proposal)
    expected = eval(values, namespace)
    found = [namespace[m] for m in metrics]
    assert found == pytest.approx(expected if isinstance(expected, list) else [expected])


def test_a_training_score_is_said_to_be_one():
    """The note says the score is on the training data, and how to do better."""
    _, proposal, _ = propose(HEAD + "# %% [markdown]\n# ## Train\n# %%\n"
                             "model = LinearRegression().fit(df[['a']], df.y)\n")
    note = " ".join(proposal.notes)
    assert "`training_r2`" in note and "held-out data" in note


def test_a_function_used_otherwise_is_not_given_a_return():
    """A function whose value a caller could see (passed around, its result used) keeps its
    body: no metric comes from it then."""
    cells = ("model = LogisticRegression().fit(df[['a', 'b']], df.y)\n"
             "# %% [markdown]\n# ## Evaluate\n# %%\n"
             "def evaluate(model):\n    accuracy = model.score(df[['a', 'b']], df.y)\n"
             "    print('accuracy', accuracy)\n"
             "# %%\nresults = [evaluate(model)]\nprint(results)\n")
    notebook, proposal, pipeline = propose(HEAD + "# %% [markdown]\n# ## Train\n# %%\n" + cells)
    assert "accuracy" not in pipeline.metrics
    assert not any("return" in c.source for c in proposal.notebook.code_cells)
    same_prints(notebook, proposal)


KERAS = ("# %%\nfrom tensorflow import keras\n# %% [markdown]\n# ## Load\n# %%\n"
         "X, y = load()\n# %% [markdown]\n# ## Train\n# %%\n"
         "model = keras.Sequential([keras.layers.Dense(1)])\n"
         "model.compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy'])\n"
         "model.fit(X, y, epochs=2)\n")


@pytest.mark.parametrize("evaluation, metrics, line", [
    ("model.evaluate(X, y)\n", ["loss", "accuracy"], "loss, accuracy = evaluation"),
    ("test_loss, test_acc = model.evaluate(X, y)\n", ["test_loss", "test_acc"], None),
    ("print(model.evaluate(X, y))\n", ["loss", "accuracy"], "print(evaluation)"),
    ("", ["training_loss", "training_accuracy"],
     'training_accuracy = history.history["accuracy"][-1]'),
])
def test_keras_evaluations_and_fits_give_their_compiled_metrics(evaluation, metrics, line):
    """Keras's evaluate returns the loss then the compiled metrics; with no evaluation, the
    fit's last epoch. (Static: the proposal's text, not a run; TensorFlow is not needed.)"""
    source = KERAS + ("# %% [markdown]\n# ## Evaluate\n# %%\n" + evaluation if evaluation
                      else "")
    _, proposal, pipeline = propose(source.replace("X, y = load()",
                                                   "X, y = [[0.0]], [0]"))
    assert pipeline.metrics == metrics
    text = "\n".join(c.source for c in proposal.notebook.code_cells)
    if line:
        assert line in text


def test_a_heading_above_a_functions_cell_names_the_step_after_it():
    """`## Evaluate`, then the evaluating function's cell, then the call: the step is
    `evaluate`, not `step_3`."""
    prints = next(case for case in CASES if "only prints" in case.id)
    _, proposal, _ = propose(HEAD + "# %% [markdown]\n# ## Train\n# %%\n" +
                             prints.values[0])
    assert [s.name for s in proposal.steps] == ["load", "train", "evaluate"]
