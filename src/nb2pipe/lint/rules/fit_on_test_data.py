import ast

from nb2pipe.analysis.facts import base_name, names_in
from nb2pipe.analysis.knowledge import TRAIN_TEST_SPLITS
from nb2pipe.lint.rule import Context, Invalid, Rule
from nb2pipe.lint.rules.test_set_reuse import _split_parts, split_events

#: Calls that learn from the data they are given.
_FITS = frozenset({"fit", "fit_transform", "fit_predict", "partial_fit", "fit_resample"})


class FitOnTestData(Rule):
    """A transform or a model is fitted on the test split.

    ## What it does
    Finds the test parts of `train_test_split` (`X_test`, `y_test`…) and flags a `fit`,
    `fit_transform`, `fit_predict`, `partial_fit` or `fit_resample` whose data is one of them:
    `scaler.fit_transform(X_test)`, `model.fit(X_test, y_test)`. Test data transformed from the
    split (`X_test = scaler.transform(X_test)`) is still the split; a name rebound to other
    data is not.

    ## Why is this bad?
    A transform fitted on the test rows learns their statistics (means, categories,
    vocabulary), and a model fitted on them has seen the answers: the test score no longer
    measures how the pipeline does on new data. Fit on the training split, then only
    `transform` or `predict` the test split.

    ## Example
    ```python
    # %%
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    X_train = scaler.fit_transform(X_train)
    X_test = scaler.fit_transform(X_test)
    ```

    ## Use instead
    ```python
    # %%
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    X_train = scaler.fit_transform(X_train)
    X_test = scaler.transform(X_test)
    ```

    ## Fix safety
    No automatic fix: `fit_transform` → `transform` is right only when the same object was
    fitted on the training split first.
    """

    code = "NB603"
    name = "fit-on-test-data"
    category = "reproducible"
    VALID = (
        "# %%\nfrom sklearn.model_selection import train_test_split\n"
        "X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)\n"
        "X_train = scaler.fit_transform(X_train)\nX_test = scaler.transform(X_test)\n"
        "model.fit(X_train, y_train)\nmodel.score(X_test, y_test)\n",
        # the name now holds other data: not the split
        "# %%\nfrom sklearn.model_selection import train_test_split\n"
        "X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)\n"
        "# %%\nX_test = load_competition_rows()\nencoder.fit(X_test)\n",
        # a validation split is there for choices, not a test split
        "# %%\nfrom sklearn.model_selection import train_test_split\n"
        "X_train, X_val, y_train, y_val = train_test_split(X, y, random_state=0)\n"
        "calibrator.fit(X_val, y_val)\n",
    )
    INVALID = (
        Invalid("# %%\nfrom sklearn.model_selection import train_test_split\n"
                "X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)\n"
                "X_train = scaler.fit_transform(X_train)\n"
                "X_test = scaler.fit_transform(X_test)\n", count=1,
                message="`scaler.fit_transform()` learns from the test split"),
        # transformed test data is still the test split
        Invalid("# %%\nfrom sklearn.model_selection import train_test_split\n"
                "X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)\n"
                "# %%\nX_test = X_test.fillna(0)\n# %%\nmodel.fit(X_test, y_test)\n", count=1),
        Invalid("# %%\nimport sklearn.model_selection as ms\n"
                "a_train, a_test = ms.train_test_split(frame, test_size=0.2)\n"
                "vectorizer.fit(a_test['text'])\n", count=1),
    )

    def check(self, ctx: Context):
        analysis = ctx.analysis
        if not any(qualified in TRAIN_TEST_SPLITS
                   for _, _, qualified in analysis.qualified_calls):
            return
        events = split_events(analysis)  # (position, kind, payload): top to bottom
        for cell, facts in analysis.cells_with_facts():
            for call in facts.calls:
                node = call.node
                if call.attr in _FITS and isinstance(node.func, ast.Attribute) and \
                        node.args and not _split_parts(analysis, facts, call):
                    events.append(((cell.index, node.lineno, node.col_offset, 0), "fit",
                                   (cell, call)))
        events.sort(key=lambda e: e[0])
        test_names: set[str] = set()
        for _position, kind, payload in events:
            if kind == "split":
                test_names.update(payload)
            elif kind == "bind":
                if payload.name in test_names and not (names_in(payload.value) & test_names):
                    test_names.discard(payload.name)  # other data now
            else:
                cell, call = payload
                node = call.node
                data = base_name(node.args[0])
                if data not in test_names:
                    continue
                fitted = ast.unparse(node.func.value)
                yield self.report(
                    ctx, cell, f"`{fitted}.{call.attr}()` learns from the test split "
                               f"(`{data}`): the test score no longer measures new data",
                    node=node,
                    help=f"fit `{fitted}` on the training split, then only "
                         f"`transform`/`predict` `{data}`")
