import ast

from nb2pipe.analysis.facts import base_name, names_in
from nb2pipe.analysis.knowledge import TRAIN_TEST_SPLITS
from nb2pipe.diagnostic import shorten
from nb2pipe.lint.rule import Context, Invalid, Rule

_EVALUATIONS = frozenset({"score", "predict", "predict_proba", "decision_function", "evaluate"})
#: How many different models scored on the same test split make a model selection.
MANY = 3


def _split_parts(analysis, facts, call) -> list[str]:
    """The test parts a ``a_train, a_test, … = train_test_split(…)`` call binds (odd positions
    named as test data: ``X_val`` from the same call is a validation split, there to be used
    for choices), or none if the call is not such a split."""
    targets = facts.call_targets.get(id(call.node))
    if not targets or not isinstance(targets[0], (ast.Tuple, ast.List)) or \
            analysis.qualify(call.dotted) not in TRAIN_TEST_SPLITS:
        return []
    return [e.id for n, e in enumerate(targets[0].elts)
            if n % 2 == 1 and isinstance(e, ast.Name) and "test" in e.id.lower()]


def split_events(analysis) -> list:
    """The train/test splits and the top-level bindings of the notebook, as events
    ``(position, "split" | "bind", payload)`` that a rule sorts with its own, to follow which
    names hold a split's test part from top to bottom."""
    events = []
    for cell, facts in analysis.cells_with_facts():
        for call in facts.calls:
            parts = _split_parts(analysis, facts, call)
            if parts:
                node = call.node
                events.append(((cell.index, node.end_lineno, node.end_col_offset, 1),
                               "split", parts))
        for assignment in facts.assignments:
            stmt = assignment.stmt
            events.append(((cell.index, stmt.end_lineno, stmt.end_col_offset, 0), "bind",
                           assignment))
    return events


