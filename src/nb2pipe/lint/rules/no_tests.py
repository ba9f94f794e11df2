import os

from nb2pipe.lint.folder import FolderContext
from nb2pipe.lint.rule import Invalid, Rule


def _is_test_file(name: str) -> bool:
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py") or
                                     name == "conftest.py")


class NoTests(Rule):
    """Notebooks train models, and the project has no tests at all.

    ## What it does
    Runs when `nb2pipe check` is given a folder. Flags it when some of its notebooks train a
    model (`fit`, `xgb.train`, `trainer.train()`…) and the project (the repository, or the folder
    outside one) has no tests: no `tests/` or `test/` folder, no `test_*.py`, `*_test.py` or
    `conftest.py`.

    ## Why is this bad?
    Level 1 automates training; automation without a single test retrains and ships whatever
    the code now does. A test of the data checks and of the feature code is what lets a
    pipeline run unattended (Google's "ML test score"; Microsoft's MLOps maturity model).

    ## Example
    ```text
    project/
        train.ipynb        # fits a model
    ```

    ## Use instead
    ```text
    project/
        train.ipynb
        tests/test_features.py   # pytest: the feature code on a small frame
    ```
    Or test the notebook itself: `nb2pipe run` in CI, or pytest with `nbmake`/`nbval`.

    ## Fix safety
    No automatic fix.
    """

    code = "NB702"
    name = "no-tests"
    severity = "info"
    category = "pipeline-ready"
    scope = "folder"
    VALID = (
        "# file: train.ipynb\n# %%\nfrom sklearn.svm import SVC\nm = SVC().fit(X, y)\n"
        "# file: tests/test_features.py\ndef test_x():\n    assert True\n",
        "# file: explore.ipynb\n# %%\nimport pandas as pd\ndf = pd.DataFrame()\n",
    )
    INVALID = (Invalid("# file: train.ipynb\n# %%\nfrom sklearn.svm import SVC\n"
                       "m = SVC().fit(X, y)\n# file: src/features.py\nX = 1\n", count=1),)

    def check(self, ctx: FolderContext):
        if not ctx.training:
            return
        for folder, files in ctx.walk():
            if os.path.basename(folder) in ("tests", "test") or any(map(_is_test_file, files)):
                return
        shown = ", ".join(os.path.basename(p) for p in ctx.training[:3])
        yield self.report(
            ctx, None, f"notebooks train models ({shown}), but the project has no tests",
            help="add a tests/ folder with pytest tests of the data and feature code, or run "
                 "the notebooks in CI (`nb2pipe run`, pytest --nbmake)")
