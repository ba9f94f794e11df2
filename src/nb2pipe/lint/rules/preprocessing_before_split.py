import ast

from nb2pipe.analysis.facts import base_name, dotted_name, names_in
from nb2pipe.analysis.knowledge import TRAIN_TEST_SPLITS
from nb2pipe.lint.rule import Context, Invalid, Rule

#: scikit-learn modules whose estimators learn statistics from the data they are fit on.
_LEARNING_MODULES = ("sklearn.preprocessing.", "sklearn.impute.", "sklearn.feature_selection.",
                     "sklearn.decomposition.", "sklearn.feature_extraction.text.")
#: …except those that learn nothing from the rows (fitting them on everything is harmless).
_STATELESS = frozenset({"PolynomialFeatures", "FunctionTransformer", "Normalizer", "Binarizer",
                        "SplineTransformer", "HashingVectorizer"})
#: Encoders that learn only the set of categories. One policy for all of them: fit on the
#: target (the last array a split gets: `train_test_split(X, y)`), they learn the label space,
#: which is not a leak; fit on features, they learn which categories the test rows hold (a
#: column for a category only the test rows have), which is.
_CATEGORY_ENCODERS = frozenset({"LabelEncoder", "LabelBinarizer", "MultiLabelBinarizer",
                                "OneHotEncoder", "OrdinalEncoder"})


#: pandas statistics that, filled or subtracted back into the data, carry every row's values.
_STATISTICS = frozenset({"mean", "median", "mode", "std", "var", "max", "min", "quantile"})


def _statistic_of(nodes, data: str) -> str | None:
    """The statistic of ``data`` that ``nodes`` compute somewhere inside them (``mean`` in
    ``df["age"].fillna(df["age"].mean())``), or ``None``."""
    for node in nodes:
        for child in ast.walk(node):
            if isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute) and \
                    child.func.attr in _STATISTICS and base_name(child.func.value) == data:
                return child.func.attr
    return None


def _operands(node: ast.AST):
    """The operands of an arithmetic expression, through nested operations (``X`` and
    ``X.mean()`` in ``(X - X.mean()) / X.std()``), left to right. A loop, not recursion:
    ``a + a + … + a`` nests as deep as it is long."""
    stack = [node]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.BinOp):
            stack += (node.right, node.left)
        else:
            yield node


def _learns(qualified: str | None) -> bool:
    return bool(qualified) and qualified.startswith(_LEARNING_MODULES) and \
        qualified.rsplit(".", 1)[-1] not in _STATELESS