class TestSetReuse(Rule):
    """The same test split scores many models, or a tuning loop.

    ## What it does
    Finds the test parts of `train_test_split` (`X_test`, `y_test`…; not `X_val`) and flags
    two ways of choosing with them: fitting and then scoring or predicting on them inside a
    `for`/`while` loop (tuning a hyperparameter, or comparing models, on the test split), and
    scoring three or more different models on them (picking the best by its test score).
    Every such loop is reported. Where the notebook visibly picks nothing (no `max`, `sorted`,
    `idxmax`…, no name with `best` in it), models scored side by side are reported more
    softly: the score is optimistic only if one of them is then chosen by it.
    Test data transformed from the split (`X_test = scaler.transform(X_test)`) is still the
    split; a name rebound to other data is not. A `predict` counts as a score when its cell
    also reads the test labels (`accuracy_score(y_test, model.predict(X_test))`); predictions
    only combined (a vote) choose nothing.

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
        # two test sets, two models each: the second `X_test` is other data, not the split
        "# %%\nfrom sklearn.model_selection import train_test_split\n"
        "X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)\n"
        "a.score(X_test, y_test)\nb.score(X_test, y_test)\n# %%\n"
        "X_test = pipeline.transform(kaggle_test)\nc.predict(X_test)\n",
        # three models' predictions combined by a vote: nothing is scored, nothing chosen
        "# %%\nfrom sklearn.model_selection import train_test_split\n"
        "X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)\n"
        "# %%\np1 = m1.predict(X_test)\n# %%\np2 = m2.predict(X_test)\n# %%\n"
        "p3 = m3.predict(X_test)\nvote = (p1 + p2 + p3) > 1\n",
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
        Invalid("# %%\nfrom sklearn.model_selection import train_test_split\n"
                "from sklearn.metrics import accuracy_score\n"
                "X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)\n"
                "# %%\nfor m in (lr, svm, rf):\n"
                "    print(accuracy_score(y_test, m.predict(X_test)))\n"
                "# %%\nprint(accuracy_score(y_test, lr.predict(X_test)))\n"
                "print(accuracy_score(y_test, svm.predict(X_test)))\n"
                "print(accuracy_score(y_test, knn.predict(X_test)))\n", count=1),
        # every tuning loop is reported, not only the first
        Invalid("# %%\nfrom sklearn.model_selection import train_test_split\n"
                "X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)\n"
                "# %%\nfor k in range(1, 20):\n    model = KNN(k).fit(X_train, y_train)\n"
                "    print(k, model.score(X_test, y_test))\n"
                "# %%\nfor d in range(1, 9):\n    tree = Tree(d).fit(X_train, y_train)\n"
                "    print(d, tree.score(X_test, y_test))\n", count=2),
        # models only scored side by side, nothing picked: said more softly
        Invalid("# %%\nfrom sklearn.model_selection import train_test_split\n"
                "X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)\n"
                "# %%\nprint(lr.score(X_test, y_test), svm.score(X_test, y_test), "
                "rf.score(X_test, y_test))\n", count=1,
                message="scored side by side on the same test split: if one is chosen"),
        # scaled test data is still the test split
        Invalid("# %%\nfrom sklearn.model_selection import train_test_split\n"
                "X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)\n"
                "X_test = scaler.transform(X_test)\n# %%\nlr.score(X_test, y_test)\n"
                "svm.score(X_test, y_test)\nrf.score(X_test, y_test)\n", count=1),
    )

    def check(self, ctx: Context):
        analysis = ctx.analysis
        if "sklearn" not in analysis.imported_modules or not any(
                qualified in TRAIN_TEST_SPLITS for _, _, qualified in analysis.qualified_calls):
            return
        # Top to bottom: which split each test name holds now. A split starts a new one; a
        # name rebound from its own split (`X_test = scaler.transform(X_test)`) keeps it; a name
        # rebound from other data (`X_test = prepare(kaggle_test)`) holds no split any more.
        events = split_events(analysis)  # (position, kind, payload)
        for cell, facts in analysis.cells_with_facts():
            looped = None
            for call in facts.calls:
                node = call.node
                if call.attr in _EVALUATIONS and isinstance(node.func, ast.Attribute) and \
                        not _split_parts(analysis, facts, call):
                    looped = _calls_in_loops(facts) if looped is None else looped
                    events.append(((cell.index, node.lineno, node.col_offset, 0), "score",
                                   (cell, call, looped)))
        events.sort(key=lambda e: e[0])
        split_of: dict[str, int] = {}  # test name → the split it holds
        splits = 0
        models: dict[int, dict[str, tuple]] = {}  # split → model → where it was first scored
        loops_reported: set[int] = set()
        for _position, kind, payload in events:
            if kind == "split":
                splits += 1
                split_of.update(dict.fromkeys(payload, splits))
            elif kind == "bind":
                if payload.name in split_of:
                    read = {split_of[n] for n in names_in(payload.value) if n in split_of}
                    if read:
                        split_of[payload.name] = min(read)
                    else:
                        del split_of[payload.name]
            else:
                cell, call, looped = payload
                node = call.node
                arguments = {base_name(a) for a in node.args}
                split = next((split_of[name] for name in arguments if name in split_of), None)
                if split is None:
                    continue
                if call.attr not in ("score", "evaluate") and not any(
                        split_of.get(read.name) == split and read.name not in arguments
                        for read in analysis.facts[cell.index].reads):
                    continue  # predictions the cell does not score (`y_test` unread): no choice
                model = base_name(node.func.value) or shorten(ast.unparse(node.func.value), 40)
                if id(node) in looped:
                    loop = (cell.index, looped[id(node)])
                    if loop not in loops_reported:  # every tuning loop, once
                        loops_reported.add(loop)
                        yield self.report(
                            ctx, cell, f"`{model}.{call.attr}()` on the test split inside a "
                                       f"loop: choosing by the test score makes it optimistic",
                            node=node,
                            help="tune with cross-validation (GridSearchCV) or a validation "
                                 "split; score the final model on the test split once")
                    continue
                models.setdefault(split, {}).setdefault(model, (cell, node))
        chooses = None
        for scored in models.values():
            if len(scored) >= MANY:
                cell, node = list(scored.values())[MANY - 1]
                names = ", ".join(f"`{m}`" for m in list(scored)[:5])
                chooses = _chooses(analysis) if chooses is None else chooses
                message = (f"{len(scored)} models ({names}) are scored on the same test "
                           f"split: picking the best of them by it makes its score optimistic"
                           if chooses else
                           f"{len(scored)} models ({names}) are scored side by side on the "
                           f"same test split: if one is chosen by these scores, its score is "
                           f"optimistic")
                yield self.report(
                    ctx, cell, message, node=node,
                    help="compare models with cross-validation or a validation split; score "
                         "only the chosen one on the test split")


def _calls_in_loops(facts) -> dict[int, int]:
    """Calls inside loops that also fit something (a loop that trains and scores is tuning):
    call id → the id of the outermost such loop."""
    found: dict[int, int] = {}
    for loop in facts.loops:
        start, end = (loop.lineno, loop.col_offset), (loop.end_lineno, loop.end_col_offset)
        calls = [c.node for c in facts.calls
                 if start <= (c.node.lineno, c.node.col_offset) <= end]
        if any(isinstance(c.func, ast.Attribute) and c.func.attr in ("fit", "fit_predict")
               for c in calls):
            for call in calls:
                found.setdefault(id(call), id(loop))
    return found


#: Calls that pick one of several scores.
_CHOOSERS = frozenset({"max", "min", "sorted", "argmax", "argmin", "idxmax", "idxmin",
                       "nlargest", "nsmallest", "sort_values"})


def _chooses(analysis) -> bool:
    """Whether the notebook visibly picks among scores: a `max`/`sorted`/`idxmax`… call, or a
    name with `best` in it."""
    for _, facts in analysis.cells_with_facts():
        if any((c.attr or c.dotted or "") in _CHOOSERS for c in facts.calls):
            return True
        if any("best" in a.name.lower() for a in facts.assignments):
            return True
    return False
