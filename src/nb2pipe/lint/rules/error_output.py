from nb2pipe.lint.rule import Context, Invalid, Rule


class ErrorOutput(Rule):
    """Saved tracebacks in cell outputs.

    ## What it does
    Flags each code cell whose saved outputs contain an error (a traceback).

    ## Why is this bad?
    A notebook saved with an error did not run top to bottom. Either the error was fixed by
    running other cells afterwards (hidden state), or the notebook is broken.

    ## Example
    ```python
    # %% outputs=[{"output_type": "error", "ename": "KeyError", "evalue": "'age'", "traceback": []}]
    df["age"].mean()
    ```

    ## Use instead
    Fix the error, restart the kernel, run all cells and save. If the error is the point (a
    teaching example), catch it and print it.

    ## Fix safety
    No automatic fix.
    """

    code = "NB104"
    name = "error-output"
    severity = "error"
    category = "runs-top-to-bottom"
    VALID = ('# %% outputs=[{"output_type": "stream", "name": "stdout", "text": "ok"}]\n'
             'print("ok")\n',)
    INVALID = (
        Invalid('# %% execution_count=1 outputs=[{"output_type": "error", "ename": "KeyError", '
                '"evalue": "\'age\'", "traceback": []}]\ndf["age"].mean()\n', count=1),
    )

    def check(self, ctx: Context):
        for cell in ctx.notebook.code_cells:
            for output in cell.outputs:
                if output.get("output_type") == "error":
                    name = str(output.get("ename") or "Error")
                    value = " ".join(str(output.get("evalue") or "").split())
                    if len(value) > 120:
                        value = value[:117] + "..."
                    text = f"{name}: {value}" if value else name
                    yield self.report(
                        ctx, cell, f"saved output is an error: {text}",
                        help="fix the error, restart the kernel, run all cells and save")
                    break
