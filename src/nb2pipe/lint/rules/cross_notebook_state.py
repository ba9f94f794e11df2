from nb2pipe.lint.rule import Context, Invalid, Rule

_WHAT = {
    "run": "runs another notebook or script in this kernel",
    "store": "shares variables between notebooks through IPython's store",
    "load": "pastes code from another file into the cell",
}


class CrossNotebookState(Rule):
    """State that comes from another notebook: `%run`, `%store`, `%load`.

    ## What it does
    Flags the `%run`, `%store` and `%load` magics.

    ## Why is this bad?
    The notebook depends on another notebook having run first (in the right order, in the same
    kernel or on the same machine), which nothing records. It cannot run on its own, in CI or as
    a pipeline step.

    ## Example
    ```python
    # %%
    %store -r features
    ```

    ## Use instead
    Write what the first notebook produces to a file (or a pipeline artifact) and read it here,
    or move shared code into a module and import it.

    ## Fix safety
    No automatic fix.
    """

    code = "NB206"
    name = "cross-notebook-state"
    category = "reproducible"
    VALID = ("# %%\nfrom helpers import clean\n%matplotlib inline\n",)
    INVALID = (Invalid("# %%\n%run prepare.ipynb\n%store -r features\n", count=2),)

    def check(self, ctx: Context):
        for cell in ctx.notebook.code_cells:
            for magic in cell.code.magics if cell.code else ():
                if magic.kind == "line" and magic.name in _WHAT:
                    yield self.report(
                        ctx, cell, f"`%{magic.command[:60]}` {_WHAT[magic.name]}",
                        line=magic.line,
                        help="read the other notebook's results from a file or artifact, or "
                             "import shared code from a module")
