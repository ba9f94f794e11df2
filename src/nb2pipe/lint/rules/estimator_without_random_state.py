import ast

from nb2pipe.lint.knowledge import SKLEARN_RANDOM
from nb2pipe.lint.rule import Context, Invalid, Rule


class EstimatorWithoutRandomState(Rule):
    """A random scikit-learn split or estimator without `random_state`.

    ## What it does
    Flags calls to scikit-learn functions and estimators whose result depends on a random number
    generator — `train_test_split`, `KFold(shuffle=True)`, random forests, gradient boosting,
    k-means, `SGDClassifier`, `MLPClassifier`, `RandomizedSearchCV`, `TSNE`… — when they are
    given no `random_state`. Estimators that are random only with some settings
    (`LogisticRegression(solver="saga")`, `SVC(probability=True)`) are flagged only then.

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
    )

    def check(self, ctx: Context):
        analysis = ctx.analysis
        for cell, call, qualified in analysis.qualified_calls:
            if not qualified or not qualified.startswith("sklearn."):
                continue
            last = qualified.rsplit(".", 1)[-1]
            if last not in SKLEARN_RANDOM:
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

    def fix(self, editor, diagnostics):
        from nb2pipe.lint.cst import add_keyword, edit_calls
        from nb2pipe.lint.fix import seed_parameter

        seed, exists = seed_parameter(editor)
        by_cell: dict[int, set] = {}
        for diagnostic in diagnostics:
            by_cell.setdefault(diagnostic.cell, set()).add((diagnostic.line, diagnostic.col))
        for index, positions in by_cell.items():
            editor.rewrite(index, edit_calls(positions, add_keyword("random_state", seed)))
        if not exists:
            editor.add_parameter(seed, "42")
