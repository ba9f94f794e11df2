from nb2pipe.lint.rule import Context, Rule


class InvalidNotebook(Rule):
    """The file is not a notebook nb2pipe can read.

    ## What it does
    Reports files that cannot be read, are not UTF-8 JSON, are not a notebook (no `cells`), use
    an unsupported nbformat, or have cells of the wrong shape. nbformat 3 notebooks are
    upgraded, not reported.

    ## Why is this bad?
    Jupyter cannot open the file either, or only after repairing it; a damaged notebook in a
    repository usually means a bad merge or a truncated save.

    ## Example
    A file `train.ipynb` that holds `{"cells": [` and nothing more.

    ## Use instead
    Restore the file from version control or from `.ipynb_checkpoints/`, or re-save it with
    Jupyter.

    ## Fix safety
    No automatic fix.
    """

    code = "NB901"
    name = "invalid-notebook"
    severity = "error"
    category = "runs-top-to-bottom"

    def check(self, ctx: Context):
        return iter(())  # reported by the runner when reading fails
