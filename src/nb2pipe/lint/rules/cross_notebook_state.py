from nb2pipe.lint.rule import Context, Invalid, Rule

_WHAT = {
    "run": "runs another notebook or script in this kernel",
    "store": "shares variables between notebooks through IPython's store",
    "load": "pastes code from another file into the cell",
}


#: Packages that import a notebook as if it were a module.
_NOTEBOOK_IMPORTERS = ("ipynb", "import_ipynb", "nbimporter", "importnb")


class CrossNotebookState(Rule):
    """State that comes from another notebook: `%run`, `%store`, `%load`, notebook imports.

    ## What it does
    Flags the `%run`, `%store` and `%load` magics, and imports of other notebooks through the
    packages that make notebooks importable (`import ipynb.fs.full.prepare`, `import_ipynb`,
    `nbimporter`, `importnb`).

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
    INVALID = (Invalid("# %%\n%run prepare.ipynb\n%store -r features\n", count=2),
               Invalid("# %%\nfrom ipynb.fs.full.prepare import features\n# %%\n"
                       "import import_ipynb\nimport cleaning\n", count=2))

    def check(self, ctx: Context):
        for cell, facts in ctx.analysis.cells_with_facts():
            for fact in facts.imports:
                if fact.module.partition(".")[0] in _NOTEBOOK_IMPORTERS:
                    parts = fact.module.split(".")
                    what = f"imports the notebook `{parts[3]}.ipynb`" if len(parts) > 3 and \
                        parts[:2] == ["ipynb", "fs"] else "makes other notebooks importable"
                    yield self.report(
                        ctx, cell, f"`{fact.module}` {what}: this notebook runs code from "
                                   f"another one", node=fact.node,
                        help="move the shared code into a Python module and import that")
                    break
        for cell in ctx.notebook.code_cells:
            for magic in cell.code.magics if cell.code else ():
                if magic.kind == "line" and magic.name in _WHAT:
                    yield self.report(
                        ctx, cell, f"`%{magic.command[:60]}` {_WHAT[magic.name]}",
                        line=magic.line,
                        help="read the other notebook's results from a file or artifact, or "
                             "import shared code from a module")
