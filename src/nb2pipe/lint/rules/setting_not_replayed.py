from dataclasses import replace

from nb2pipe.lint.rule import Context, Invalid, Rule
from nb2pipe.lint.rules._pipeline import pipeline_problems


class SettingNotReplayed(Rule):
    """A setting reads a value computed at run time, so later steps run without it.

    ## What it does
    In a tagged notebook, flags a setting (a plotting style, `rcParams`, pandas or NumPy
    print options, a warning filter, `sys.path`…) that later steps need and that `convert`
    cannot repeat in them: it reads a variable whose value is computed when the notebook
    runs. A setting that reads only modules travels to every later step; one that reads a
    name bound to a literal (`params = {"figure.figsize": (8, 4)}`) travels with that
    assignment.

    ## Why is this bad?
    In a notebook a setting holds for every cell after it. In a pipeline each step is a
    process of its own: figures come out at the default size, warnings come back, numbers
    print differently — silently.

    ## Example
    ```python
    # %% tags=["step:load"]
    size = (width, width / 2)
    plt.rcParams.update({"figure.figsize": size})
    # %% tags=["step:plot"]
    plt.plot(values)
    ```

    ## Use instead
    ```python
    # %% tags=["step:load"]
    plt.rcParams.update({"figure.figsize": (8, 4)})
    ```
    Or repeat the setting in the steps that need it.

    ## Fix safety
    No automatic fix.
    """

    code = "NB407"
    name = "setting-not-replayed"
    severity = "warning"
    category = "pipeline-ready"
    VALID = ('# %% tags=["imports"]\nimport matplotlib.pyplot as plt\n'
             '# %% tags=["step:load"]\nparams = {"figure.figsize": (8, 4)}\n'
             'plt.rcParams.update(params)\nvalues = [1, 2]\n'
             '# %% tags=["step:plot"]\nplt.plot(values)\n',)
    INVALID = (Invalid('# %% tags=["imports"]\nimport matplotlib.pyplot as plt\n'
                       '# %% tags=["step:load"]\nvalues = [1, 2]\nwidth = max(values) * 4\n'
                       'plt.rcParams.update({"figure.figsize": (width, width / 2)})\n'
                       '# %% tags=["step:plot"]\nplt.plot(values)\n'),)

    def check(self, ctx: Context):
        for diagnostic in pipeline_problems(ctx, self.code):
            yield replace(diagnostic, name=self.name, severity=self.severity)
