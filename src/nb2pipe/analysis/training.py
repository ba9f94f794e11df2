"""Where a notebook trains its model: the first call that fits one (not a scaler's or an
imputer's fit), shared by the rules that ask whether a notebook trains (NB301, NB303, NB406,
the folder rules) and by the pipeline builder, which finds the model to register."""

from __future__ import annotations

import ast
import weakref

from nb2pipe.analysis.facts import dotted_name
from nb2pipe.analysis.knowledge import ML_MODULES

_TRAINING_FUNCTIONS = frozenset({
    "xgboost.train", "xgboost.cv", "lightgbm.train", "lightgbm.cv", "catboost.cv",
    "sklearn.model_selection.cross_val_score", "sklearn.model_selection.cross_validate",
})
_TRAINING_METHODS = frozenset({"fit", "fit_generator", "partial_fit"})


#: scikit-learn modules of data preparation: fitting one of these alone trains no model.
_PREPARATION = ("sklearn.preprocessing.", "sklearn.impute.", "sklearn.feature_extraction.",
                "sklearn.feature_selection.", "sklearn.compose.")
#: …and of unsupervised transformers, a model only when the notebook fits nothing else.
_UNSUPERVISED = ("sklearn.decomposition.", "sklearn.manifold.")


def first_training(analysis):
    """The first call that trains a model, as ``(cell, call)``, or ``None``.

    A scaler or an imputer fit is data preparation, not training; a PCA fit, and a
    scikit-learn model's ``fit_predict``/``fit_transform`` (a clustering, an embedding), count
    only when the notebook trains nothing else. Computed once per analysis (three rules ask)."""
    if not analysis.imported_modules & ML_MODULES:
        return None
    try:
        return _FIRST_TRAINING[analysis]
    except KeyError:
        found = _FIRST_TRAINING[analysis] = _first_training(analysis)
        return found


_FIRST_TRAINING: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _first_training(analysis):
    made_by = _constructors(analysis)
    fallback = None
    for cell, call, qualified in analysis.qualified_calls:
        qualified = qualified or ""
        if qualified in _TRAINING_FUNCTIONS:
            return cell, call
        if call.attr in _TRAINING_METHODS and (call.node.args or call.node.keywords):
            if qualified.startswith(("scipy.", "numpy.", "pandas.")):
                continue
            receiver = call.node.func.value
            if isinstance(receiver, ast.Call):
                kind = analysis.qualify(dotted_name(receiver.func)) or ""
            else:
                kind = made_by.get(receiver.id, "") if isinstance(receiver, ast.Name) else ""
            if kind.startswith(_PREPARATION):
                continue
            if kind.startswith(_UNSUPERVISED):
                fallback = fallback or (cell, call)
                continue
            return cell, call
        if call.attr in ("fit_predict", "fit_transform") and call.node.args and \
                isinstance(call.node.func.value, ast.Name) and \
                not made_by.get(call.node.func.value.id, "").startswith(_PREPARATION) and \
                made_by.get(call.node.func.value.id, "").startswith("sklearn."):
            fallback = fallback or (cell, call)  # clusters, embeddings: if nothing else
            continue
        if call.attr == "train" and call.dotted and "trainer" in call.dotted.lower():
            return cell, call
    return fallback


def _constructors(analysis) -> dict[str, str]:
    """Variable → the scikit-learn class every assignment to it constructs (``scaler`` →
    ``sklearn.preprocessing.StandardScaler``); a variable also bound otherwise is left out."""
    made_by: dict[str, str] = {}
    other: set[str] = set()
    for _cell, facts in analysis.cells_with_facts():
        for assignment in facts.assignments:
            value = assignment.value
            kind = analysis.qualify(dotted_name(value.func)) \
                if isinstance(value, ast.Call) else None
            if kind and kind.startswith("sklearn.") and \
                    made_by.get(assignment.name, kind) == kind:
                made_by[assignment.name] = kind
            else:
                other.add(assignment.name)
    return {name: kind for name, kind in made_by.items() if name not in other}
