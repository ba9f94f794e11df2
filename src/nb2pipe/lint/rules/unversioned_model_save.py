import ast

from nb2pipe.analysis.knowledge import MODEL_EXTENSIONS, looks_like_model
from nb2pipe.lint.rule import Context, Invalid, Rule

_DUMPERS = frozenset({"pickle.dump", "joblib.dump", "dill.dump", "cloudpickle.dump",
                      "torch.save", "sklearn.externals.joblib.dump", "cPickle.dump"})
_SAVE_METHODS = frozenset({"save", "save_model", "save_weights", "save_pretrained"})
_SAVE_FUNCTIONS = frozenset({"tensorflow.saved_model.save", "keras.models.save_model",
                             "tensorflow.keras.models.save_model"})


def fixed_path(node: ast.AST | None, names: dict[str, str] | None = None) -> str | None:
    """The literal path a save call writes to, or ``None`` when it is computed. ``names``:
    the notebook's names bound once to a literal path (``filename = "model.sav"``)."""
    names = names or {}
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.Call):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name in ("open", "Path", "join") and node.args:
            parts = [fixed_path(a, names) if isinstance(a, (ast.Constant, ast.Name)) else None
                     for a in node.args]
            if parts[0] is not None and (name == "open" or None not in parts):
                return "/".join(parts) if name != "open" else parts[0]
    return None


def _label(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Call):
        return _label(node.func.value) if isinstance(node.func, ast.Attribute) else None
    return None


class UnversionedModelSave(Rule):
    """A model saved to a fixed path.

    ## What it does
    Flags `pickle.dump`, `joblib.dump`, `torch.save`, `model.save(...)`, `save_model`,
    `save_weights` and `save_pretrained` calls that write a model to a fixed path: a literal
    such as `"model.pkl"`, or a name the notebook binds once to one
    (`filename = "model.sav"`). A call counts as saving a model when the object is one by
    dataflow (the notebook fits it or predicts with it: `clf.fit(…)`, `m = SVC().fit(…)`) or
    by its name (`clf`, `rf_model`, `pipeline`…); the file name (`*.joblib`, `*.pt`) decides
    only when the object has no name (`torch.save(net.state_dict(), …)` has one: `net`). A
    dictionary of credentials or a vocabulary pickled to `*.pkl` is not a model.

    ## Why is this bad?
    Every run overwrites the previous model: there is no telling which data, code and parameters
    produced the file that gets deployed, and no going back to the one that worked.

    ## Example
    ```python
    # %%
    joblib.dump(model, "model.pkl")
    ```

    ## Use instead
    ```python
    # %%
    mlflow.sklearn.log_model(model, name="model")
    ```
    or at least put a version or run id in the path.

    ## Fix safety
    No automatic fix.
    """

    code = "NB302"
    name = "unversioned-model-save"
    category = "tracked"
    VALID = (
        '# %%\nimport pickle\npickle.dump(data, open("cache.txt", "wb"))\n',
        '# %%\nimport joblib\njoblib.dump(model, f"models/model-{run_id}.pkl")\n',
        '# %%\nimg.save("figure.png")\n',
        '# %%\nimport joblib\npath = "a.joblib"\npath = f"models/{run_id}.joblib"\n'
        'joblib.dump(model, path)\n',
        # not models: nothing fits them or predicts with them, and their names say data
        '# %%\nimport pickle\ncredentials = {"user": "me"}\n'
        'pickle.dump(credentials, open("creds.pkl", "wb"))\n'
        'pickle.dump(vocab, open("vocab.pkl", "wb"))\n',
        '# %%\ncorpus.save("corpus.txt")\n',
    )
    INVALID = (
        Invalid('# %%\nimport joblib, pickle\njoblib.dump(model, "model.pkl")\n'
                'with open("clf.pickle", "wb") as f:\n    pickle.dump(clf, f)\n', count=2),
        Invalid('# %%\nmodel.save("my_model.h5")\nimport torch\ntorch.save(net.state_dict(), '
                '"weights.pt")\n', count=2),
        # a path in a constant, an XGBoost model in JSON
        Invalid('# %%\nimport joblib\nMODEL_PATH = "rf.joblib"\n# %%\njoblib.dump(rf, MODEL_PATH)\n'
                'booster.save_model("xgb.json")\n', count=2),
        # by dataflow: `m` is fitted; the path is in a variable; a library's own format
        Invalid('# %%\nimport pickle\nm = SVC()\nm.fit(X, y)\nfilename = "finalized.sav"\n'
                'pickle.dump(m, open(filename, "wb"))\n', count=1,
                message="`m` is saved to the fixed path `finalized.sav`"),
        Invalid('# %%\nmodel = Word2Vec(sentences)\nmodel.save("model5.gensim")\n', count=1),
        Invalid('# %%\nfitted = LogisticRegression().fit(X, y)\n'
                'fitted.save_model("lr.json")\n', count=1),
    )

    def check(self, ctx: Context):
        analysis = ctx.analysis
        constants = None
        trained = None
        for cell, facts in analysis.cells_with_facts():
            opened = None
            for call in facts.calls:
                node = call.node
                qualified = analysis.qualify(call.dotted) or ""
                obj = path_node = None
                if qualified in _DUMPERS or qualified in _SAVE_FUNCTIONS:
                    obj = node.args[0] if node.args else None
                    path_node = node.args[1] if len(node.args) > 1 else next(
                        (k.value for k in node.keywords if k.arg in ("filename", "f", "export_dir",
                                                                       "filepath", "file")), None)
                    label = _label(obj)
                elif call.attr in _SAVE_METHODS and isinstance(node.func, ast.Attribute):
                    path_node = node.args[0] if node.args else next(
                        (k.value for k in node.keywords if k.arg in ("filepath", "fname", "path",
                                                                       "save_directory")), None)
                    label = _label(node.func.value)
                else:
                    continue
                constants = _path_constants(analysis) if constants is None else constants
                if isinstance(path_node, ast.Name):
                    opened = _opened_files(cell.tree, constants) if opened is None else opened
                    path = opened.get(path_node.id) or constants.get(path_node.id)
                else:
                    path = fixed_path(path_node, constants)
                if path is None:
                    continue
                trained = _trained(analysis) if trained is None else trained
                if label is not None:
                    is_model = label in trained or looks_like_model(label)
                else:
                    is_model = looks_like_model(path) or path.lower().endswith(MODEL_EXTENSIONS)
                if not is_model:
                    continue
                what = "the model" if label is None or looks_like_model(label) else f"`{label}`"
                yield self.report(
                    ctx, cell, f"{what} is saved to the fixed path `{path[:60]}`: each run "
                               f"overwrites the last", node=node,
                    help="log it to a tracker (`mlflow.<flavor>.log_model`) or put a version or "
                         "run id in the path")


