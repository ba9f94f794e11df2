import ast

from nb2pipe.lint.knowledge import (
    FIT_HYPERPARAMETERS,
    HYPERPARAMETER_CALLS,
    NOT_HYPERPARAMETER_MODULES,
    NOT_HYPERPARAMETERS,
)
from nb2pipe.lint.rule import Context, Invalid, Rule

PARAMETER_TAGS = ("parameters", "pipeline-parameters")


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
    No automatic fix yet.
    """

    code = "NB304"
    name = "hard-coded-hyperparameter"
    severity = "info"
    category = "parameterised"
    VALID = (
        "# %%\nfrom sklearn.ensemble import RandomForestClassifier\n"
        "m = RandomForestClassifier(n_estimators=N, random_state=0, n_jobs=-1)\n",
        '# %% tags=["parameters"]\nfrom sklearn.svm import SVC\nm = SVC(C=1.0)\n',
        "# %%\nfrom sklearn.model_selection import train_test_split\n"
        "a = train_test_split(X, test_size=0.2)\n",
    )
    INVALID = (
        Invalid("# %%\nfrom sklearn.ensemble import RandomForestClassifier\n"
                "m = RandomForestClassifier(n_estimators=300, max_depth=8)\n", count=1),
        Invalid("# %%\nimport torch\nopt = torch.optim.SGD(net.parameters(), lr=0.01, "
                "momentum=0.9)\nmodel.fit(X, y, epochs=20, batch_size=32, verbose=0)\n", count=2),
    )

    def check(self, ctx: Context):
        analysis = ctx.analysis
        for cell, facts in analysis.cells_with_facts():
            if any(tag in PARAMETER_TAGS for tag in cell.tags):
                continue
            for call in facts.calls:
                qualified = analysis.qualify(call.dotted) or ""
                if call.attr == "fit" and not qualified.startswith(HYPERPARAMETER_CALLS):
                    names = FIT_HYPERPARAMETERS
                elif qualified.startswith(HYPERPARAMETER_CALLS) and \
                        not qualified.startswith(NOT_HYPERPARAMETER_MODULES):
                    names = None
                else:
                    continue
                literal = [k for k in call.node.keywords if k.arg and _number(k.value) and
                           k.arg not in NOT_HYPERPARAMETERS and (names is None or k.arg in names)]
                if not literal:
                    continue
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
