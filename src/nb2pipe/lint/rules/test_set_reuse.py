import ast

from nb2pipe.analysis.cell import base_name
from nb2pipe.lint.knowledge import TRAIN_TEST_SPLITS
from nb2pipe.lint.rule import Context, Invalid, Rule

_EVALUATIONS = frozenset({"score", "predict", "predict_proba", "decision_function", "evaluate"})
#: How many different models scored on the same test split make a model selection.
MANY = 3


def _test_names(analysis) -> set[str]:
    """The test parts of every ``a_train, a_test, … = train_test_split(…)`` (odd positions)."""
    found: set[str] = set()
    for _cell, facts in analysis.cells_with_facts():
        for call in facts.calls:
            targets = facts.call_targets.get(id(call.node))
            if not targets or not isinstance(targets[0], (ast.Tuple, ast.List)) or \
                    analysis.qualify(call.dotted) not in TRAIN_TEST_SPLITS:
                continue
            # Only parts named as test data: `X_val` from the same call is a validation
            # split, which is there to be used for choices.
            found |= {e.id for n, e in enumerate(targets[0].elts) if n % 2 == 1 and
                      isinstance(e, ast.Name) and "test" in e.id.lower()}
    return found


class TestSetReuse(Rule):
    """The same test split scores many models, or a tuning loop.

    ## What it does
    Finds the test parts of `train_test_split` (`X_test`, `y_test`…; not `X_val`) and flags
    two ways of choosing with them: fitting and then scoring or predicting on them inside a
    `for`/`while` loop (tuning a hyperparameter, or comparing models, on the test split), and
    scoring three or more different models on them (picking the best by its test score).

    ## Why is this bad?
    Once a choice is made by looking at the test split, its score no longer estimates how the
    model does on new data: it is optimistic, by as much as the choice overfits the test rows
    (Yang et al., ASE 2022). The reported result will not hold in production.

    ## Example
    ```python
    # %%
    for k in range(1, 20):
        model = KNeighborsClassifier(k).fit(X_train, y_train)
        print(k, model.score(X_test, y_test))
    ```

    ## Use instead
    ```python
    # %%
    search = GridSearchCV(KNeighborsClassifier(), {"n_neighbors": range(1, 20)})
    search.fit(X_train, y_train)
    print(search.best_estimator_.score(X_test, y_test))  # once, at the end
    ```

    ## Fix safety
    No automatic fix.
    """

    code = "NB602"
    name = "test-set-reuse"
    category = "reproducible"
    VALID = (
        "# %%\nfrom sklearn.model_selection import train_test_split\n"
        "X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)\n"
        "for k in range(3):\n    m = fit(k, X_train, y_train)\n    print(m.score(X_train, y_train))\n"
        "best.score(X_test, y_test)\n",
        "# %%\nfrom sklearn.model_selection import train_test_split\n"
        "X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)\n"
        "a.score(X_test, y_test)\nb.score(X_test, y_test)\n",
    )
    INVALID = (
        Invalid("# %%\nfrom sklearn.model_selection import train_test_split\n"
                "X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)\n"
                "# %%\nfor k in range(1, 20):\n    model = KNN(k).fit(X_train, y_train)\n"
                "    print(k, model.score(X_test, y_test))\n", count=1),
        Invalid("# %%\nfrom sklearn.model_selection import train_test_split\n"
                "X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)\n"
                "# %%\nlr.score(X_test, y_test)\n# %%\nsvm.score(X_test, y_test)\n# %%\n"
                "rf.score(X_test, y_test)\n", count=1),
    )

    def check(self, ctx: Context):
        analysis = ctx.analysis
        if "sklearn" not in analysis.imported_modules:
            return
        tests = _test_names(analysis)
        if not tests:
            return
        models: dict[str, tuple] = {}
        loop_reported = False
        for cell, facts in analysis.cells_with_facts():
            looped = _calls_in_loops(facts)
            for call in facts.calls:
                node = call.node
                if call.attr not in _EVALUATIONS or not isinstance(node.func, ast.Attribute):
                    continue
                if not any(base_name(a) in tests for a in node.args):
                    continue
                model = base_name(node.func.value) or ast.unparse(node.func.value)[:30]
                if id(node) in looped and not loop_reported:
                    loop_reported = True
                    yield self.report(
                        ctx, cell, f"`{model}.{call.attr}()` on the test split inside a loop: "
                                   f"choosing by the test score makes it optimistic",
                        node=node,
                        help="tune with cross-validation (GridSearchCV) or a validation split; "
                             "score the final model on the test split once")
                    continue
                models.setdefault(model, (cell, node))
        if len(models) >= MANY:
            cell, node = list(models.values())[MANY - 1]
            names = ", ".join(f"`{m}`" for m in list(models)[:5])
            yield self.report(
                ctx, cell, f"{len(models)} models ({names}) are scored on the same test split: "
                           f"picking the best of them by it makes its score optimistic",
                node=node,
                help="compare models with cross-validation or a validation split; score only the "
                     "chosen one on the test split")


def _calls_in_loops(facts) -> set[int]:
    """Calls inside loops that also fit something: a loop that trains and scores is tuning."""
    found: set[int] = set()
    for loop in facts.loops:
        start, end = (loop.lineno, loop.col_offset), (loop.end_lineno, loop.end_col_offset)
        calls = [c.node for c in facts.calls
                 if start <= (c.node.lineno, c.node.col_offset) <= end]
        if any(isinstance(c.func, ast.Attribute) and c.func.attr in ("fit", "fit_predict")
               for c in calls):
            found |= {id(c) for c in calls}
    return found
