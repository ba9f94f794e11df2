from nb2pipe.analysis.facts import informative_counts
from nb2pipe.lint.rule import Context, Invalid, Rule


class ExecutionCountGap(Rule):
    """Execution counts skip numbers or do not start at 1.

    ## What it does
    Takes the saved execution counts in the order the cells ran, and flags the cell that ran
    first when its count is not 1, and each cell whose count is more than one above the count
    that ran before it: the runs in between are not in the notebook. A notebook run out of
    order (NB101) with every count from 1 up misses no run.

    ## Why is this bad?
    A gap means cells were run that are not in the saved notebook any more (re-run, edited or
    deleted), or that the kernel had state from before. What the outputs show depends on code
    you cannot see.

    ## Example
    ```python
    # %% execution_count=1
    import pandas as pd
    # %% execution_count=9
    df = pd.read_csv("data.csv")
    ```

    ## Use instead
    Restart the kernel and run all cells, then save: the counts go 1, 2, 3…

    ## Fix safety
    No automatic fix: only running the notebook again can show what it does without the
    missing runs.
    """

    code = "NB102"
    name = "execution-count-gap"
    category = "runs-top-to-bottom"
    VALID = (
        "# %% execution_count=0\nx = 1\n# %% execution_count=0\ny = x + 1\n",
        "# %% execution_count=1\nx = 1\n# %% execution_count=2\ny = 2\n",
        "# %%\nx = 1\n# %%\ny = 2\n",
        # out of order (NB101), but every run is here
        "# %% execution_count=1\nx = 1\n# %% execution_count=3\ny = 2\n"
        "# %% execution_count=2\nz = 3\n",
        # an empty cell run last, after a restart of the count elsewhere: nothing to say
        "# %% execution_count=1\nx = 1\n# %% execution_count=2\ny = 2\n"
        "# %% execution_count=9\n\n",
    )
    INVALID = (
        Invalid("# %% execution_count=3\nx = 1\n# %% execution_count=4\ny = 2\n", count=1),
        Invalid("# %% execution_count=1\nx = 1\n# %% execution_count=5\ny = 2\n", count=1),
        Invalid("# %% execution_count=4\nx = 1\n# %% execution_count=1\ny = 2\n", count=1,
                message="jumps from [1] in cell 2 to [4]: 2 runs are not in the notebook"),
    )

    def check(self, ctx: Context):
        # In the order the runs happened, not the cells' order: a notebook run out of order
        # (NB101) misses no run when every count from 1 up is there.
        if not informative_counts(ctx.notebook):
            return  # every count is 0 (a Colab export): they say nothing about the runs
        ran = sorted((cell.execution_count, cell.index, cell) for cell in ctx.notebook.code_cells
                     if cell.execution_count is not None and cell.execution_count > 0)
        # An empty cell's run fills its place in the count, but an empty cell is never the
        # one reported: a late start shows on the first cell with code.
        first = ran[0][0] if ran else 1
        if first != 1:
            cell = next((c for _, _, c in ran if not c.is_empty), None)
            if cell is not None:
                yield self.report(
                    ctx, cell,
                    f"execution counts start at [{first}], not [1]: the kernel ran "
                    f"{'once' if first == 2 else f'{first - 1} times'} before "
                    f"{'this cell' if cell.execution_count == first else 'the first cell'}",
                    help="restart the kernel and run all cells, then save")
        previous = None
        for count, _, cell in ran:
            if cell.is_empty:
                previous = cell
                continue
            if previous is not None and count > previous.execution_count + 1:
                missing = count - previous.execution_count - 1
                yield self.report(
                    ctx, cell,
                    f"execution count jumps from [{previous.execution_count}] in cell "
                    f"{previous.number} to [{count}]: "
                    f"{'1 run is' if missing == 1 else f'{missing} runs are'} not in the notebook",
                    help="restart the kernel and run all cells, then save")
            previous = cell
