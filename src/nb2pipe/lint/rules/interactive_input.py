from nb2pipe.lint.rule import Context, Invalid, Rule

_PROMPTS = frozenset({"input", "raw_input", "getpass.getpass", "click.prompt",
                      "click.confirm", "typer.prompt", "rich.prompt.Prompt.ask",
                      "matplotlib.pyplot.ginput", "questionary.text", "cv2.waitKey"})
#: Calls that stop in a debugger: the run waits for someone to type there.
_BREAKPOINTS = frozenset({"breakpoint", "pdb.set_trace", "ipdb.set_trace",
                          "IPython.core.debugger.set_trace", "IPython.embed"})


class InteractiveInput(Rule):
    """`input()` and other prompts that wait for someone to type.

    ## What it does
    Flags calls to `input()`, `getpass.getpass()`, `click.prompt()` and similar prompts, and
    the breakpoints that stop in a debugger (`breakpoint()`, `pdb.set_trace()`, `%debug`).

    ## Why is this bad?
    The notebook stops and waits for a person. It cannot run unattended: not with papermill, not
    in CI, not as a scheduled pipeline.

    ## Example
    ```python
    # %%
    threshold = float(input("Threshold? "))
    ```

    ## Use instead
    ```python
    # %% tags=["parameters"]
    THRESHOLD = 0.5
    ```
    Secrets come from the environment (`os.environ["API_TOKEN"]`), not from a prompt.

    ## Fix safety
    No automatic fix.
    """

    code = "NB305"
    name = "interactive-input"
    category = "parameterised"
    VALID = ("# %%\nimport os\ntoken = os.environ['TOKEN']\n",)
    INVALID = (Invalid('# %%\nfrom getpass import getpass\nt = float(input("T? "))\n'
                       'pw = getpass()\n', count=2),
               Invalid("# %%\nimport pdb\nfor row in rows:\n    pdb.set_trace()\n# %%\n"
                       "breakpoint()\n%debug\n", count=3))

    def check(self, ctx: Context):
        analysis = ctx.analysis
        for cell, call, qualified in analysis.qualified_calls:
            if qualified in _PROMPTS and (call.dotted != "input" or "input" not in
                                          analysis.first_binding):
                yield self.report(
                    ctx, cell, f"`{call.dotted}()` waits for someone to type: the notebook "
                               f"cannot run unattended", node=call.node,
                    help="make the value a parameter (or, for secrets, read an environment "
                         "variable)")
            elif qualified in _BREAKPOINTS and (call.dotted != "breakpoint" or
                                                "breakpoint" not in analysis.first_binding):
                yield self.report(
                    ctx, cell, f"`{call.dotted}()` stops in the debugger: the notebook cannot "
                               f"run unattended", node=call.node,
                    help="remove the breakpoint before saving the notebook")
        for cell in ctx.notebook.code_cells:
            for magic in cell.code.magics if cell.code else ():
                if magic.kind == "line" and magic.name == "debug":
                    yield self.report(
                        ctx, cell, f"`%{magic.command[:40]}` stops in the debugger: the "
                                   f"notebook cannot run unattended", line=magic.line,
                        help="remove the `%debug` line before saving the notebook")
