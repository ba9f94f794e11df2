from dataclasses import replace

from nb2pipe.lint.rule import Context, Invalid, Rule
from nb2pipe.lint.rules._pipeline import pipeline_problems


class NonLiteralParameter(Rule):
    """A pipeline parameter set to something other than a literal.

    ## What it does
    Flags statements in cells tagged `pipeline-parameters` (or `parameters`) in a notebook
    tagged for conversion that are not `NAME = literal` (a number, string, boolean, `None`,
    or a list or dict of them).

    ## Why is this bad?
    A parameter is a value a run can override (`nb2pipe run -p NAME=VALUE`, papermill `-p`,
    a KFP pipeline input). A computed value (`N = len(df)`) cannot be typed, shown or
    overridden, and it runs code before any step.

    ## Example
    ```python
    # %% tags=["pipeline-parameters"]
    DATA_DIR = os.path.join(ROOT, "data")
    ```

    ## Use instead
    ```python
    # %% tags=["pipeline-parameters"]
    DATA_DIR = "data"
    ```
    and compute derived values in a step.

    ## Fix safety
    No automatic fix.
    """

    code = "NB405"
    name = "non-literal-parameter"
    severity = "error"
    category = "pipeline-ready"
    VALID = ('# %% tags=["pipeline-parameters"]\nLR = 0.1\nLAYERS = [64, 32]\n'
             '# %% tags=["step:a"]\nprint(LR, LAYERS)\n',)
    INVALID = (Invalid('# %% tags=["pipeline-parameters"]\nROOT = "x"\nDATA = ROOT + "/d"\n'
                       'print(ROOT)\n# %% tags=["step:a"]\nprint(DATA)\n', count=2),)

    def check(self, ctx: Context):
        for diagnostic in pipeline_problems(ctx, self.code):
            yield replace(diagnostic, name=self.name, severity=self.severity)
