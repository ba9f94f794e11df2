from nb2pipe.lint.rule import Context, Invalid, Rule


class ImportNotAtTop(Rule):
    """Imports after the notebook's first cells of code.

    ## What it does
    Flags module-level imports in a cell that comes after the notebook's setup: the leading cells
    up to the first one that imports, plus the cells right after it that only import. Imports
    inside functions and in cells tagged `imports` are fine.

    ## Why is this bad?
    Dependencies scattered through the notebook are hard to see and to declare; a cell that is
    run on its own fails with a `NameError`; a pipeline step needs its imports up front.

    ## Example
    ```python
    # %%
    import pandas as pd
    df = pd.read_csv("data.csv")
    # %%
    import seaborn as sns
    sns.histplot(df.age)
    ```

    ## Use instead
    ```python
    # %%
    import pandas as pd
    import seaborn as sns
    # %%
    df = pd.read_csv("data.csv")
    sns.histplot(df.age)
    ```

    ## Fix safety
    No automatic fix yet.
    """

    code = "NB209"
    name = "import-not-at-top"
    category = "pipeline-ready"
    VALID = (
        "# %%\n%matplotlib inline\n# %%\nimport numpy as np\n# %%\nimport pandas as pd\n"
        "# %%\nx = 1\n# %%\ndef f():\n    import json\n    return json\n",
        '# %%\nimport numpy as np\nx = 1\n# %% tags=["imports"]\nimport pandas as pd\n',
    )
    INVALID = (
        Invalid("# %%\nimport pandas as pd\ndf = pd.DataFrame()\n# %%\nimport seaborn as sns\n"
                "from scipy import stats\n", count=2),
    )

    def check(self, ctx: Context):
        analysis = ctx.analysis
        header = True
        seen_import = False
        for cell in ctx.notebook.code_cells:
            facts = analysis.facts.get(cell.index)
            if facts is None or cell.is_empty:
                continue
            imports = [f for f in facts.imports if f.top_level]
            statements = cell.tree.body if cell.tree is not None else []
            import_statements = {id(f.node) for f in imports}
            only_imports = bool(statements) and all(
                id(s) in import_statements or _is_setup(s) for s in statements)
            if header:
                if seen_import and not only_imports:
                    header = False
                else:
                    seen_import = seen_import or bool(imports)
                    if seen_import and not only_imports:
                        header = False
                    continue
            if "imports" in cell.tags:
                continue
            reported: set[int] = set()
            for fact in imports:
                if id(fact.node) in reported:
                    continue
                reported.add(id(fact.node))
                names = ", ".join(alias.name for alias in fact.node.names)
                text = f"from {fact.module} import {names}" if fact.name is not None else \
                    f"import {names}"
                yield self.report(
                    ctx, cell, f"`{text[:70]}` is imported after the setup cells",
                    node=fact.node, help="move it to the imports at the top of the notebook")


def _is_setup(statement) -> bool:
    import ast

    if isinstance(statement, (ast.Pass, ast.Import, ast.ImportFrom)):
        return True
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)
