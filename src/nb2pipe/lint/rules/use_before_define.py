from nb2pipe.lint.rule import Context, Invalid, Rule


class UseBeforeDefine(Rule):
    """A name read in a cell is first defined by a later cell.

    ## What it does
    Follows the notebook top to bottom, as a fresh kernel would run it, and flags each name that
    a cell reads before any cell above it has defined it, when a cell further down does define
    it. The analysis is scope-aware: a function may refer to a name defined later, as long as
    it is *called* after that definition; comprehension variables, class bodies, `global`
    declarations, `del`, walrus and the other binding forms are followed as Python does.

    ## Why is this bad?
    The notebook only worked because its cells were run out of order. Restart the kernel and run
    all cells, and this cell fails with a `NameError`.

    ## Example
    ```python
    # %%
    predictions = model.predict(X_test)
    # %%
    model = train(X_train, y_train)
    ```

    ## Use instead
    Move the defining cell above the cell that reads it.

    ## Fix safety
    No automatic fix: moving cells can change what other cells see.
    """

    code = "NB105"
    name = "use-before-define"
    severity = "error"
    category = "runs-top-to-bottom"
    VALID = (
        "# %%\nmodel = 1\n# %%\nprint(model)\n",
        "# %%\ndef predict(x):\n    return model * x\n# %%\nmodel = 2\n# %%\npredict(3)\n",
        "# %%\nclass Box:\n    def get(self):\n        return late\n# %%\nb = Box()\n"
        "# %%\nlate = 1\n# %%\nb.get()\n",
        "# %%\nsquares = [n * n for n in range(3)]\n# %%\nn = 5\n",
        "# %%\nfor i in range(3):\n    if i:\n        print(prev)\n    prev = i\n# %%\nprev = 0\n",
        "# %%\ntry:\n    model\nexcept NameError:\n    model = 1\n# %%\nmodel = 2\n",
        # annotations are not evaluated after `from __future__ import annotations`, which
        # IPython keeps in force for the cells after it
        "# %%\nfrom __future__ import annotations\n# %%\ndef load(path: Path) -> Frame:\n"
        "    return path\n# %%\nfrom pathlib import Path\nclass Frame: pass\n",
    )
    INVALID = (
        Invalid("# %%\npredictions = model.predict(X)\n# %%\nmodel = fit()\nX = 1\n", count=2),
        Invalid("# %%\ndef predict(x):\n    return model * x\n# %%\npredict(3)\n"
                "# %%\nmodel = 2\n", count=1),
        Invalid("# %%\ntotal += 1\n# %%\ntotal = 0\n", count=1),
        Invalid("# %%\nscaler = make()\nX_train = scaler.transform(X_train)\n", count=1),
        # without it, a function's annotations are evaluated when it is defined
        Invalid("# %%\ndef load(path: Path):\n    return path\n# %%\nfrom pathlib import Path\n",
                count=1),
    )

    def check(self, ctx: Context):
        for problem in ctx.analysis.order_problems:
            if problem.defined_in is None:
                continue
            read = problem.read
            cell_number = problem.defined_in.cell + 1
            if problem.defined_in.cell == problem.cell.index:
                line = problem.defined_in.line
                yield self.report(
                    ctx, problem.cell, f"`{read.name}` is used before line {line} of this cell "
                                       f"defines it, and no cell above defines it",
                    line=read.line, col=read.col,
                    help=f"define `{read.name}` before line {read.line} (a fresh kernel stops "
                         f"here with a NameError)")
                continue
            if problem.via:
                message = (f"`{read.name}` is read by `{problem.via}()`, called here, before "
                           f"cell {cell_number} defines it")
            else:
                message = f"`{read.name}` is used before cell {cell_number} defines it"
            yield self.report(
                ctx, problem.cell, message, line=read.line, col=read.col,
                help=f"move cell {cell_number} (or the line that defines `{read.name}`) above "
                     f"cell {problem.cell.number}")
