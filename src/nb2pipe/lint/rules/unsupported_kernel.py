from nb2pipe.lint.rule import Context, Rule


class UnsupportedKernel(Rule):
    """The notebook's kernel is not Python.

    ## What it does
    Reports notebooks whose kernel language (from `metadata.kernelspec` or
    `metadata.language_info`) is not Python. Their cells are not checked.

    ## Why is this bad?
    nb2pipe's rules and converter understand Python notebooks only; this finding says so instead
    of reporting nonsense about R or Julia code.

    ## Example
    A notebook with `"kernelspec": {"language": "R", "name": "ir"}`.

    ## Use instead
    Exclude the notebook (`exclude` in `[tool.nb2pipe]`), or ignore the code for it.

    ## Fix safety
    No automatic fix.
    """

    code = "NB903"
    name = "unsupported-kernel"
    severity = "info"
    category = "runs-top-to-bottom"
    VALID = ("# %%\nx = 1\n",)

    def check(self, ctx: Context):
        language = ctx.notebook.language
        if "python" not in language:
            yield self.report(
                ctx, None,
                f"the kernel's language is `{language}`: nb2pipe checks Python notebooks only",
                help="exclude this notebook, or ignore NB903 for it")
