import ast

from nb2pipe.analysis.knowledge import SKLEARN_RANDOM
from nb2pipe.lint.rule import Context, Invalid, Rule


class EstimatorWithoutRandomState(Rule):
    """A random scikit-learn split or estimator without `random_state`.

    ## What it does
    Flags calls to scikit-learn functions and estimators whose result depends on a random number
    generator — `train_test_split`, `KFold(shuffle=True)`, random forests, gradient boosting,
    k-means, `SGDClassifier`, `MLPClassifier`, `RandomizedSearchCV`, `TSNE`, and functions
    such as `mutual_info_classif`, `permutation_importance` and the `make_*` data generators —
    and pandas' `df.sample(…)` when they are given no `random_state`. Estimators that are random only with
    some settings (`LogisticRegression(solver="saga")`, `SVC(probability=True)`) are flagged
    only then. An estimator given to a bagging or boosting ensemble
    (`BaggingClassifier(DecisionTreeClassifier())`) is not flagged: the ensemble sets its
    random state, so only the ensemble needs one.

    ## Why is this bad?
    Without `random_state`, scikit-learn draws from the global generator: the split, the model
    and its score change from run to run, and a pipeline step cannot be re-run to the same
    result.

    ## Example
    ```python
    # %%
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)
    ```

    ## Use instead
    ```python
    # %%
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=SEED)
    ```

    ## Fix safety
    Safe. The fix adds `random_state=SEED`, and `SEED = 42` to the parameters cell when the
    notebook has no seed parameter yet.
    """

    code = "NB203"
    name = "estimator-without-random-state"
    category = "reproducible"
    fix_safety = "safe"
    fix_title = "Add `random_state=SEED`"
    VALID = (
        "# %%\nfrom sklearn.model_selection import train_test_split, KFold\n"
        "a = train_test_split(X, y, random_state=0)\nb = train_test_split(X, shuffle=False)\n"
        "k = KFold(5)\n",
        "# %%\nfrom sklearn.linear_model import LogisticRegression\nm = LogisticRegression()\n",
        "# %%\nfrom sklearn.ensemble import RandomForestClassifier\n"
        "m = RandomForestClassifier(**params)\n",
        "# %%\nimport pandas as pd\nimport random\nimport torch\n"
        "a = df.sample(frac=0.5, random_state=0)\nb = random.sample(items, 3)\n"
        "c = dist.sample()\nd = env.action_space.sample()\n",
        # only shown, like `df.head()`: no result depends on it
        "# %%\nimport pandas as pd\ndf = pd.read_csv('a.csv')\ndf.sample(5)\n"
        "# %%\nprint(df.sample(frac=0.01))\n",
        "# %%\nfrom sklearn.ensemble import BaggingClassifier, AdaBoostRegressor\n"
        "from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor\n"
        "b = BaggingClassifier(DecisionTreeClassifier(), n_estimators=10, random_state=0)\n"
        "a = AdaBoostRegressor(estimator=DecisionTreeRegressor(max_depth=3), random_state=0)\n",
    )
    INVALID = (
        Invalid("# %%\nfrom sklearn.model_selection import train_test_split\n# %%\n"
                "X_train, X_test = train_test_split(X, test_size=0.2)\n", count=1,
                fixed='# %%\nfrom sklearn.model_selection import train_test_split\n'
                      '# %% tags=["parameters"]\n# Parameters: `nb2pipe run -p NAME=VALUE` and '
                      'papermill replace these values.\nSEED = 42\n# %%\n'
                      'X_train, X_test = train_test_split(X, test_size=0.2, random_state=SEED)\n'),
        Invalid("# %%\nimport sklearn.ensemble as ens\nfrom sklearn.model_selection import KFold\n"
                "m = ens.RandomForestClassifier(n_estimators=10)\ncv = KFold(5, shuffle=True)\n",
                count=2),
        Invalid("# %%\nimport pandas as pd\ndf = pd.read_csv('a.csv')\n"
                "# %%\npart = df.sample(frac=0.1)\nfew = df.sample(5)\n", count=2,
                fixed='# %% tags=["parameters"]\n# Parameters: `nb2pipe run -p NAME=VALUE` and '
                      'papermill replace these values.\nSEED = 42\n'
                      '# %%\nimport pandas as pd\ndf = pd.read_csv(\'a.csv\')\n# %%\n'
                      'part = df.sample(frac=0.1, random_state=SEED)\n'
                      'few = df.sample(5, random_state=SEED)\n'),
        # A chained call: the estimator gets the seed, never the `.fit` after it (which
        # would raise TypeError).
        Invalid("# %%\nfrom sklearn.tree import DecisionTreeClassifier\n"
                "# %% tags=[\"parameters\"]\nSEED = 0\n"
                "# %%\nmodel = DecisionTreeClassifier(max_depth=3).fit(X_train, y_train)\n",
                count=1,
                fixed="# %%\nfrom sklearn.tree import DecisionTreeClassifier\n"
                      "# %% tags=[\"parameters\"]\nSEED = 0\n"
                      "# %%\nmodel = DecisionTreeClassifier(max_depth=3, random_state=SEED)"
                      ".fit(X_train, y_train)\n"),
        # Random functions, not only estimators.
        Invalid("# %%\nfrom sklearn.feature_selection import mutual_info_classif\n"
                "from sklearn.datasets import make_s_curve\n"
                "from sklearn.inspection import permutation_importance\n"
                "scores = mutual_info_classif(X, y)\nX2, t = make_s_curve(100)\n"
                "result = permutation_importance(model, X, y)\n", count=3),
        # A seed-like name bound further down is not the seed: the fix adds SEED (a corpus
        # notebook got `random_state=random_state` before `random_state = 170` was set).
        Invalid("# %%\nfrom sklearn.datasets import make_circles, make_blobs\n"
                "# %%\nX = make_circles(noise=0.05)\n"
                "# %%\nrandom_state = 170\nY = make_blobs(random_state=random_state)\n",
                count=1,
                fixed='# %%\nfrom sklearn.datasets import make_circles, make_blobs\n'
                      '# %% tags=["parameters"]\n# Parameters: `nb2pipe run -p NAME=VALUE` and '
                      'papermill replace these values.\nSEED = 42\n'
                      '# %%\nX = make_circles(noise=0.05, random_state=SEED)\n'
                      '# %%\nrandom_state = 170\nY = make_blobs(random_state=random_state)\n'),
        # The ensemble without a seed is flagged, not the tree it seeds from its own generator.
        Invalid("# %%\nfrom sklearn.ensemble import BaggingClassifier\n"
                "from sklearn.tree import DecisionTreeClassifier\n"
                "b = BaggingClassifier(DecisionTreeClassifier(), n_estimators=10)\n", count=1),
    )

    def check(self, ctx: Context):
        analysis = ctx.analysis
        sklearn_calls = [(cell, call, qualified.rsplit(".", 1)[-1])
                         for cell, call, qualified in analysis.qualified_calls
                         if qualified and qualified.startswith("sklearn.")]
        seeded = _seeded_by_ensemble(call for _, call, last in sklearn_calls
                                     if last in ENSEMBLES_THAT_SEED)
        if "pandas" in analysis.imported_modules:
            yield from self._pandas_samples(ctx)
        for cell, call, last in sklearn_calls:
            if last not in SKLEARN_RANDOM or id(call.node) in seeded:
                continue
            keywords = {k.arg: k.value for k in call.node.keywords}
            if None in keywords or "random_state" in keywords:
                continue
            condition = SKLEARN_RANDOM[last]
            if condition is not None:
                key, values = condition
                value = keywords.get(key)
                literal = value.value if isinstance(value, ast.Constant) else (
                    None if value is None else "?")
                if literal not in values:
                    continue
            yield self.report(
                ctx, cell, f"`{call.dotted}()` has no `random_state`: its result changes "
                           f"from run to run", node=call.node,
                help="pass `random_state=SEED`, with `SEED` in the parameters cell")

    def _pandas_samples(self, ctx: Context):
        """``df.sample(frac=0.1)``, ``df.sample(5)``: rows drawn at random, unless seeded. A
        sample only shown (``df.sample(5)`` ending a cell) changes no result."""
        shown: set[int] | None = None  # computed at the first `.sample` call
        for cell, call, qualified in ctx.analysis.qualified_calls:
            if call.attr != "sample" or qualified is None or \
                    qualified.partition(".")[0] in ctx.analysis.imported_modules:
                continue  # `random.sample`, `np.random…`: NB202's
            node = call.node
            if shown is None:
                shown = _only_shown(ctx)
            if id(node) in shown:
                continue
            keywords = {k.arg for k in node.keywords}
            if None in keywords or "random_state" in keywords:
                continue
            if not ({"frac", "n"} & keywords or len(node.args) == 1 and isinstance(
                    node.args[0], ast.Constant) and type(node.args[0].value) is int):
                continue  # `dist.sample()`, `space.sample()`: not a pandas frame
            yield self.report(
                ctx, cell, f"`{call.dotted or '….sample'}()` has no `random_state`: it draws "
                           f"other rows each run", node=node,
                help="pass `random_state=SEED`, with `SEED` in the parameters cell")

    def fix(self, editor, diagnostics):
        from nb2pipe.editor import seed_parameter
        from nb2pipe.lint.cst import add_keyword, edit_calls

        seed, exists = seed_parameter(editor)
        by_cell: dict[int, set] = {}
        for diagnostic in diagnostics:
            position = (diagnostic.line, diagnostic.col)
            if diagnostic.end_line is not None and diagnostic.end_col is not None:
                position += (diagnostic.end_line, diagnostic.end_col)  # the call, not a chain
            by_cell.setdefault(diagnostic.cell, set()).add(position)
        for index, positions in by_cell.items():
            editor.rewrite(index, edit_calls(positions, add_keyword("random_state", seed)))
        if not exists:
            editor.add_parameter(seed, "42")


