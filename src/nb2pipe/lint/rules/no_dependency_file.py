from nb2pipe.lint.folder import FolderContext
from nb2pipe.lint.rule import Invalid, Rule


class NoDependencyFile(Rule):
    """A folder of notebooks with no file that declares their dependencies.

    ## What it does
    Runs when `nb2pipe check` is given a folder that holds notebooks. Flags it when neither the
    folder nor a folder above it (up to the repository root) has a `requirements*.txt`,
    `pyproject.toml`, `environment.yml`, `setup.py`/`setup.cfg`, `Pipfile`, or a lock file
    (`poetry.lock`, `uv.lock`, `conda-lock.yml`, `pixi.toml`).

    ## Why is this bad?
    The notebooks run only in the environment they were written in. Nobody else, no CI job and
    no pipeline step can rebuild it: which packages, which versions? Every level-1 pipeline
    starts from a declared environment.

    ## Example
    ```text
    analysis/
        churn.ipynb        # imports pandas, scikit-learn
    ```

    ## Use instead
    ```text
    analysis/
        churn.ipynb
        requirements.txt   # pandas==2.2.3, scikit-learn==1.5.2 (`pip freeze` tells)
    ```

    ## Fix safety
    No automatic fix: `pip freeze > requirements.txt` in the notebook's environment, then keep
    what the notebooks import (NB205 names them).
    """

    code = "NB701"
    name = "no-dependency-file"
    category = "reproducible"
    scope = "folder"
    VALID = (
        "# file: churn.ipynb\n# %%\nimport pandas as pd\n# file: requirements.txt\npandas==2.2.3\n",
        "# file: notebooks/churn.ipynb\n# %%\nimport pandas as pd\n"
        "# file: pyproject.toml\n[project]\nname = 'x'\n# git\n",
    )
    INVALID = (Invalid("# file: churn.ipynb\n# %%\nimport pandas as pd\n# git\n", count=1),)

    def check(self, ctx: FolderContext):
        if ctx.notebooks and not ctx.project.dependency_files:
            yield self.report(
                ctx, None, f"{len(ctx.notebooks)} notebook{'s' if len(ctx.notebooks) > 1 else ''}"
                           f" and no file declares their dependencies (requirements.txt, "
                           f"pyproject.toml, environment.yml…)",
                help="write a requirements.txt with the versions of what the notebooks import "
                     "(`pip freeze` shows them)")
