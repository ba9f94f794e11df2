import ast

from nb2pipe.lint.rule import Context, Invalid, Rule

#: How many top-level statements make a notebook "long".
THRESHOLD = 40


class AllGlobalScope(Rule):
    """Many top-level statements and no functions at all.

    ## What it does
    Flags notebooks with at least 40 top-level statements of work and not a single `def` or
    `class`, when they do data work (they read data, train, draw random numbers or set
    constants: see NB303); a lesson on Python's syntax is left alone. Set-up is not work:
    imports, the `parameters` and `pipeline-metrics` cells, seeding (`np.random.seed(SEED)`)
    and `mlflow.autolog()` are not counted, so the fixes of other rules never make this
    finding. A notebook tagged as pipeline steps has taken the advice: it is left alone.

    ## Why is this bad?
    Everything shares one global namespace, so any cell can change what any later cell sees;
    nothing can be reused, tested or imported into a pipeline step. Functions give the steps
    explicit inputs and outputs.

    ## Example
    Sixty cells of `df = ...`, `X = ...`, `model.fit(...)`, `print(...)` and no function.

    ## Use instead
    Wrap the stages in functions (`load_data()`, `train()`, `evaluate()`), or tag the cells as
    pipeline steps and let `nb2pipe convert` write the functions.

    ## Fix safety
    No automatic fix.
    """

    code = "NB306"
    name = "all-global-scope"
    severity = "info"
    category = "pipeline-ready"
    VALID = ("# %%\n" + "x = 1\n" * 50 + "def f():\n    return x\n",
             "# %%\n" + "x = 1\n" * 10,
             # a lesson on lists: nothing to reuse
             "# %%\n" + "items = [1, 2]\nitems.append(3)\nprint(items[-1])\n" * 15)
    INVALID = (Invalid("# %%\nimport pandas as pd\ndf = pd.read_csv('sales.csv')\n" +
                       "df = df.dropna()\n" * 23 + "# %%\n" + "print(df.shape)\n" * 20,
                       count=1),)
    VALID = VALID + (
        # 39 statements of work: imports, the parameters cell and seeding are set-up
        '# %% tags=["parameters"]\nSEED = 1\nN = 3\n# %%\nimport numpy as np\n'
        "import pandas as pd\nnp.random.seed(SEED)\ndf = pd.read_csv('sales.csv')\n" +
        "df = df.dropna()\n" * 38,)

    def check(self, ctx: Context):
        from nb2pipe.pipeline.build import is_tagged

        facts = ctx.analysis.facts.values()
        if any(f.definitions for f in facts) or is_tagged(ctx.notebook):
            return
        statements = _work_statements(ctx)
        if statements < THRESHOLD:
            return
        from nb2pipe.lint.rules.no_parameters_cell import has_inputs

        if not has_inputs(ctx.analysis):
            return  # a lesson on Python's syntax, not work to reuse
        yield self.report(
            ctx, None, f"{statements} top-level statements and no function or class: nothing "
                       f"here can be reused or tested",
            help="wrap the stages in functions, or tag cells as steps and run `nb2pipe convert`")


#: Cells of set-up, not work: what they hold is not counted.
_SETUP_TAGS = frozenset({"parameters", "pipeline-parameters", "pipeline-metrics", "metrics",
                         "imports", "functions", "skip"})
#: Calls that only set things up (the last part of their name).
_SETUP_CALLS = frozenset({"seed", "manual_seed", "set_seed", "autolog", "set_random_seed"})


def _work_statements(ctx: Context) -> int:
    """The notebook's top-level statements, set-up left out (imports, the parameters and
    metrics cells, seeding, autologging)."""
    count = 0
    for cell in ctx.notebook.code_cells:
        tree = cell.code.tree if cell.code else None
        if tree is None or _SETUP_TAGS & set(cell.tags):
            continue
        for statement in tree.body:
            if isinstance(statement, (ast.Import, ast.ImportFrom)):
                continue
            if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
                function = statement.value.func
                name = function.attr if isinstance(function, ast.Attribute) else \
                    getattr(function, "id", "")
                if name in _SETUP_CALLS:
                    continue
            count += 1
    return count
