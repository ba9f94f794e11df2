from dataclasses import replace

from nb2pipe.lint.rule import Context, Invalid, Rule
from nb2pipe.lint.rules._pipeline import pipeline_problems


class AmbiguousProducer(Rule):
    """A name a step needs is produced by two steps that run in no set order.

    ## What it does
    For each step, finds which earlier step produces each name it reads. Flags a name that two
    steps both bind (or change) when neither runs after the other, so the pipeline could give
    the step either value.

    ## Why is this bad?
    In the notebook the cells ran top to bottom, so the later one won. In a pipeline the two
    steps may run in parallel, in any order: the result depends on scheduling.

    ## Example
    ```python
    # %% tags=["step:clean_a"]
    df = load_a()
    # %% tags=["step:clean_b"]
    df = load_b()
    # %% tags=["step:train"]
    model = fit(df)
    ```

    ## Use instead
    Give the two values different names, or order the steps with `prev:clean_a` on `clean_b`.

    ## Fix safety
    No automatic fix.
    """

    code = "NB402"
    name = "ambiguous-producer"
    severity = "error"
    category = "pipeline-ready"
    VALID = ('# %% tags=["step:a"]\ndf = 1\n# %% tags=["step:b", "prev:a"]\ndf = df + 1\n'
             '# %% tags=["step:c"]\nprint(df)\n',)
    INVALID = (Invalid('# %% tags=["step:clean_a"]\ndf = 1\n# %% tags=["step:clean_b"]\n'
                       'df = 2\n# %% tags=["step:train"]\nprint(df)\n', count=1),)

    def check(self, ctx: Context):
        for diagnostic in pipeline_problems(ctx, self.code):
            yield replace(diagnostic, name=self.name, severity=self.severity)