class PreprocessingBeforeSplit(Rule):
    """A scaler, encoder, imputer or feature selector fit on data that is split afterwards.

    ## What it does
    Follows the notebook top to bottom and flags `fit` / `fit_transform` calls of scikit-learn
    transformers that learn from the data (scalers, encoders, imputers, feature selectors, PCA,
    text vectorizers) when the data they were fit on, or what was computed from it, is split
    later by `train_test_split`; and the same done by hand with pandas: missing values filled
    with a statistic of all rows (`df["age"].fillna(df["age"].median())`) or data scaled by
    its own (`(X - X.mean()) / X.std()`). Transformers that learn nothing from the rows
    (`PolynomialFeatures`, `FunctionTransformer`…) and transformers inside a `Pipeline` are not
    flagged. Encoders that learn only categories (`OneHotEncoder`, `OrdinalEncoder`,
    `LabelEncoder`, `LabelBinarizer`, `MultiLabelBinarizer`) follow one policy: fit on the
    labels (the last array the split gets, `y` in `train_test_split(X, y)`) they learn the
    label space, which is not flagged; fit on features, they learn which categories the test
    rows hold, which is. The rule follows values, not names: what a fit's output is assigned
    to (`X = encoder.fit_transform(X).toarray()`), and a name rebound to other data before
    the split is clean again.

    A transformer fit on all rows whose output only feeds a plot, and that is never used again
    (`PCA(2).fit_transform(X)` drawn in a scatter plot, then `X` split), leaks nothing and is
    left alone.

    ## Why is this bad?
    The transformer has seen the test rows: their means, categories or missing values shape
    the features the model is trained on. The test score is optimistic (data leakage, the
    most common one in notebooks — Yang et al., ASE 2022), and the model does worse in
    production than the notebook said.

    ## Example
    ```python
    # %%
    X_scaled = StandardScaler().fit_transform(X)
    X_train, X_test, y_train, y_test = train_test_split(X_scaled, y, random_state=0)
    ```

    ## Use instead
    ```python
    # %%
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    ```
    or `make_pipeline(StandardScaler(), model)` fit on the training split.

    ## Fix safety
    No automatic fix.
    """

    code = "NB601"
    name = "preprocessing-before-split"
    category = "reproducible"
    VALID = (
        "# %%\nfrom sklearn.model_selection import train_test_split\n"
        "from sklearn.preprocessing import StandardScaler\n"
        "X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)\n"
        "scaler = StandardScaler().fit(X_train)\nX_test_s = scaler.transform(X_test)\n",
        "# %%\nfrom sklearn.model_selection import train_test_split\n"
        "from sklearn.preprocessing import PolynomialFeatures\n"
        "P = PolynomialFeatures(2).fit_transform(X)\na, b = train_test_split(P, random_state=0)\n",
        "# %%\nfrom sklearn.model_selection import train_test_split\n"
        "from sklearn.pipeline import make_pipeline\nfrom sklearn.preprocessing import "
        "StandardScaler\nfrom sklearn.svm import SVC\na, b = train_test_split(X, random_state=0)"
        "\nmodel = make_pipeline(StandardScaler(), SVC()).fit(a, y)\n",
        "# %%\nfrom sklearn.model_selection import train_test_split\n"
        "from sklearn.decomposition import PCA\nZ = PCA(2).fit_transform(X)\n"
        "X = load_other()\na, b = train_test_split(X, random_state=0)\n",
        # a PCA fit on everything, only to draw it: the split gets the raw data
        "# %%\nfrom sklearn.model_selection import train_test_split\n"
        "from sklearn.decomposition import PCA\nimport matplotlib.pyplot as plt\n"
        "pca = PCA(2)\nshown = pca.fit_transform(X)\nplt.scatter(shown[:, 0], shown[:, 1])\n"
        "X_train, X_test = train_test_split(X, random_state=0)\n",
        "# %%\nfrom sklearn.model_selection import train_test_split\n"
        "from sklearn.preprocessing import LabelEncoder\ny = LabelEncoder().fit_transform(y)\n"
        "a, b, c, d = train_test_split(X, y, random_state=0)\n",
        # a statistic looked at, a constant filled in, and the training rows' mean: no leak
        "# %%\nfrom sklearn.model_selection import train_test_split\n"
        "print(df.Age.mean())\nratio = df.Age.max() / 2\ndf['Age'].fillna(0, inplace=True)\n"
        "df.Age.fillna(df.Age.median())\n"
        "X_train, X_test = train_test_split(df, random_state=0)\n"
        "X_test = X_test.fillna(X_train.mean())\nX_train = X_train.fillna(X_train.mean())\n",
    )
    INVALID = (
        # the same PCA, used again on the test rows: it learned from them
        Invalid("# %%\nfrom sklearn.model_selection import train_test_split\n"
                "from sklearn.decomposition import PCA\n"
                "pca = PCA(2)\nshown = pca.fit_transform(X)\n"
                "X_train, X_test = train_test_split(X, random_state=0)\n"
                "Z = pca.transform(X_test)\n", count=1),
        Invalid("# %%\nfrom sklearn.model_selection import train_test_split\n"
                "from sklearn.preprocessing import StandardScaler\n# %%\n"
                "X_scaled = StandardScaler().fit_transform(X)\n# %%\n"
                "X_train, X_test = train_test_split(X_scaled, random_state=0)\n", count=1),
        Invalid("# %%\nfrom sklearn.model_selection import train_test_split\n"
                "from sklearn.impute import SimpleImputer\nimputer = SimpleImputer()\n"
                "df[cols] = imputer.fit_transform(df[cols])\nX = df.drop(columns=['y'])\n"
                "a, b = train_test_split(X, random_state=1)\n", count=1),
        # pandas statistics of every row, filled or scaled back into the data
        Invalid("# %%\nimport pandas as pd\nfrom sklearn.model_selection import train_test_split\n"
                "df = pd.read_csv('titanic.csv')\n"
                "df['Age'].fillna(df['Age'].median(), inplace=True)\n"
                "# %%\nX = df.drop(columns='Survived')\nX = (X - X.mean()) / X.std()\n"
                "# %%\na, b = train_test_split(X, random_state=0)\n", count=2,
                message="of all rows of"),
        # an encoder's output made into an array, split later: the categories of every row
        Invalid("# %%\nfrom sklearn.model_selection import train_test_split\n"
                "from sklearn.preprocessing import OneHotEncoder\n"
                "onehotencoder = OneHotEncoder()\nX = onehotencoder.fit_transform(X).toarray()\n"
                "a, b, c, d = train_test_split(X, y, random_state=0)\n", count=1),
        # the same policy for every encoder of categories: a feature column, not the labels
        Invalid("# %%\nfrom sklearn.model_selection import train_test_split\n"
                "from sklearn.preprocessing import LabelEncoder\nle = LabelEncoder()\n"
                "df['sex'] = le.fit_transform(df['sex'])\ny = le.fit_transform(y)\n"
                "a, b, c, d = train_test_split(df, y, random_state=0)\n", count=1,
                message="`le.fit_transform(df)` learns from all rows of `df`"),
        Invalid("# %%\nfrom sklearn.model_selection import train_test_split\n"
                "from sklearn.feature_selection import SelectKBest\n"
                "X_new = SelectKBest(k=5).fit_transform(X, y)\n"
                "a, b, c, d = train_test_split(X_new, y, random_state=0)\n", count=1,
                message="`SelectKBest().fit_transform(X)` learns from all rows of `X`"),
    )

    def check(self, ctx: Context):
        analysis = ctx.analysis
        if "sklearn" not in analysis.imported_modules:
            return
        events = []  # (position, kind, payload), in notebook order
        transformers: dict[str, str] = {}  # variable → qualified class of a learning transformer
        for cell, facts in analysis.cells_with_facts():
            for assignment in facts.assignments:
                value = assignment.value
                if isinstance(value, ast.Call):
                    qualified = analysis.qualify(dotted_name(value.func))
                    if _learns(qualified):
                        transformers[assignment.name] = qualified
                elif isinstance(value, ast.BinOp):
                    # `X = (X - X.mean()) / X.std()`: scaled with all rows' statistics
                    for data in dict.fromkeys(n.id for n in _operands(value)
                                              if isinstance(n, ast.Name)):
                        statistic = _statistic_of((value,), data)
                        if statistic:
                            events.append(((cell.index, assignment.stmt.lineno, 0), "fit",
                                           (cell, value, data, statistic, None, False,
                                            False)))
                            break
                events.append(((cell.index, assignment.stmt.lineno, 1), "assign",
                               (assignment.name, value)))
            for call in facts.calls:
                node = call.node
                position = (cell.index, node.lineno, node.col_offset)
                qualified = analysis.qualify(call.dotted)
                if qualified in TRAIN_TEST_SPLITS:
                    arrays = [base_name(a) for a in node.args]
                    events.append((position, "split", (cell, call, {
                        a for a in arrays if a}, arrays[-1] if len(arrays) > 1 else None)))
                    continue
                if call.attr in ("fillna", "clip", "replace"):
                    # `df["age"].fillna(df["age"].median(), inplace=True)`
                    data = base_name(node.func.value)
                    statistic = _statistic_of([*node.args, *(k.value for k in node.keywords)],
                                              data) if data else None
                    used = id(node) in facts.call_targets or any(
                        k.arg == "inplace" and isinstance(k.value, ast.Constant) and
                        k.value.value is True for k in node.keywords)
                    if statistic and used:
                        events.append((position, "fit",
                                       (cell, node, data, statistic, None, False, False)))
                    continue
                if call.attr not in ("fit", "fit_transform") or not node.args:
                    continue
                receiver = node.func.value
                learner = kind_of = None
                if isinstance(receiver, ast.Name) and receiver.id in transformers:
                    learner, kind_of = receiver.id, transformers[receiver.id]
                elif isinstance(receiver, ast.Call) and _learns(
                        analysis.qualify(dotted_name(receiver.func))):
                    learner = dotted_name(receiver.func)
                    kind_of = analysis.qualify(learner)
                categories = (kind_of or "").rsplit(".", 1)[-1] in _CATEGORY_ENCODERS
                data = base_name(node.args[0])
                if learner and data:
                    shown = call.dotted or f"{learner}().{call.attr}"  # `SelectKBest().fit(…)`
                    # `fit_transform` by a transformer never used again: only its output
                    # carries what it learned (a PCA drawn in a scatter plot leaks nothing
                    # into a split of the data it was fit on)
                    only_output = call.attr == "fit_transform" and (
                        not isinstance(receiver, ast.Name) or
                        receiver.id not in _reused(analysis))
                    events.append((position, "fit",
                                   (cell, node, data, None, shown, only_output, categories)))
            # subscript stores (`df[cols] = scaler.fit_transform(df[cols])`) keep `df` tainted
        if not any(kind == "fit" for _, kind, _ in events):
            return
        events.sort(key=lambda e: e[0])
        reported: set[int] = set()
        walked: dict[int, set[str]] = {}  # id(value) → its names, walked once
        for index, (position, kind, payload) in enumerate(events):
            if kind != "fit":
                continue
            cell, node, data, statistic, shown, only_output, categories = payload
            tainted = set() if only_output else {data}
            if statistic is None:
                tainted |= _output_names(node, analysis.facts[cell.index])
            for later_position, later_kind, later in events[index + 1:]:
                if later_kind == "assign":
                    name, value = later
                    names = walked.get(id(value))
                    if names is None:
                        names = walked[id(value)] = names_in(value)
                    if names & tainted:
                        tainted.add(name)
                    else:
                        tainted.discard(name)  # rebound to data the transformer never saw
                elif later_kind == "split":
                    split_cell, split_call, arguments, target = later
                    if categories and target is not None:
                        arguments = arguments - {target}  # the labels: see _CATEGORY_ENCODERS
                    if arguments & tainted and id(node) not in reported:
                        reported.add(id(node))
                        split = f"which `train_test_split` (cell {split_cell.number}) splits " \
                                f"afterwards: test rows leak into training"
                        if statistic:
                            # the text as written (unparsing a long chain would recurse)
                            text = " ".join((ast.get_source_segment(
                                cell.code.masked.source, node) or "…").split())
                            text = text if len(text) <= 60 else text[:57] + "..."
                            yield self.report(
                                ctx, cell, f"`{text}` uses the {statistic} of all rows of "
                                           f"`{data}`, {split}", node=node,
                                help=f"split first, then take the {statistic} of the training "
                                     f"rows only (or use SimpleImputer / StandardScaler in a "
                                     f"Pipeline)")
                        else:
                            yield self.report(
                                ctx, cell, f"`{shown}({data})` learns from all rows of "
                                           f"`{data}`, {split}", node=node,
                                help="split first, then fit on the training rows only (or put "
                                     "the transformer in a Pipeline fit on the training split)")
                        break


def _reused(analysis) -> set[str]:
    """Names of fitted objects used again to transform or predict (``scaler.transform(…)``)."""
    found = analysis.__dict__.get("_nb601_reused")
    if found is None:
        found = {base_name(call.node.func.value) for _, call, _ in analysis.qualified_calls
                 if call.attr in ("transform", "inverse_transform", "predict", "score",
                                  "predict_proba", "decision_function") and
                 isinstance(call.node.func, ast.Attribute)}
        analysis.__dict__["_nb601_reused"] = found
    return found


def _output_names(call: ast.Call, facts) -> set[str]:
    """Names bound to the result of ``call`` (``X_s = scaler.fit_transform(X)``), or to a
    value made from it (``X = encoder.fit_transform(X).toarray()``)."""
    names = {base_name(target) for target in facts.call_targets.get(id(call), ())}
    for assignment in facts.assignments:
        if any(node is call for node in ast.walk(assignment.value)):
            names.add(assignment.name)
    names.discard(None)
    return names
