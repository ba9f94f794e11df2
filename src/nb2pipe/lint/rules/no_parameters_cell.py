import ast

from nb2pipe.analysis.parameters import liftable
from nb2pipe.editor import PARAMETER_TAGS
from nb2pipe.lint.rule import Context, Invalid, Rule

#: Calls that read a notebook's input data (by their last name, or a qualified prefix).
_READERS = frozenset({"open", "load", "loads", "loadtxt", "genfromtxt", "fromfile", "load_data",
                      "load_dataset", "imread", "load_img", "image_dataset_from_directory",
                      "flow_from_directory", "text_dataset_from_directory", "load_workbook",
                      "DataReader", "textFile", "wholeTextFiles", "table", "input", "raw_input"})
_READER_MODULES = ("sklearn.datasets.", "seaborn.load_dataset", "torchvision.datasets.",
                   "tensorflow.keras.datasets.", "keras.datasets.", "tensorflow_datasets.",
                   "datasets.load_dataset", "requests.get", "urllib.request.urlopen",
                   "yfinance.download", "pandas_datareader.")


def has_inputs(analysis) -> bool:
    """Whether a run could vary anything: the notebook reads data, trains a model, draws
    random numbers or sets constants (a tutorial on Python's syntax has nothing to vary)."""
    from nb2pipe.analysis.knowledge import SOURCE_OF_MODULE
    from nb2pipe.analysis.training import first_training

    if analysis.unparsed:
        return True  # what a cell that does not parse reads is unknown
    for _cell, call, qualified in analysis.qualified_calls:
        attr = call.attr or call.dotted or ""
        if attr in _READERS or attr.startswith(("read_", "fetch_")) or qualified and (
                qualified.startswith(_READER_MODULES) or ".read." in qualified):
            return True  # `spark.read.csv(…)` too
        source = SOURCE_OF_MODULE.get((qualified or "").partition(".")[0])
        if source is not None and (qualified in source.seeds or source.draws_from(qualified)):
            return True  # random numbers: the seed is a setting
    return bool(liftable(analysis)) or first_training(analysis) is not None


