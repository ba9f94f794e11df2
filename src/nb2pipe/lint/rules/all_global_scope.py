from nb2pipe.lint.rule import Context, Invalid, Rule

#: How many top-level statements make a notebook "long".
THRESHOLD = 40


class AllGlobalScope(Rule):
    """Many top-level statements and no functions at all.

    ## What it does
    Flags notebooks with at least 40 top-level statements and not a single `def` or `class`,
    when they do data work (they read data, train, draw random numbers or set constants: see
    NB303); a lesson on Python's syntax is left alone.

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

    def check(self, ctx: Context):
        facts = ctx.analysis.facts.values()
        statements = sum(f.statements for f in facts)
        if statements < THRESHOLD or any(f.definitions for f in facts):
            return
        from nb2pipe.lint.rules.no_parameters_cell import has_inputs

        if not has_inputs(ctx.analysis):
            return  # a lesson on Python's syntax, not work to reuse
        yield self.report(
            ctx, None, f"{statements} top-level statements and no function or class: nothing "
                       f"here can be reused or tested",
            help="wrap the stages in functions, or tag cells as steps and run `nb2pipe convert`")
