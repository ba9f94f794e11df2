from dataclasses import replace

from nb2pipe.lint.rule import Context, Invalid, Rule
from nb2pipe.lint.rules._pipeline import pipeline_problems


class InvalidTag(Rule):
    """An unknown or malformed pipeline tag, a bad step name, or `prev:` naming a missing or later step.

    ## What it does
    Checks the pipeline tags of a notebook tagged for conversion (Kale's grammar: `imports`,
    `functions`, `pipeline-parameters`, `pipeline-metrics`, `skip`, `step:NAME`, `prev:NAME`,
    `image:`, `limit:`, `label:`, `annotation:`, `cache:`, `retry:`, `secret:`). Flags tags
    that look like pipeline tags but are not (`stpe:train`, `pipeline-parameter`), step names
    that are not lower-case identifiers, `prev:` tags naming a step that does not exist or
    comes later, cycles of `prev:` tags, a cell tagged with two steps, empty steps, and
    malformed per-step settings (`limit:memory` without a quantity). Tags of other tools
    (`hide-input`, `raises-exception`…) are ignored.

    ## Why is this bad?
    `nb2pipe convert` (and Kale) cannot build the pipeline the tags describe, or builds a
    different one: a misspelt `prev:` silently drops an ordering edge.

    ## Example
    ```python
    # %% tags=["step:load"]
    df = load()
    # %% tags=["step:Train Model", "prev:laod"]
    model = fit(df)
    ```

    ## Use instead
    ```python
    # %% tags=["step:load"]
    df = load()
    # %% tags=["step:train_model", "prev:load"]
    model = fit(df)
    ```

    ## Fix safety
    No automatic fix.
    """

    code = "NB401"
    name = "invalid-tag"
    severity = "error"
    category = "pipeline-ready"
    VALID = (
        '# %% tags=["imports"]\nimport os\n# %% tags=["step:load"]\nx = 1\n'
        '# %% tags=["step:use", "prev:load", "limit:memory:2Gi", "hide-input"]\nprint(x)\n',
    )
    INVALID = (
        Invalid('# %% tags=["step:load"]\nx = 1\n# %% tags=["step:Train Model", "prev:laod"]\n'
                'print(x)\n', count=2),
        Invalid('# %% tags=["step:a", "prev:b"]\nx = 1\n# %% tags=["step:b"]\ny = x\n'
                '# %% tags=["stpe:c", "limit:memory"]\nz = 2\n', count=3),
    )

    def check(self, ctx: Context):
        for diagnostic in pipeline_problems(ctx, self.code):
            yield replace(diagnostic, name=self.name, severity=self.severity)
