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
        "# %% execution_count=1\nx = 1\n# %% execution_count=2\ny = 2\n",
        "# %%\nx = 1\n# %%\ny = 2\n",
        # out of order (NB101), but every run is here
        "# %% execution_count=1\nx = 1\n# %% execution_count=3\ny = 2\n"
        "# %% execution_count=2\nz = 3\n",
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
        ran = sorted((cell.execution_count, cell.index, cell) for cell in ctx.notebook.code_cells
                     if cell.execution_count is not None)
        previous = None
        for count, _, cell in ran:
            if previous is None and count != 1:
                yield self.report(
                    ctx, cell,
                    f"execution counts start at [{count}], not [1]: the kernel ran "
                    f"{'once' if count == 2 else f'{count - 1} times'} before this cell",
                    help="restart the kernel and run all cells, then save")
            elif previous is not None and count > previous.execution_count + 1:
                missing = count - previous.execution_count - 1
                yield self.report(
                    ctx, cell,
                    f"execution count jumps from [{previous.execution_count}] in cell "
                    f"{previous.number} to [{count}]: "
                    f"{'1 run is' if missing == 1 else f'{missing} runs are'} not in the notebook",
                    help="restart the kernel and run all cells, then save")
            previous = cell
