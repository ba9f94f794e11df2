from nb2pipe.editor import inserted_by_fix
from nb2pipe.lint.rule import Context, Invalid, Rule


class UnexecutedCell(Rule):
    """Code cells that were never run between cells that were, or a notebook never run at all.

    ## What it does
    Flags a code cell without an execution count when cells above and below it have one (a cell
    that is empty or holds only comments runs nothing, and is left alone; so is a cell that
    `nb2pipe check --fix` inserted, such as the parameters cell: a fix makes no new finding). A notebook with code
    whose cells were never run gets one finding for the whole notebook.

    ## Why is this bad?
    The outputs below a skipped cell were produced without it. Either the cell is dead code, or
    the notebook does not do what its outputs show.

    ## Example
    ```python
    # %% execution_count=1
    df = load()
    # %%
    df = df.dropna()
    # %% execution_count=2
    df.describe()
    ```

    ## Use instead
    Delete the cell if it is not needed; otherwise restart the kernel and run all cells.

    ## Fix safety
    No automatic fix.
    """

    code = "NB103"
    name = "unexecuted-cell"
    category = "runs-top-to-bottom"
    VALID = (
        "# %% execution_count=1\nx = 1\n# %% execution_count=2\ny = 2\n# %%\nz = 3\n",
        # counts stripped, outputs kept (`make clean`): it ran
        '# %% outputs=[{"output_type": "stream", "name": "stdout", "text": "1"}]\nprint(1)\n'
        '# %% outputs=[{"output_type": "stream", "name": "stdout", "text": "2"}]\nprint(2)\n',
        "# %% execution_count=1\nx = 1\n# %%\n\n# %% execution_count=2\ny = 2\n",
        "# %% [markdown]\n# Notes only\n",
        "# %% execution_count=1\nx = 1\n# %%\n# y = 2  (kept for later)\n"
        "# %% execution_count=2\nz = 3\n",
    )
    INVALID = (
        Invalid("# %% execution_count=1\nx = 1\n# %%\ny = 2\n# %% execution_count=2\nz = 3\n",
                count=1),
        Invalid("# %%\nx = 1\n# %%\ny = 2\n", count=1),
    )

    def check(self, ctx: Context):
        # a cell of comments only runs nothing: never running it changes nothing
        code = [c for c in ctx.notebook.code_cells if not c.is_empty and not (
            c.code is not None and c.code.tree is not None and not c.code.tree.body)]
        executed = [i for i, c in enumerate(code) if c.execution_count is not None]
        if not code:
            return
        if not executed and any(c.outputs for c in code):
            return  # counts stripped (a `make clean`, nbstripout --keep-output): it did run
        if not executed:
            yield self.report(
                ctx, None,
                f"the notebook was never run: none of its {len(code)} code cells has an "
                f"execution count",
                help="run it top to bottom (Restart Kernel and Run All Cells) and save, so "
                     "that its outputs show what it does")
            return
        for cell in code[executed[0] + 1:executed[-1]]:
            if cell.execution_count is None and not inserted_by_fix(cell) and \
                    not cell.outputs:  # outputs without a count: it ran, the count was stripped
                # (a cell a fix inserted — the parameters cell, a seed — is not reported: the
                # fix made it, and `check --fix` already says to run the notebook again)
                yield self.report(
                    ctx, cell, "cell was never run, but cells above and below it were",
                    help="delete it if it is not needed, or restart the kernel and run all cells")
