from nb2pipe.analysis.knowledge import TRACKER_CALLS, TRACKER_MODULES
from nb2pipe.analysis.training import first_training
from nb2pipe.editor import TRACKING_HEADER
from nb2pipe.lint.rule import Context, Invalid, Rule


def uses_tracker(analysis) -> bool:
    if analysis.imported_modules & TRACKER_MODULES:
        return True
    prefixes = tuple(TRACKER_CALLS)
    for _cell, _call, qualified in analysis.qualified_calls:
        if qualified and qualified.startswith(prefixes):
            return True
    for cell in analysis.notebook.code_cells:
        for magic in cell.code.magics if cell.code else ():
            if magic.name in ("load_ext", "tensorboard") and "tensorboard" in magic.command:
                return True
    return False


AUTOLOG = (f"{TRACKING_HEADER}\n"
           "# (to $MLFLOW_TRACKING_URI; `mlflow ui` shows them).\nmlflow.autolog()")


class NoExperimentTracking(Rule):
    """Models are trained and nothing is logged to an experiment tracker.

    ## What it does
    Flags the first training call (`model.fit(...)`, `xgb.train(...)`, `cross_val_score(...)`,
    a Hugging Face `trainer.train()`) in a notebook that imports a machine-learning library but
    no experiment tracker (MLflow, Weights & Biases, Neptune, Comet, ClearML, DVCLive, Aim,
    TensorBoard…). Notebooks tagged for the converter with `pipeline-metrics` are not flagged:
    `nb2pipe convert` injects MLflow tracking into them. Fitting a scaler, an encoder or an
    imputer is data preparation, not training; a PCA or t-SNE fit counts only in a notebook
    that fits no other model.

    ## Why is this bad?
    Parameters, metrics and models live only in cell outputs, overwritten by the next run. Which
    run gave the model in production, and with which data and settings, is unknowable: the
    defining trait of MLOps level 0.

    ## Example
    ```python
    # %%
    from sklearn.linear_model import LogisticRegression
    clf = LogisticRegression().fit(X_train, y_train)
    print(clf.score(X_test, y_test))
    ```

    ## Use instead
    ```python
    # %%
    import mlflow
    from sklearn.linear_model import LogisticRegression
    mlflow.autolog()
    clf = LogisticRegression().fit(X_train, y_train)
    ```
    Or convert the notebook with `nb2pipe convert`, which injects MLflow tracking into every run.

    ## Fix safety
    Unsafe. The fix imports `mlflow` with the other imports and calls `mlflow.autolog()` in a
    cell of its own before the first training cell: every later fit logs its parameters,
    metrics and model to MLflow (to `$MLFLOW_TRACKING_URI`; under `nb2pipe run`, into the run's
    own store). It is unsafe because the notebook now needs MLflow installed and writes
    tracking data when it runs.

    The fix declares the `mlflow` it imports, pinned to the installed version: it adds the
    line to the project's `requirements*.txt` (the one nearest the notebook), or writes a
    `requirements.txt` beside the notebook when the project has no dependency file at all
    (`--diff` shows that line too). A project that lists its dependencies only in files
    nb2pipe does not edit (`pyproject.toml`, `environment.yml`…) gets no fix: declare `mlflow`
    there, and the fix is offered again.
    """

    code = "NB301"
    name = "no-experiment-tracking"
    category = "tracked"
    fix_safety = "unsafe"
    fix_title = ("Log every fit to MLflow with `mlflow.autolog()`, and declare `mlflow` in "
                 "requirements.txt")
    fix_edits = "notebook"
    VALID = (
        '# %%\nfrom sklearn.svm import SVC\nm = SVC().fit(X, y)\n# %% tags=["pipeline-metrics"]\n'
        'acc = m.score(X, y)\n',
        "# %%\nimport mlflow\nfrom sklearn.svm import SVC\nmlflow.autolog()\nm = SVC().fit(X, y)\n",
        "# %%\nimport scipy.stats as st\nparams = st.norm.fit(data)\n",
        "# %%\nfrom sklearn.preprocessing import StandardScaler\nfrom sklearn.impute import "
        "SimpleImputer\nscaler = StandardScaler()\nscaler.fit(X)\nSimpleImputer().fit(X)\n",
    )
    INVALID = (
        Invalid("# %%\nfrom sklearn.linear_model import LogisticRegression\n# %%\n"
                "clf = LogisticRegression().fit(X, y)\nclf.fit(X, y)\n", count=1,
                fixed="# %%\nimport mlflow\nfrom sklearn.linear_model import LogisticRegression\n"
                      f"# %%\n{AUTOLOG}\n# %%\n"
                      "clf = LogisticRegression().fit(X, y)\nclf.fit(X, y)\n"),
        Invalid("# %%\nfrom sklearn.svm import SVC\nclf = SVC().fit(X, y)\n", count=1,
                fixed=f"# %%\nimport mlflow\n{AUTOLOG}\n"
                      "from sklearn.svm import SVC\nclf = SVC().fit(X, y)\n"),
        # the model's fit is named, not the scaler's or the PCA's before it
        Invalid("# %%\nfrom sklearn.preprocessing import StandardScaler\n"
                "from sklearn.decomposition import PCA\nfrom sklearn.svm import SVC\n"
                "scaler = StandardScaler()\nscaler.fit(X)\npca = PCA(2)\npca.fit(X)\n"
                "# %%\nsvc = SVC()\nsvc.fit(X, y)\n", count=1, message="`svc.fit()`"),
        Invalid("# %%\nfrom sklearn.decomposition import PCA\npca = PCA(2)\npca.fit(X)\n",
                count=1, message="`pca.fit()`"),
    )

    def check(self, ctx: Context):
        analysis = ctx.analysis
        if any(tag in ("pipeline-metrics", "metrics") for c in ctx.notebook.cells
               for tag in c.tags):
            return  # nb2pipe convert logs its metrics (and injects tracking)
        training = first_training(analysis)
        if training is None or uses_tracker(analysis):
            return
        cell, call = training
        shown = call.dotted or f"….{call.attr}"
        if not _can_declare_mlflow(ctx):  # the fix would import what the project cannot list
            yield self.report(
                ctx, cell, f"`{shown}()` trains a model, but nothing logs parameters, metrics "
                           f"or the model to an experiment tracker", node=call.node, fix=False,
                help="declare `mlflow` in the project's dependency file, then call "
                     "`mlflow.autolog()` before training (or convert the notebook with "
                     "`nb2pipe convert`: tracking is injected)")
            return
        yield self.report(
            ctx, cell, f"`{shown}()` trains a model, but nothing logs parameters, metrics or the "
                       f"model to an experiment tracker", node=call.node,
            help="call `mlflow.autolog()` before training, or convert the notebook with "
                 "`nb2pipe convert` (tracking is injected)")

    def fix(self, editor, diagnostics):
        from nb2pipe.analysis import NotebookAnalysis

        if not any(d.fix for d in diagnostics):
            return
        editor.ensure_import("mlflow")
        editor.declare("mlflow")  # in the project's requirements, with the notebook
        analysis = NotebookAnalysis(editor.notebook())
        training = first_training(analysis)
        imported = analysis.first_binding.get("mlflow")
        if training is None or imported is None:
            return
        cell = training[0].index
        if imported.cell >= cell:  # one cell imports and trains: autolog right after the import
            source = editor.source(imported.cell)
            first, _, rest = source.partition("\n")
            editor.set_source(imported.cell, f"{first}\n{AUTOLOG}\n{rest}")
            return
        parameters = editor.parameters_cell()
        after = parameters + 1 if parameters is not None and parameters < cell else 0
        editor.insert_cell(min(cell, max(imported.cell + 1, editor.header_end(), after)), AUTOLOG)


def _can_declare_mlflow(ctx: Context) -> bool:
    """Whether the fix can declare the `mlflow` it imports: the project lists it already, or
    has a requirements file to add it to, or no dependency file at all (one is written)."""
    import os

    from nb2pipe.lint.project import declaration_file

    project = ctx.project.get("project")
    if project is None or project.declares("mlflow"):
        return True
    return declaration_file(os.path.dirname(os.path.abspath(ctx.path))) is not None
