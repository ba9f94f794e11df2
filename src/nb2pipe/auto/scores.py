"""Scores a notebook computes where a name alone does not show them, for ``--auto``'s metrics.

- **A Keras model's ``evaluate(…)``**: its loss, then the metrics it was compiled with
  (``model.compile(metrics=["accuracy"])`` → ``loss, accuracy``).
- **A notebook function that scores a model**: it returns a score (``return accuracy``), a
  dict of scores (``return {"accuracy": …, "f1": …}``), or only prints the scores it computes.
  The last kind is given a ``return`` of the scores it prints, so that its callers can keep
  them; that is done only when every use of the function is a call whose value is discarded
  (nothing could see the new return value).
- **No score at all**: the model's score on the data it was fitted on, recorded as MLflow's
  autolog records it (``training_score``; ``training_accuracy`` for a classifier,
  ``training_r2`` for a regressor), or a Keras fit's last training loss. It says how well the
  model fits, not how well it generalises: the proposal says so.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from nb2pipe.analysis.facts import dotted_name

#: scikit-learn-style libraries whose estimators score themselves (``estimator.score(X, y)``).
_SCORING_LIBRARIES = ("sklearn.", "xgboost.", "lightgbm.", "catboost.")
#: Unsupervised scikit-learn classes with a ``score`` (higher is better, like the others).
_UNSUPERVISED_SCORES = frozenset({
    "KMeans", "MiniBatchKMeans", "BisectingKMeans", "GaussianMixture",
    "BayesianGaussianMixture", "PCA", "FactorAnalysis", "LatentDirichletAllocation",
    "KernelDensity"})
#: Wrappers that score with the estimator they hold.
_WRAPPERS = frozenset({"Pipeline", "make_pipeline", "GridSearchCV", "RandomizedSearchCV",
                       "HalvingGridSearchCV", "HalvingRandomSearchCV"})
_SUPERVISED = re.compile(r"(Classifier|Regressor|Regression|SVC|SVR|NB|CV)$")


#: Names and printed labels that say a number is a metric.
METRIC_WORDS = (r"(?:acc|accuracy|precision|recall|f1(?:_score)?|auc|roc_auc|r2|r_squared|"
                 r"mae|mse|rmse|mape|error|loss|score|logloss|log_loss|"
                 r"mean_absolute_error|mean_squared_error|root_mean_squared_error)")
METRIC_NAME = re.compile(rf"(?:\w+_)?{METRIC_WORDS}(?:_\w+)?", re.I)
#: Calls whose result is a number when their argument is (rounding, means, roots).
_NUMERIC_CALLS = frozenset({"round", "float", "abs", "mean", "sqrt", "median", "sum", "max",
                            "min", "average", "nanmean"})


def changed_names(statement: ast.stmt) -> set[str]:
    """The names a compound statement may bind or change: its stores, the bases of its item
    and attribute stores, and the receivers of the methods it calls (a loop's ``df.append``)."""
    changed = set()
    for node in ast.walk(statement):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            changed.add(node.id)
        elif isinstance(node, (ast.Subscript, ast.Attribute)) and \
                not isinstance(node.ctx, ast.Load) or isinstance(node, ast.Call) and \
                isinstance(node.func, ast.Attribute):
            base = node.func.value if isinstance(node, ast.Call) else node.value
            while isinstance(base, (ast.Attribute, ast.Subscript)):
                base = base.value
            if isinstance(base, ast.Name):
                changed.add(base.id)
    return changed


def segment_of(text: str, statement: ast.stmt, node: ast.expr) -> str | None:
    """The source of ``node`` inside ``text``, the source of ``statement``."""
    lines = text.splitlines(keepends=True)
    first = node.lineno - statement.lineno
    last = (node.end_lineno or node.lineno) - statement.lineno
    if first < 0 or last >= len(lines):
        return None
    start = node.col_offset - (statement.col_offset if first == 0 else 0)
    stop = node.end_col_offset - (statement.col_offset if last == 0 else 0)
    if first == last:
        return lines[first].encode()[start:stop].decode(errors="replace")
    parts = [lines[first].encode()[start:].decode(errors="replace"), *lines[first + 1:last],
             lines[last].encode()[:stop].decode(errors="replace")]
    return "".join(parts)


def numeric(node: ast.expr) -> bool:
    """Whether ``node`` computes a number (arithmetic, rounding, a mean), as far as its
    shape says: a metric named by its variable (``accuracy = 100 - np.mean(mape)``)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (int, float)) and not isinstance(node.value, bool)
    if isinstance(node, ast.BinOp):
        return numeric(node.left) or numeric(node.right)
    if isinstance(node, ast.UnaryOp):
        return numeric(node.operand)
    if isinstance(node, ast.Call):
        last = node.func.attr if isinstance(node.func, ast.Attribute) else \
            node.func.id if isinstance(node.func, ast.Name) else ""
        return last in _NUMERIC_CALLS
    return False


@dataclass(frozen=True)
class FunctionScores:
    """What a notebook function gives of its scores: ``kind`` is ``number`` (it returns the
    score ``names[0]``), ``dict`` (it returns a dict with these keys) or ``prints`` (it prints
    these local scores and returns nothing: :func:`return_line` makes it return them)."""

    kind: str
    names: tuple[str, ...]
    node: ast.FunctionDef
    cell: int


def is_metric_name(name: str) -> bool:
    return bool(METRIC_NAME.fullmatch(name))


def compiled_metrics(analysis, receiver: str) -> list[str] | None:
    """The metric names ``receiver.compile(metrics=[…])`` gives a Keras model (``[]`` when it
    has none), or ``None`` when they are not literal strings or no compile is seen."""
    found = None
    for _cell, call, _qualified in analysis.qualified_calls:
        func = call.node.func
        if call.attr == "compile" and isinstance(func, ast.Attribute) and \
                isinstance(func.value, ast.Name) and func.value.id == receiver:
            keyword = next((k.value for k in call.node.keywords if k.arg == "metrics"), None)
            if keyword is None:
                found = []
            elif isinstance(keyword, (ast.List, ast.Tuple)) and all(
                    isinstance(e, ast.Constant) and isinstance(e.value, str) and
                    e.value.isidentifier() for e in keyword.elts):
                found = [e.value for e in keyword.elts]
            else:
                found = None
    return found


def is_keras_model(analysis, receiver: ast.expr) -> bool:
    """Whether ``receiver`` is a Keras model: it is compiled somewhere in the notebook, or
    made by a ``keras`` class."""
    if not isinstance(receiver, ast.Name):
        return False
    for _cell, call, _qualified in analysis.qualified_calls:
        func = call.node.func
        if call.attr == "compile" and isinstance(func, ast.Attribute) and \
                isinstance(func.value, ast.Name) and func.value.id == receiver.id:
            return True
    made = constructor(analysis, receiver.id)
    return made is not None and "keras" in made.split(".")


def constructor(analysis, name: str, until: int | None = None) -> str | None:
    """The qualified class the last top-level assignment to ``name`` (in the cells up to
    ``until``) calls: ``RandomForestClassifier().fit(…)`` counts as its class, a refit
    (``pca = pca.fit(X)``) keeps it; ``None`` when not a call."""
    made = None
    for index, facts in sorted(analysis.facts.items()):
        if until is not None and index > until:
            break
        for assignment in facts.assignments:
            if assignment.name == name:
                value = assignment.value
                while isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) \
                        and value.func.attr in ("fit", "set_params"):
                    value = value.func.value
                if isinstance(value, ast.Name) and value.id == name:
                    continue
                made = analysis.qualify(dotted_name(value.func)) \
                    if isinstance(value, ast.Call) else None
    return made


def scores_itself(qualified: str | None) -> bool:
    """Whether instances of this class have a ``score`` method that takes the fit's data."""
    if not qualified or not qualified.startswith(_SCORING_LIBRARIES):
        return False
    last = qualified.rpartition(".")[2]
    return bool(_SUPERVISED.search(last)) or last in _UNSUPERVISED_SCORES or \
        last in _WRAPPERS or last in ("LogisticRegression", "Ridge", "Lasso", "ElasticNet",
                                      "Perceptron", "LinearDiscriminantAnalysis",
                                      "QuadraticDiscriminantAnalysis", "NearestCentroid",
                                      "BayesianRidge", "ARDRegression", "KernelRidge", "Lars",
                                      "LassoLars")


def notebook_functions(notebook) -> dict[str, FunctionScores]:
    """The notebook's top-level functions that give scores (see :class:`FunctionScores`),
    by name; a name defined twice counts by its last definition."""
    found: dict[str, FunctionScores | None] = {}
    for cell in notebook.code_cells:
        tree = cell.tree
        for statement in tree.body if tree is not None else ():
            if isinstance(statement, ast.FunctionDef):
                found[statement.name] = _function_scores(statement, cell.index)
    return {name: scores for name, scores in found.items() if scores is not None}


def _function_scores(node: ast.FunctionDef, cell: int) -> FunctionScores | None:
    returns = [n for n in _own_nodes(node) if isinstance(n, ast.Return) and n.value is not None]
    if any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in _own_nodes(node)):
        return None
    dicts = {s.targets[0].id: s.value for s in node.body
             if isinstance(s, ast.Assign) and len(s.targets) == 1 and
             isinstance(s.targets[0], ast.Name) and isinstance(s.value, ast.Dict)}
    if returns:
        values = [r.value for r in returns]
        if all(isinstance(v, ast.Name) and is_metric_name(v.id) for v in values):
            return FunctionScores("number", (values[0].id,), node, cell)
        keys: list[str] = []
        for value in values:
            if isinstance(value, ast.Name):
                value = dicts.get(value.id)
            if not isinstance(value, ast.Dict) or not value.keys:
                return None
            for key in value.keys:
                if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                    return None
                if is_metric_name(key.value) and key.value not in keys:
                    keys.append(key.value)
        return FunctionScores("dict", tuple(keys), node, cell) if keys else None
    printed = {n.id for call in _own_nodes(node) if isinstance(call, ast.Call) and
               isinstance(call.func, ast.Name) and call.func.id == "print"
               for n in ast.walk(call) if isinstance(n, ast.Name)}
    names = []
    for statement in node.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and \
                isinstance(statement.targets[0], ast.Name):
            name = statement.targets[0].id
            value = statement.value
            scored = numeric(value) or isinstance(value, ast.Call) and (
                (dotted_name(value.func) or "").endswith(("_score", "_error", "_loss", ".score")))
            if name in printed and is_metric_name(name) and scored and name not in names:
                names.append(name)
    last = node.body[-1] if node.body else None
    if not names or last is None or last.lineno == node.lineno or \
            isinstance(last, (ast.If, ast.For, ast.While, ast.With, ast.Try)):
        return None  # (a body that ends in a block: where the return goes is not plain)
    return FunctionScores("prints", tuple(names), node, cell)


