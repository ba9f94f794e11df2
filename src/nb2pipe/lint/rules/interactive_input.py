from nb2pipe.lint.rule import Context, Invalid, Rule

_PROMPTS = frozenset({"input", "raw_input", "getpass.getpass", "click.prompt",
                      "click.confirm", "typer.prompt", "rich.prompt.Prompt.ask",
                      "matplotlib.pyplot.ginput", "questionary.text"})


class InteractiveInput(Rule):
    """`input()` and other prompts that wait for someone to type.

    ## What it does
    Flags calls to `input()`, `getpass.getpass()`, `click.prompt()` and similar prompts.

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
                       'pw = getpass()\n', count=2),)

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