#: Ensembles that give each copy of their base estimator a random state drawn from their own.
ENSEMBLES_THAT_SEED = frozenset({
    "BaggingClassifier", "BaggingRegressor", "AdaBoostClassifier", "AdaBoostRegressor",
})


def _seeded_by_ensemble(ensembles) -> set[int]:
    """The ids of the calls inside the base estimator of these ensemble calls (a tree, or a
    pipeline around one): the ensemble sets every ``random_state`` they have."""
    inside: set[int] = set()
    for call in ensembles:
        node = call.node
        estimators = node.args[:1] + [k.value for k in node.keywords
                                      if k.arg in ("estimator", "base_estimator")]
        for estimator in estimators:
            inside.update(id(child) for child in ast.walk(estimator)
                          if isinstance(child, ast.Call))
    return inside


def _only_shown(ctx: Context) -> set[int]:
    """The ids of the calls whose value a cell only shows: a statement of its own
    (``df.sample(5)``) or the argument of ``print``/``display``."""
    found: set[int] = set()
    for cell in ctx.notebook.code_cells:
        for stmt in cell.code.tree.body if cell.code and cell.code.tree else ():
            if not isinstance(stmt, ast.Expr) or not isinstance(stmt.value, ast.Call):
                continue
            value = stmt.value
            found.add(id(value))
            if isinstance(value.func, ast.Name) and value.func.id in ("print", "display"):
                found.update(id(a) for a in value.args)
    return found
