from nb2pipe.analysis.facts import informative_counts
from nb2pipe.lint.rule import Context, Invalid, Rule


class NonLinearExecution(Rule):
    """Saved execution counts are not increasing from top to bottom.

    ## What it does
    Flags each code cell whose saved execution count is not greater than that of the executed
    code cell above it.

    ## Why is this bad?
    The cells were run out of order, so the saved outputs came from a state that running the
    notebook top to bottom may never reach. This is the hidden state that makes level-0 notebooks
    impossible to reproduce.

    ## Example
    ```python
    # %% execution_count=2
    df = load()
    # %% execution_count=1
    df = clean(df)
    ```

    ## Use instead
    Restart the kernel and run all cells (*Kernel › Restart Kernel and Run All Cells*), then save.

    ## Fix safety
    No automatic fix: only running the notebook again can show that it works in order.
    """

    code = "NB101"
    name = "non-linear-execution"
    category = "runs-top-to-bottom"
    VALID = (
        "# %% execution_count=1\nx = 1\n# %% execution_count=2\ny = x + 1\n",
        # every count 0 (a Colab export): no order to read
        "# %% execution_count=0\nx = 1\n# %% execution_count=0\ny = x + 1\n",
        "# %% execution_count=1\nx = 1\n# %%\n# %% execution_count=5\ny = x\n",
        # an empty cell run later changes nothing
        "# %% execution_count=1\nx = 1\n# %% execution_count=9\n\n"
        "# %% execution_count=2\ny = x\n",
    )
    INVALID = (
        Invalid("# %% execution_count=2\nx = 1\n# %% execution_count=1\ny = x + 1\n", count=1),
        Invalid("# %% execution_count=1\na = 1\n# %% execution_count=7\nb = 2\n"
                "# %% execution_count=3\nc = 3\n# %% execution_count=4\nd = 4\n"
                "# %% execution_count=4\ne = 5\n", count=2),
    )

    def check(self, ctx: Context):
        if not informative_counts(ctx.notebook):
            return  # every count is 0 (a Colab export): they say nothing about the order
        previous = None
        for cell in ctx.notebook.code_cells:
            count = cell.execution_count
            if count is None or cell.is_empty:  # an empty cell computed nothing
                continue
            if previous is not None and count <= previous.execution_count:
                yield self.report(
                    ctx, cell,
                    f"cell ran out of order: execution count [{count}] comes after "
                    f"[{previous.execution_count}] in cell {previous.number}",
                    help="restart the kernel and run all cells, then save")
            previous = cell
