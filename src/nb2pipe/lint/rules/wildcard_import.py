from nb2pipe.lint.rule import Context, Invalid, Rule


class WildcardImport(Rule):
    """`from x import *`.

    ## What it does
    Flags wildcard imports.

    ## Why is this bad?
    Nobody (reader, linter or converter) can tell which names the cell uses from the module, so
    names shadow each other silently and undefined names go unnoticed. nb2pipe cannot work out
    what a pipeline step needs from a wildcard.

    ## Example
    ```python
    # %%
    from sklearn.metrics import *
    ```

    ## Use instead
    ```python
    # %%
    from sklearn.metrics import accuracy_score, f1_score
    ```

    ## Fix safety
    No automatic fix.
    """

    code = "NB208"
    name = "wildcard-import"
    category = "pipeline-ready"
    VALID = ("# %%\nfrom sklearn.metrics import accuracy_score\n",)
    INVALID = (Invalid("# %%\nfrom sklearn.metrics import *\n", count=1),)

    def check(self, ctx: Context):
        for cell, facts in ctx.analysis.cells_with_facts():
            for fact in facts.imports:
                if fact.bound == "*":
                    yield self.report(ctx, cell, f"`from {fact.module} import *` hides which "
                                                 f"names the notebook uses", node=fact.node,
                                      help="import the names you use explicitly")
