from dataclasses import replace

from nb2pipe.lint.rule import Context, Invalid, Rule
from nb2pipe.lint.rules._pipeline import pipeline_problems


class UnserializableStepOutput(Rule):
    """An open file, generator, connection, lock… crosses a step boundary.

    ## What it does
    Flags a value that a later step needs and that cannot be written to disk and read back in
    another process: the result of `open()`, a generator expression, `iter()`/`zip()`/`map()`,
    a lock, a socket, a database connection or engine, an HTTP session, the target of a `with`
    block. Also flags a change in place of a value that shares its object with another name
    (`holder = {"a": a}`, `b = a`, `pipe = Pipeline([("m", m)])`) when the two names would
    reach the changing step apart: passed by copy, they are two objects there, and the change
    would not reach the other name. At run time, `nb2pipe run` also stops with a message naming the step and variable
    if such a value reaches the end of a step.

    ## Why is this bad?
    Each step of a pipeline runs in its own process (on a cluster, its own machine). Only data
    can travel between them, not handles to files, connections or half-consumed iterators.

    ## Example
    ```python
    # %% tags=["step:load"]
    handle = open("data.csv")
    # %% tags=["step:parse"]
    rows = handle.readlines()
    ```

    ## Use instead
    ```python
    # %% tags=["step:load"]
    with open("data.csv") as handle:
        rows = handle.readlines()
    ```
    Pass the data (or a path), not the handle.

    ## Fix safety
    No automatic fix.
    """

    code = "NB403"
    name = "unserializable-step-output"
    severity = "error"
    category = "pipeline-ready"
    VALID = ('# %% tags=["step:load"]\nwith open("a") as h:\n    rows = h.read()\n'
             '# %% tags=["step:parse"]\nprint(rows)\n',)
    INVALID = (Invalid('# %% tags=["step:load"]\nhandle = open("data.csv")\n'
                       'pairs = zip(a, b)\n# %% tags=["step:parse"]\n'
                       'rows = handle.readlines()\nprint(list(pairs))\n', count=2),
               Invalid('# %% tags=["step:make"]\na = [1, 2]\nholder = {"a": a}\n'
                       '# %% tags=["step:change"]\nholder["a"].append(3)\n'
                       '# %% tags=["step:show"]\nprint(a)\n'),)

    def check(self, ctx: Context):
        for diagnostic in pipeline_problems(ctx, self.code):
            yield replace(diagnostic, name=self.name, severity=self.severity)
