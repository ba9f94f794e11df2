import ast

from nb2pipe.analysis.knowledge import (
    FIT_HYPERPARAMETERS,
    HYPERPARAMETER_CALLS,
    NOT_HYPERPARAMETER_MODULES,
    NOT_HYPERPARAMETERS,
)
from nb2pipe.editor import PARAMETER_TAGS, fresh_name
from nb2pipe.lint.cst import edit_at
from nb2pipe.lint.rule import Context, Invalid, Rule


def _number(node: ast.AST) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    return isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and \
        not isinstance(node.value, bool)


class HardCodedHyperparameter(Rule):
    """Numeric hyperparameters written into estimator and optimiser calls.

    ## What it does
    Flags calls to scikit-learn estimators, XGBoost, LightGBM, CatBoost, PyTorch and Keras
    optimisers, and `model.fit(epochs=…, batch_size=…)`, that pass numbers as keyword
    arguments outside the parameters cell. Settings that are not hyperparameters (`random_state`,
    `n_jobs`, `verbose`, `cv`…) and data-set helpers are left alone.

    ## Why is this bad?
    To try another value you edit code, and the run that produced a model does not record what
    it used. Hyperparameters are the first thing a level-1 pipeline sweeps and tracks.

    ## Example
    ```python
    # %%
    model = RandomForestClassifier(n_estimators=300, max_depth=8)
    ```

    ## Use instead
    ```python
    # %% tags=["parameters"]
    N_ESTIMATORS = 300
    MAX_DEPTH = 8
    # %%
    model = RandomForestClassifier(n_estimators=N_ESTIMATORS, max_depth=MAX_DEPTH)
    ```

    ## Fix safety
    Unsafe. The fix adds each number to the parameters cell under the keyword's name in capitals
    (`N_ESTIMATORS = 300`; `RF_MAX_DEPTH`, `XGB_MAX_DEPTH` when several models share a
    keyword) and passes that name instead. The values do not change, so neither does what the
    notebook computes; `nb2pipe run -p MAX_DEPTH=12` now tries another one, and the run
    records it. Calls in cells above the parameters cell are left alone. It is unsafe not
    because results change but because the notebook's inputs do: a notebook that compares
    dozens of models gets dozens of parameters. Review them (`--diff`) before applying.
    """

    code = "NB304"
    name = "hard-coded-hyperparameter"
    severity = "info"
    category = "parameterised"
    fix_safety = "unsafe"
    fix_title = "Move the hyperparameters to the parameters cell"
    VALID = (
        "# %%\nfrom sklearn.ensemble import RandomForestClassifier\n"
        "m = RandomForestClassifier(n_estimators=N, random_state=0, n_jobs=-1)\n",
        '# %% tags=["parameters"]\nfrom sklearn.svm import SVC\nm = SVC(C=1.0)\n',
        "# %%\nfrom sklearn.model_selection import train_test_split\n"
        "a = train_test_split(X, test_size=0.2)\n",
    )
    INVALID = (
        Invalid("# %%\nfrom sklearn.ensemble import RandomForestClassifier\n# %%\n"
                "m = RandomForestClassifier(n_estimators=300, max_depth=8)\n", count=1,
                fixed='# %%\nfrom sklearn.ensemble import RandomForestClassifier\n'
                      '# %% tags=["parameters"]\n# Parameters: `nb2pipe run -p NAME=VALUE` and '
                      'papermill replace these values.\nN_ESTIMATORS = 300\nMAX_DEPTH = 8\n'
                      '# %%\nm = RandomForestClassifier(n_estimators=N_ESTIMATORS, '
                      'max_depth=MAX_DEPTH)\n'),
        Invalid("# %%\nimport torch\nopt = torch.optim.SGD(net.parameters(), lr=0.01, "
                "momentum=0.9)\nmodel.fit(X, y, epochs=20, batch_size=32, verbose=0)\n", count=2),
        Invalid('# %% tags=["parameters"]\nEPOCHS = 20\n# %%\nimport xgboost as xgb\n'
                "from sklearn.ensemble import RandomForestClassifier\n"
                "rf = RandomForestClassifier(max_depth=8, min_samples_leaf=2).fit(X, y)\n"
                "booster = xgb.XGBClassifier(max_depth=4, learning_rate=1e-2)\n"
                "booster.fit(X, y, epochs=20)\n", count=3,
                fixed='# %% tags=["parameters"]\nEPOCHS = 20\nRF_MAX_DEPTH = 8\n'
                      'MIN_SAMPLES_LEAF = 2\nBOOSTER_MAX_DEPTH = 4\nLEARNING_RATE = 1e-2\n'
                      '# %%\nimport xgboost as xgb\n'
                      'from sklearn.ensemble import RandomForestClassifier\n'
                      'rf = RandomForestClassifier(max_depth=RF_MAX_DEPTH, '
                      'min_samples_leaf=MIN_SAMPLES_LEAF).fit(X, y)\n'
                      'booster = xgb.XGBClassifier(max_depth=BOOSTER_MAX_DEPTH, '
                      'learning_rate=LEARNING_RATE)\nbooster.fit(X, y, epochs=EPOCHS)\n'),
        # a formula string reads `C` from the namespace at run time (patsy's categorical):
        # the parameter must not take that name (found by bench_fixes on pydata-book)
        Invalid("# %%\nimport patsy\nfrom sklearn.linear_model import LogisticRegression\n"
                "y, X = patsy.dmatrices('v ~ C(key)', data)\n"
                "# %%\nmodel = LogisticRegression(C=10)\n", count=1,
                fixed='# %% tags=["parameters"]\n# Parameters: `nb2pipe run -p NAME=VALUE` and '
                      'papermill replace these values.\nC_2 = 10\n'
                      "# %%\nimport patsy\nfrom sklearn.linear_model import LogisticRegression\n"
                      "y, X = patsy.dmatrices('v ~ C(key)', data)\n"
                      "# %%\nmodel = LogisticRegression(C=C_2)\n"),
    )

    def check(self, ctx: Context):
        for cell, call, literal in _hard_coded(ctx.analysis):
            shown = ", ".join(f"{k.arg}={ast.unparse(k.value)}" for k in literal[:3])
            if len(literal) > 3:
                shown += ", …"
            count = "a hyperparameter" if len(literal) == 1 else \
                f"{len(literal)} hyperparameters"
            yield self.report(
                ctx, cell, f"`{call.dotted or call.attr}({shown})` hard-codes {count} "
                           f"outside the parameters cell",
                node=literal[0].value,
                help="move the values to the parameters cell (e.g. "
                     f"`{literal[0].arg.upper()} = {ast.unparse(literal[0].value)}`) so "
                     f"runs can vary and record them")

    def fix(self, editor, diagnostics):
        from nb2pipe.analysis import NotebookAnalysis

        analysis = NotebookAnalysis(editor.notebook())
        wanted = {(d.cell, d.line, d.col) for d in diagnostics if d.fix}
        parameters = editor.parameters_cell()
        chosen = []
        for cell, call, literal in _hard_coded(analysis):
            node = literal[0].value
            shift = cell.code.masked.col_shift.get(node.lineno, 0)
            if (cell.index, node.lineno, node.col_offset + 1 + shift) in wanted and \
                    (parameters is None or cell.index > parameters):
                chosen.append((cell, call, literal))
        if not chosen:
            return
        moved = 0
        if parameters is None:  # a new one, above the first call: the cells below shift by one
            parameters = editor.ensure_parameters_cell(before=min(c.index for c, *_ in chosen))
            moved = 1
        existing = _number_parameters(editor.notebook(), parameters)
        from nb2pipe.editor import names_in_use

        # (not `C` where a formula string says `C(key)`: patsy would call the parameter)
        taken = set(analysis.first_binding) | names_in_use(editor.notebook())
        keyword_calls: dict[str, int] = {}
        for _cell, _call, literal in chosen:
            for keyword in literal:
                keyword_calls[keyword.arg] = keyword_calls.get(keyword.arg, 0) + 1
        edits: dict[int, dict] = {}
        for cell, call, literal in chosen:
            facts = analysis.facts[cell.index]
            names = {}
            for keyword in literal:
                text = ast.get_source_segment(cell.code.masked.source, keyword.value)
                name = keyword.arg.upper()
                if keyword_calls[keyword.arg] > 1:  # one per model: RF_MAX_DEPTH, XGB_MAX_DEPTH
                    name = f"{_owner(call, facts)}_{name}"
                if existing.get(name) == text:
                    names[keyword.arg] = name  # the parameters cell already holds this value
                    continue
                name = fresh_name(name, taken)
                taken.add(name)
                editor.add_parameter(name, text)
                names[keyword.arg] = name
            position = (call.node.lineno, call.node.col_offset + 1)
            edits.setdefault(cell.index + moved, {})[position] = _use_names(names)
        for index, by_position in edits.items():
            editor.rewrite(index, edit_at("Call", by_position))


