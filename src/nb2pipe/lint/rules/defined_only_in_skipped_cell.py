from dataclasses import replace

from nb2pipe.lint.rule import Context, Invalid, Rule
from nb2pipe.lint.rules._pipeline import pipeline_problems


class DefinedOnlyInSkippedCell(Rule):
    """A step needs a name that only a `skip` cell defines.

    ## What it does
    Flags names a step reads that are defined only in cells tagged `skip` (or in untagged cells
    above the first tag, which belong to no step, as in Kale).

    ## Why is this bad?
    Skipped cells do not run in the pipeline: the step fails with a `NameError` on its first run,
    though the notebook worked in Jupyter.

    ## Example
    ```python
    # %% tags=["skip"]
    scaler = StandardScaler().fit(X)
    # %% tags=["step:train"]
    model = fit(scaler.transform(X))
    ```

    ## Use instead
    Move the definition into a step (or remove the `skip` tag).

    ## Fix safety
    No automatic fix.
    """

    code = "NB404"
    name = "defined-only-in-skipped-cell"
    severity = "error"
    category = "pipeline-ready"
    VALID = ('# %% tags=["skip"]\nprint("exploration")\n# %% tags=["step:a"]\nx = 1\n',)
    INVALID = (Invalid('# %% tags=["skip"]\nscaler = 1\n# %% tags=["step:train"]\n'
                       'model = scaler + 1\n', count=1),)

    def check(self, ctx: Context):
        for diagnostic in pipeline_problems(ctx, self.code):
            yield replace(diagnostic, name=self.name, severity=self.severity)
