from nb2pipe.lint.rule import Context, Invalid, Rule


class SyntaxError_(Rule):
    """A code cell does not parse as Python (after IPython syntax is set aside).

    ## What it does
    Flags code cells that are not valid Python 3: Python 2 code, prose typed into a code cell,
    unfinished edits. IPython syntax (`%magic`, `!shell`, `obj?`, and a line magic without its
    `%` alone in its cell, as IPython's automagic runs `pip install x`) is not an error.

    ## Why is this bad?
    The notebook cannot run top to bottom, and nb2pipe cannot analyse the cell: other rules are
    blind to it.

    ## Example
    ```python
    # %%
    print "accuracy:", acc
    ```

    ## Use instead
    ```python
    # %%
    print("accuracy:", acc)
    ```
    Move prose into a Markdown cell.

    ## Fix safety
    No automatic fix.
    """

    code = "NB902"
    name = "syntax-error"
    severity = "error"
    category = "runs-top-to-bottom"
    VALID = ("# %%\n%matplotlib inline\n!ls -l\nx = !pwd\nlen?\n",
             "# %%\n%%bash\necho $HOME\n",
             # IPython's automagic: a line magic without `%`, alone in its cell
             "# %%\npip install watermark\n# %%\nload_ext watermark\n# %%\ncd ..\n")
    INVALID = (Invalid('# %%\nprint "hello"\n', count=1),
               # …but not in a longer cell, where IPython does not apply it
               Invalid("# %%\nload_ext autoreload\nimport numpy\n", count=1),
               Invalid("# %%\nThis cell has prose in it.\n", count=1))

    def check(self, ctx: Context):
        for cell in ctx.notebook.code_cells:
            problem = cell.code.error if cell.code else None
            if problem is None:
                continue
            hint = "fix the syntax; move prose into a Markdown cell"
            if "print" in problem.message or "Missing parentheses" in problem.message:
                hint = "this looks like Python 2: port it to Python 3"
            yield self.report(ctx, cell, f"cell does not parse: {problem.message}",
                              line=problem.line, col=problem.col, help=hint)