def _path_constants(analysis) -> dict[str, str]:
    """Names the notebook binds once, to a literal string (``MODEL_PATH = "model.pkl"``)."""
    counts = analysis.bind_counts
    return {a.name: a.value.value for facts in analysis.facts.values() for a in facts.assignments
            if counts.get(a.name) == 1 and isinstance(a.value, ast.Constant) and
            isinstance(a.value.value, str)}


#: Methods called only on models: a name they are called on is a model (by dataflow).
_MODEL_METHODS = frozenset({"fit", "partial_fit", "fit_predict", "predict", "predict_proba",
                            "predict_log_proba", "decision_function", "train", "compile",
                            "fit_generator"})


def _trained(analysis) -> set[str]:
    """The names the notebook fits or predicts with (``clf.fit(…)``, ``model.predict(…)``),
    and those bound to a fit's result (``m = SVC().fit(…)``)."""
    found = set()
    for facts in analysis.facts.values():
        for call in facts.calls:
            func = call.node.func
            if call.attr in _MODEL_METHODS and isinstance(func, ast.Attribute) and \
                    isinstance(func.value, ast.Name):
                found.add(func.value.id)
        for assignment in facts.assignments:
            value = assignment.value
            if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and \
                    value.func.attr in _MODEL_METHODS - {"predict", "predict_proba",
                                                         "predict_log_proba",
                                                         "decision_function"}:
                found.add(assignment.name)
    return found


def _opened_files(tree, names: dict[str, str] | None = None) -> dict[str, str]:
    """``with open("x.pkl", "wb") as f`` → ``{"f": "x.pkl"}``."""
    found: dict[str, str] = {}
    if tree is None:
        return found
    for node in ast.walk(tree):
        items = node.items if isinstance(node, ast.With) else []
        for item in items:
            path = fixed_path(item.context_expr, names)
            if path is not None and isinstance(item.optional_vars, ast.Name):
                found[item.optional_vars.id] = path
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Call):
            path = fixed_path(node.value, names)
            if path is not None:
                found[node.targets[0].id] = path
    return found
