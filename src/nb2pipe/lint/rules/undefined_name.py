import ast

from nb2pipe.analysis.knowledge import PYTHON2_BUILTINS
from nb2pipe.lint.rule import Context, Invalid, Rule

#: Names the pyspark shell (and Databricks) defines before the notebook runs.
_SPARK_SHELL_NAMES = frozenset({"sc", "spark", "sqlContext"})


def _automagic(problem) -> bool:
    """Whether the read is a statement of its own, a name IPython has a line magic for
    (``colors``): with no such variable, IPython's automagic runs ``%colors``."""
    from nb2pipe.notebook.magics import LINE_MAGICS

    name = problem.read.name
    if name not in LINE_MAGICS or problem.deleted_in is not None:
        return False
    tree = problem.cell.code.tree if problem.cell.code else None
    return any(isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Name) and
               stmt.value.id == name and stmt.lineno == problem.read.line
               for stmt in (tree.body if tree else ()))


class UndefinedName(Rule):
    """A name that no cell defines.

    ## What it does
    Flags names that are read but bound by no cell, no import, no magic and no builtin,
    including names read inside function bodies, and names read after a cell deletes them
    (`del df`) with no cell defining them again. Python 2's builtins (`xrange`, `raw_input`…)
    are named as such, with what Python 3 has instead. It stays silent for notebooks that can create
    names it cannot see: `from x import *`, `%run`, `exec`, `globals()[...] = ...`; and for a
    statement that is only the name of an IPython line magic (`colors`, `pwd`), which IPython's
    automagic runs as `%colors`.

    ## Why is this bad?
    The cell that defined the name was deleted or never saved. The notebook only worked in the
    kernel where that cell once ran; a fresh run fails with a `NameError`.

    ## Example
    ```python
    # %%
    X_scaled = scaler.transform(X)
    ```

    ## Use instead
    Restore the cell that defines the name, or define it:
    ```python
    # %%
    scaler = StandardScaler().fit(X)
    X_scaled = scaler.transform(X)
    ```

    ## Fix safety
    No automatic fix.
    """

    code = "NB106"
    name = "undefined-name"
    severity = "error"
    category = "runs-top-to-bottom"
    VALID = (
        "# %%\nimport numpy as np\nx = np.zeros(3)\nprint(len(x))\n",
        "# %%\nfrom pylab import *\nplot(x)\n",
        "# %%\nfiles = !ls\nprint(files)\n",
        "# %%\ndef f():\n    global g\n    g = 1\n# %%\nf()\nprint(g)\n",
        "# %%\ntry:\n    pass\nexcept Exception as err:\n    print(err)\n",
        "# %%\ndisplay(In, Out)\n",
        "# %%\n6 * 7\n# %%\nprint(_1, _i1)\n",
        "# %%\nx = [1]\ndel x\nx = [2]\n# %%\nprint(x)\n",
        # IPython's automagic: a statement that is only a line magic's name runs the magic
        "# %%\ncolors\n# %%\npwd\n",
    )
    INVALID = (
        Invalid("# %%\nX_scaled = scaler.transform(X)\n", count=2),
        Invalid("# %%\ndef f():\n    return missing\n", count=1),
        Invalid("# %%\nlines = sc.textFile('book.txt')\n", count=1),
        Invalid("# %%\nfor i in xrange(3):\n    print(i)\n", count=1,
                message="`xrange` is a Python 2 builtin"),
        Invalid("# %%\ndf = {}\n# %%\ndel df\n# %%\nprint(df.shape)\n", count=1,
                message="`df` is deleted by cell 2 and not defined again"),
        # once per name, with the other cells that use it
        Invalid("# %%\nprint(f1)\n# %%\nscore = f1 * 2\n# %%\nprint(f1)\n", count=1,
                message="`f1` is not defined in any cell (also used in cells 2, 3)"),
    )

    def check(self, ctx: Context):
        # once per name: at its first use, listing the other cells that use it
        problems: dict[str, list] = {}
        for problem in ctx.analysis.order_problems:
            if problem.defined_in is None and not _automagic(problem):
                problems.setdefault(problem.read.name, []).append(problem)
        for same in problems.values():
            problem = same[0]
            others = sorted({p.cell.number for p in same[1:]} - {problem.cell.number})
            also = "" if not others else \
                f" (also used in cell{'s' if len(others) > 1 else ''} " \
                f"{', '.join(map(str, others[:8]))}{' …' if len(others) > 8 else ''})"
            read = problem.read
            hint = f"define `{read.name}` or restore the cell that defined it (was it deleted?)"
            if problem.deleted_in is not None:
                number = problem.deleted_in.number
                message = f"`{read.name}` is deleted by cell {number} and not defined again"
                hint = f"read `{read.name}` before cell {number} deletes it, or define it again"
            elif read.name in PYTHON2_BUILTINS:
                message = f"`{read.name}` is a Python 2 builtin: Python 3 does not define it"
                hint = f"use {PYTHON2_BUILTINS[read.name]} (the notebook was written for " \
                       f"Python 2)"
            elif problem.via:
                message = f"`{read.name}` (read by `{problem.via}`) is not defined in any cell"
            else:
                message = f"`{read.name}` is not defined in any cell"
            if read.name in _SPARK_SHELL_NAMES and problem.deleted_in is None:
                hint = ("the pyspark shell defines it, a plain kernel does not: create it with "
                        "`spark = SparkSession.builder.getOrCreate()` (`sc = spark.sparkContext`)")
            yield self.report(ctx, problem.cell, message + also, line=read.line, col=read.col,
                              help=hint)
