from nb2pipe.analysis.training import first_training
from nb2pipe.lint.rule import Context, Invalid, Rule


class UntaggedTrainingNotebook(Rule):
    """A notebook trains a model, but none of its cells is tagged as a pipeline step.

    ## What it does
    Flags the first training call (`model.fit(...)`, `xgb.train(...)`…) of a notebook that has
    no pipeline tags at all (`step:NAME`, `imports`, `functions`, `skip`…). The finding is
    information, not an error: it says the notebook is not yet a pipeline.

    ## Why is this bad?
    Level 0 trains models by running a notebook by hand. Level 1 runs the same work as an
    automated pipeline of steps, each with declared inputs and outputs, that can be re-run,
    scheduled and tracked. Tags are what tell `nb2pipe convert` (and Kubeflow Kale) where the
    steps are.

    ## Example
    ```python
    # %%
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    # %% [markdown]
    # ## Load
    # %%
    X, y = load_iris(return_X_y=True)
    # %% [markdown]
    # ## Train
    # %%
    model = LogisticRegression(max_iter=200).fit(X, y)
    ```

    ## Use instead
    ```python
    # %% tags=["imports"]
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    # %% [markdown]
    # ## Load
    # %% tags=["step:load"]
    X, y = load_iris(return_X_y=True)
    # %% [markdown]
    # ## Train
    # %% tags=["step:train"]
    model = LogisticRegression(max_iter=200).fit(X, y)
    training_accuracy = model.score(X, y)
    # %% tags=["pipeline-metrics"]
    print(training_accuracy)
    ```

    ## Fix safety
    Unsafe. The fix is `nb2pipe convert --auto`'s proposal: it tags the steps (cut at the
    markdown headings, else where few names cross), tags the setup cells `imports`,
    `functions` and `skip`, moves late imports up, lifts top-level constants into a
    `parameters` cell and adds a `pipeline-metrics` cell for the scores the notebook computes
    (when it shows none, as here, the model's score on the data it was fitted on, as MLflow's
    autolog records it).
    None of that changes what the notebook computes, but where a step ends is a judgement
    to review. When `--auto` would refuse the notebook (cells that do not parse or only run
    out of order, a name no cell defines, code nb2pipe cannot see, `input()`…), no fix is
    offered and the finding's help says the first reason.
    """

    code = "NB406"
    name = "untagged-training-notebook"
    severity = "info"
    category = "pipeline-ready"
    fix_safety = "unsafe"
    fix_title = "Tag steps automatically"
    fix_edits = "notebook"
    VALID = (
        '# %% tags=["step:train"]\nfrom sklearn.svm import SVC\nm = SVC().fit(X, y)\n',
        "# %%\nimport pandas as pd\ndf = pd.read_csv('x.csv')\nprint(df.head())\n",
    )
    INVALID = (
        Invalid("# %%\nfrom sklearn.datasets import load_iris\n"
                "from sklearn.linear_model import LogisticRegression\n"
                "# %% [markdown]\n# ## Load\n# %%\nX, y = load_iris(return_X_y=True)\n"
                "# %% [markdown]\n# ## Train\n"
                "# %%\nmodel = LogisticRegression(max_iter=200).fit(X, y)\n", count=1,
                fixed='# %% tags=["imports"]\nfrom sklearn.datasets import load_iris\n'
                      "from sklearn.linear_model import LogisticRegression\n"
                      '# %% [markdown]\n# ## Load\n# %% tags=["step:load"]\n'
                      "X, y = load_iris(return_X_y=True)\n# %% [markdown]\n# ## Train\n"
                      '# %% tags=["step:train"]\n'
                      "model = LogisticRegression(max_iter=200).fit(X, y)\n"
                      "training_accuracy = model.score(X, y)\n"
                      '# %% tags=["pipeline-metrics"]\nprint(training_accuracy)\n'),
        # `--auto` would refuse (a name no cell defines): no fix is offered, the reason is
        # said, and --unsafe-fixes leaves the notebook as it is
        Invalid("# %%\nfrom sklearn.linear_model import LogisticRegression\n"
                "# %%\nmodel = LogisticRegression().fit(X, y)\n", count=1,
                fixed="# %%\nfrom sklearn.linear_model import LogisticRegression\n"
                      "# %%\nmodel = LogisticRegression().fit(X, y)\n"),
    )

    def check(self, ctx: Context):
        from nb2pipe.pipeline.build import is_tagged

        if is_tagged(ctx.notebook):
            return
        training = first_training(ctx.analysis)
        if training is None:
            return
        cell, call = training
        blocked = _why_no_proposal(ctx)
        if blocked:  # --auto would refuse: no fix is offered, and the reason is said
            yield self.report(
                ctx, cell, "this notebook trains a model, but no cell is tagged as a pipeline "
                           "step", node=call.node, fix=False,
                help=f"`nb2pipe convert --auto` cannot propose steps yet: {blocked}; then run "
                     f"it, or tag the steps by hand (docs/tags.md)")
            return
        yield self.report(
            ctx, cell, "this notebook trains a model, but no cell is tagged as a pipeline step",
            node=call.node,
            help="run `nb2pipe convert --auto NOTEBOOK` (or this fix) to have steps proposed, "
                 "or tag them by hand (docs/tags.md)")

    def fix(self, editor, diagnostics):
        from nb2pipe.auto import AutoTagError, propose
        from nb2pipe.lint.tidy import tidy

        try:
            proposal = propose(editor.notebook(), tidy)
        except AutoTagError:
            return
        editor.replace(proposal.notebook.raw)


def _why_no_proposal(ctx: Context) -> str | None:
    """The first reason ``convert --auto`` (this rule's fix) would refuse the notebook
    (cells that do not parse, code nb2pipe cannot see, names used out of order or defined
    nowhere, a wait for a person), from the analysis check already made; None otherwise."""
    from nb2pipe.auto.model import AutoTagError
    from nb2pipe.auto.runnable import refuse_unrunnable

    try:
        refuse_unrunnable(ctx.notebook, ctx.analysis)
    except AutoTagError as error:
        problems = list(error.problems)
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return f"{problems[0]}{more}" if problems else "the notebook cannot be cut"
    return None