class NoParametersCell(Rule):
    """No cell is tagged `parameters` (papermill) or `pipeline-parameters` (Kale).

    ## What it does
    Flags notebooks with code but no cell tagged `parameters` or `pipeline-parameters`, when
    the notebook has something a run could vary: it reads data (`pd.read_csv`, `open`,
    `load_iris`…), trains a model, draws random numbers or sets constants. A notebook that
    only shows how Python or a library works has nothing to parameterise.

    ## Why is this bad?
    Without a parameters cell, the only way to run the notebook with another data set, date or
    learning rate is to edit it by hand. papermill, Kale and `nb2pipe run -p` inject values after
    that cell; it is what makes a notebook a parameterised, repeatable job.

    ## Example
    ```python
    # %%
    import pandas as pd
    DATA = "data/churn.csv"
    EPOCHS = 20
    ```

    ## Use instead
    ```python
    # %%
    import pandas as pd
    # %% tags=["parameters"]
    DATA = "data/churn.csv"
    EPOCHS = 20
    ```

    ## Fix safety
    Safe. The fix moves into a cell tagged `parameters` the top-level assignments of literals
    that are bound nowhere else and never changed in place: UPPER_CASE constants anywhere, and
    any such assignment in the first two code cells (secrets excepted: they are NB501's). A cell that holds only such
    constants is tagged itself; otherwise a new cell is added after the imports. Moving a
    literal assignment earlier does not change what any cell computes.
    """

    code = "NB303"
    name = "no-parameters-cell"
    category = "parameterised"
    fix_safety = "safe"
    fix_title = "Add a `parameters` cell with the notebook's constants"
    fix_edits = "notebook"
    VALID = ('# %%\nimport pandas as pd\n# %% tags=["parameters"]\nDATA = "x.csv"\n',
             '# %% tags=["pipeline-parameters"]\nLR = 0.1\n',
             "# %% [markdown]\n# Only prose\n",
             # a lesson on Python's syntax: nothing to vary
             "# %%\nclass Animal:\n    def speak(self):\n        return '...'\n"
             "# %%\nprint(Animal().speak())\n")
    INVALID = (
        Invalid('# %%\nimport pandas as pd\nDATA = "data/churn.csv"\nEPOCHS = 20\n'
                '# %%\ndf = pd.read_csv(DATA)\nfor e in range(EPOCHS):\n    pass\n', count=1,
                fixed='# %%\nimport pandas as pd\n# %% tags=["parameters"]\n'
                      '# Parameters: `nb2pipe run -p NAME=VALUE` and papermill replace these '
                      'values.\nDATA = "data/churn.csv"\nEPOCHS = 20\n# %%\n'
                      'df = pd.read_csv(DATA)\nfor e in range(EPOCHS):\n    pass\n'),
        Invalid('# %%\nimport pandas as pd\n# %%\nDATA = "x.csv"\nEPOCHS = 3\n'
                '# %%\ndf = pd.read_csv(DATA)\n', count=1,
                fixed='# %%\nimport pandas as pd\n# %% tags=["parameters"]\nDATA = "x.csv"\n'
                      'EPOCHS = 3\n# %%\ndf = pd.read_csv(DATA)\n'),
        Invalid("# %%\nimport pandas as pd\ndf = pd.read_csv(path)\n", count=1),
        Invalid("# %%\nimport math\nprimes = []\nLIMIT = 30\n# %%\nfor n in range(2, LIMIT):\n"
                "    if all(n % p for p in primes):\n        primes.append(n)\n", count=1,
                fixed='# %% tags=["parameters"]\n'
                      '# Parameters: `nb2pipe run -p NAME=VALUE` and papermill replace these '
                      'values.\nLIMIT = 30\n# %%\nimport math\nprimes = []\n'
                      '# %%\nfor n in range(2, LIMIT):\n'
                      '    if all(n % p for p in primes):\n        primes.append(n)\n'),
    )

    def check(self, ctx: Context):
        notebook = ctx.notebook
        if not any(c.is_code and not c.is_empty for c in notebook.cells):
            return
        if any(tag in PARAMETER_TAGS for c in notebook.cells for tag in c.tags):
            return
        if not has_inputs(ctx.analysis):
            return
        yield self.report(
            ctx, None, "no cell is tagged `parameters`: the notebook cannot be run with other "
                       "inputs without editing it",
            help="tag the cell that holds the inputs and settings `parameters`, or run "
                 "`nb2pipe check --fix` to create one")

    def fix(self, editor, diagnostics):
        from nb2pipe.analysis import NotebookAnalysis

        analysis = NotebookAnalysis(editor.notebook())
        lifted = liftable(analysis)
        names = {a.name for _, a in lifted}
        by_cell: dict[int, list] = {}
        for cell, assignment in lifted:
            by_cell.setdefault(cell.index, []).append(assignment)
        first_use = next((cell.index for cell, facts in analysis.cells_with_facts()
                          if names & {r.name for r in facts.reads}), None)
        # A cell that holds nothing but such constants becomes the parameters cell itself.
        for index, assignments in by_cell.items():
            cell = analysis.notebook.cells[index]
            if len(assignments) == len(cell.tree.body) and not cell.code.magics and \
                    (first_use is None or index <= first_use):
                editor.add_tags(index, ["parameters"])
                moved = [a for i, group in by_cell.items() if i != index for a in group]
                self._append(editor, index, self._take(editor, analysis, moved))
                return
        lines = self._take(editor, analysis, [a for _, a in lifted])
        self._append(editor, editor.ensure_parameters_cell(before=first_use), lines)

    @staticmethod
    def _take(editor, analysis, assignments) -> list[str]:
        """Remove ``assignments`` from their cells; return their source lines, in order."""
        lines = []
        by_cell: dict[int, dict[int, str]] = {}
        for cell, facts in analysis.cells_with_facts():
            for assignment in facts.assignments:
                if any(assignment is a for a in assignments):
                    lines.append(ast.get_source_segment(cell.code.masked.source, assignment.stmt))
                    by_cell.setdefault(cell.index, {})[assignment.stmt.lineno] = assignment.name
        for index, moved in by_cell.items():
            editor.rewrite(index, _remove_assignments(set(moved), set(moved.values())))
            if not editor.source(index).strip():
                editor.set_source(index, "# moved to the parameters cell: " +
                                  ", ".join(sorted(moved.values())))
        return lines

    @staticmethod
    def _append(editor, target: int, lines: list[str]) -> None:
        if lines:
            source = editor.source(target).rstrip("\n")
            editor.set_source(target, (source + "\n" if source else "") + "\n".join(lines))


def _remove_assignments(lines: set[int], names: set[str]):
    def change(module):
        import libcst
        from libcst.metadata import MetadataWrapper, PositionProvider

        wrapper = MetadataWrapper(module)
        positions = wrapper.resolve(PositionProvider)

        class Remover(libcst.CSTTransformer):
            def leave_SimpleStatementLine(self, original, updated):
                if positions[original].start.line not in lines:
                    return updated
                kept = [s for s in updated.body if not (
                    isinstance(s, (libcst.Assign,)) and len(s.targets) == 1 and
                    isinstance(s.targets[0].target, libcst.Name) and
                    s.targets[0].target.value in names)]
                if len(kept) == len(updated.body):
                    return updated
                if not kept:
                    return libcst.RemoveFromParent()
                kept[-1] = kept[-1].with_changes(semicolon=libcst.MaybeSentinel.DEFAULT)
                return updated.with_changes(body=kept)

        return wrapper.module.visit(Remover())

    return change