def _hard_coded(analysis):
    """``(cell, call, keywords)`` for calls that pass hyperparameters as numbers."""
    parameters = {cell.index for cell in analysis.notebook.cells
                  if any(tag in PARAMETER_TAGS for tag in cell.tags)}
    for cell, call, qualified in analysis.qualified_calls:
        keywords = call.node.keywords
        if not keywords or cell.index in parameters:
            continue
        qualified = qualified or ""
        configures = qualified.startswith(HYPERPARAMETER_CALLS)
        if call.attr == "fit" and not configures:
            names = FIT_HYPERPARAMETERS
        elif configures and not qualified.startswith(NOT_HYPERPARAMETER_MODULES):
            names = None
        else:
            continue
        literal = [k for k in keywords if k.arg and _number(k.value) and
                   k.arg not in NOT_HYPERPARAMETERS and (names is None or k.arg in names)]
        if literal:
            yield cell, call, literal


def _owner(call, facts) -> str:
    """A short UPPER_CASE name for what a call configures: the variable it is assigned to
    (``rf = RandomForestClassifier(…)``), the model it fits, or the class it makes."""
    node = call.node
    chained = {id(c.node.func.value): c.node for c in facts.calls
               if isinstance(c.node.func, ast.Attribute)}
    outer = node
    while id(outer) in chained:  # `rf = RandomForestClassifier(…).fit(…)`
        outer = chained[id(outer)]
    for assigned in (node, outer):
        targets = facts.call_targets.get(id(assigned))
        if targets and isinstance(targets[0], ast.Name):
            return targets[0].id.upper()
    func = node.func
    if isinstance(func, ast.Attribute):
        receiver = func.value
        if isinstance(receiver, ast.Name):
            return receiver.id.upper()
        if isinstance(receiver, ast.Call):
            func = receiver.func
        elif func.attr[:1].isupper():
            return _snake(func.attr)
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "MODEL")
    return _snake(name)


def _snake(name: str) -> str:
    """``RandomForestClassifier`` → ``RANDOM_FOREST_CLASSIFIER``."""
    out = []
    for index, char in enumerate(name):
        if char.isupper() and index and (not name[index - 1].isupper() or (
                index + 1 < len(name) and name[index + 1].islower())):
            out.append("_")
        out.append(char.upper())
    return "".join(out).strip("_") or "MODEL"


def _number_parameters(notebook, index: int) -> dict[str, str]:
    """``NAME → value as written`` for the numbers the parameters cell sets."""
    cell = notebook.cells[index]
    found = {}
    for stmt in cell.tree.body if cell.tree is not None else ():
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and \
                isinstance(stmt.targets[0], ast.Name) and _number(stmt.value):
            found[stmt.targets[0].id] = ast.get_source_segment(cell.code.masked.source,
                                                               stmt.value)
    return found


def _use_names(names: dict[str, str]):
    """An edit for :func:`edit_at` that passes ``keyword=NAME`` instead of the numbers."""

    def edit(call):
        import libcst

        args = [arg.with_changes(value=libcst.Name(names[arg.keyword.value]))
                if arg.keyword is not None and arg.keyword.value in names else arg
                for arg in call.args]
        return call.with_changes(args=args)

    return edit