def _own_nodes(function: ast.FunctionDef):
    """The nodes of ``function``'s body, not those of functions or classes inside it."""
    stack = list(function.body)
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda,
                                 ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(node))


def only_called_for_effect(notebook, name: str) -> bool:
    """Whether every use of ``name`` in the notebook is a call statement at a cell's top
    level whose value is discarded (so a function that starts returning something changes
    nothing that runs)."""
    uses = calls = 0
    for cell in notebook.code_cells:
        tree = cell.tree
        if tree is None:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id == name:
                uses += 1
        for statement in tree.body:
            if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call) and \
                    isinstance(statement.value.func, ast.Name) and \
                    statement.value.func.id == name:
                calls += 1
    return uses == calls


def return_line(function: FunctionScores, source: str) -> tuple[int, str] | None:
    """Where and what to add at the end of a ``prints`` function so that it returns the scores
    it prints: ``(line after which to insert, text)``, or ``None``."""
    node = function.node
    first = node.body[0]
    lines = source.splitlines()
    if first.lineno == node.lineno or first.lineno > len(lines):
        return None
    indent = lines[first.lineno - 1][:first.col_offset]
    if indent.strip():
        return None
    pairs = ", ".join(f'"{n}": {n}' for n in function.names)
    return node.end_lineno or node.lineno, f"{indent}return {{{pairs}}}\n"


def pure(node: ast.expr) -> bool:
    """Whether evaluating ``node`` again gives the same value and does nothing else: names,
    attributes, subscripts by such, literals."""
    for part in ast.walk(node):
        if not isinstance(part, (ast.Name, ast.Attribute, ast.Subscript, ast.Constant,
                                 ast.Slice, ast.Tuple, ast.List, ast.Load, ast.UnaryOp,
                                 ast.USub)):
            return False
    return True
