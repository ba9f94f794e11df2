import ast

from nb2pipe.analysis.facts import dotted_name
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
    Safe. The fix moves each such import (a statement of its own at the top level of its cell)
    to just after the imports of the first cell that imports, and leaves alone imports of
    packages a later `!pip install` installs, relative imports, imports inside blocks, lines
    that hold more than the import (`import x; y = 1`), and imports that come after anything
    they may depend on: a `sys.path` edit, `site.addsitedir`, `os.chdir` or `%cd`, an
    environment variable set (`os.environ[...] = …`, `load_dotenv()`, `%env`), an install,
    `%run`, a change to `sys.modules`. Such imports are still reported, with the reason.
    """

    code = "NB209"
    name = "import-not-at-top"
    category = "pipeline-ready"
    fix_safety = "safe"
    fix_title = "Move the import to the imports at the top"
    VALID = (
        "# %%\n%matplotlib inline\n# %%\nimport numpy as np\n# %%\nimport pandas as pd\n"
        "# %%\nx = 1\n# %%\ndef f():\n    import json\n    return json\n",
        '# %%\nimport numpy as np\nx = 1\n# %% tags=["imports"]\nimport pandas as pd\n',
    )
    INVALID = (
        Invalid("# %%\nimport pandas as pd\ndf = pd.DataFrame()\n# %%\nimport seaborn as sns\n"
                "from scipy import stats\n", count=2),
        # the same import in several cells goes up once; one the first cell has, not again
        Invalid("# %%\nimport numpy as np\nx = np.arange(3)\n# %%\nimport matplotlib.pyplot as plt\n"
                "plt.plot(x)\n# %%\nimport matplotlib.pyplot as plt\nimport numpy as np\n"
                "plt.plot(x * 2)\n", count=3,
                fixed="# %%\nimport numpy as np\nimport matplotlib.pyplot as plt\nx = np.arange(3)\n"
                      "# %%\nplt.plot(x)\n# %%\nplt.plot(x * 2)\n"),
        Invalid("# %%\nimport os\nimport pandas as pd\nx = 1\n# %%\ny = 2\n"
                "import json  # for the report\nprint(json.dumps(y))\n", count=1,
                fixed="# %%\nimport os\nimport pandas as pd\nimport json  # for the report\n"
                      "x = 1\n# %%\ny = 2\nprint(json.dumps(y))\n"),
        # an import that may need the path edit above it stays below it (not fixable)
        Invalid("# %%\nimport os\nimport sys\nx = 1\n# %%\nsys.path.append('..')\n"
                "from mypkg.data import load\n", count=1,
                fixed="# %%\nimport os\nimport sys\nx = 1\n# %%\nsys.path.append('..')\n"
                      "from mypkg.data import load\n"),
        Invalid("# %%\nimport os\nx = 1\n# %%\nos.environ['MODE'] = 'test'\n"
                "import settings_reader\n", count=1,
                fixed="# %%\nimport os\nx = 1\n# %%\nos.environ['MODE'] = 'test'\n"
                      "import settings_reader\n"),
        Invalid("# %%\nimport os\nx = 1\n# %%\n%cd ..\nimport helpers\n", count=1,
                fixed="# %%\nimport os\nx = 1\n# %%\n%cd ..\nimport helpers\n"),
        Invalid("# %%\nimport numpy as np\nx = np.ones(3)\n# %%\nfrom math import pi\n"
                "from math import tau\nfrom math import e\ny = pi + tau + e\n", count=3,
                fixed="# %%\nimport numpy as np\nfrom math import pi\nfrom math import tau\n"
                      "from math import e\nx = np.ones(3)\n# %%\ny = pi + tau + e\n"),
    )

    def check(self, ctx: Context):
        analysis = ctx.analysis
        header = True
        seen_import = False
        header_import = _header_import_cell(ctx)
        late_installs = _late_installs(ctx, header_import)
        changes = _environment_changes(ctx, header_import)
        for cell in ctx.notebook.code_cells:
            facts = analysis.facts.get(cell.index)
            if facts is None or cell.is_empty:
                continue
            imports = [f for f in facts.imports if f.top_level]
            if not header and not imports:
                continue
            statements = cell.tree.body if cell.tree is not None else []
            if header:
                import_statements = {id(f.node) for f in imports}
                only_imports = bool(statements) and all(
                    id(s) in import_statements or _is_setup(s) for s in statements)
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
            top = {id(s) for s in statements}
            for fact in imports:
                if id(fact.node) in reported:
                    continue
                reported.add(id(fact.node))
                names = ", ".join(alias.name for alias in fact.node.names)
                text = f"from {fact.module} import {names}" if fact.name is not None else \
                    f"import {names}"
                movable = id(fact.node) in top and not fact.module.startswith(".") and \
                    fact.module.partition(".")[0] not in late_installs
                lines = cell.source.split("\n")[fact.node.lineno - 1:
                                                 (fact.node.end_lineno or fact.node.lineno)]
                # what the import may need, run before it: it must stay below that
                needs = next((what for where, what in reversed(changes)
                              if where < (cell.index, fact.node.lineno)), None)
                help = "move it to the imports at the top of the notebook"
                if needs:
                    help = f"imports after {needs} stay where they are (the import may " \
                           f"need it); move both to the top by hand if it does not"
                elif any(";" in line for line in lines):
                    help = "split the line (`import x; y = 1`), then move the import to the " \
                           "imports at the top"
                yield self.report(
                    ctx, cell, f"`{text[:70]}` is imported after the setup cells",
                    node=fact.node, help=help,
                    fix=movable and header_import is not None and needs is None and
                    not any(";" in line for line in lines))

    def fix(self, editor, diagnostics):
        _fix(editor, diagnostics)


def _header_import_cell(ctx):
    """The first code cell that imports: where moved imports go."""
    for cell in ctx.notebook.code_cells:
        facts = ctx.analysis.facts.get(cell.index)
        if facts is not None and any(f.top_level for f in facts.imports):
            return cell
    return None


#: Calls that change where imports come from or what they see.
_ENVIRONMENT_CALLS = frozenset({
    "sys.path.append", "sys.path.insert", "sys.path.extend", "sys.path.remove",
    "site.addsitedir", "os.chdir", "os.putenv", "os.environ.update", "os.environ.setdefault",
    "dotenv.load_dotenv", "load_dotenv", "importlib.reload", "importlib.invalidate_caches",
    "sys.modules.update", "sys.modules.pop", "sys.modules.setdefault", "sys.meta_path.insert",
    "sys.meta_path.append", "os.environ.pop",
})
#: IPython commands that do (installs are any `pip`/`conda` line).
_ENVIRONMENT_MAGICS = frozenset({"cd", "run", "env", "pip", "conda", "set_env", "pushd",
                                 "popd"})


def _environment_changes(ctx, header) -> list[tuple[tuple[int, int], str]]:
    """Statements after the imports cell's imports that an import below them may depend on
    (a path, the working directory, the environment, an install, `%run`, `sys.modules`), by
    place: ``((cell index, line), "`sys.path.append`")``, in notebook order."""
    found: list[tuple[tuple[int, int], str]] = []
    start = (-1, 0)
    if header is not None and header.tree is not None:
        imports = [s.end_lineno or s.lineno for s in header.tree.body
                   if isinstance(s, (ast.Import, ast.ImportFrom))]
        start = (header.index, max(imports, default=0))
    for cell in ctx.notebook.code_cells:
        if cell.index < start[0]:
            continue
        for magic in cell.code.magics if cell.code is not None else ():
            name = magic.name if magic.kind in ("line", "cell") else \
                magic.name if magic.kind == "shell" and magic.name in ("pip", "conda", "cd") \
                else None
            if name in _ENVIRONMENT_MAGICS and (cell.index, magic.line) > start:
                found.append(((cell.index, magic.line), f"`%{name}`" if magic.kind != "shell"
                              else f"`!{name}`"))
        facts = ctx.analysis.facts.get(cell.index)
        if facts is None or cell.tree is None:
            continue
        for call in facts.calls:
            name = ctx.analysis.qualify(call.dotted) or call.dotted or ""
            if (name in _ENVIRONMENT_CALLS or call.dotted in _ENVIRONMENT_CALLS) and \
                    (cell.index, call.node.lineno) > start:
                found.append(((cell.index, call.node.lineno), f"`{call.dotted}`"))
        for node in ast.walk(cell.tree):
            if isinstance(node, (ast.Assign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    while isinstance(target, ast.Subscript):
                        target = target.value
                    name = ctx.analysis.qualify(dotted_name(target)) or ""
                    if name in ("os.environ", "sys.path", "sys.modules") and \
                            (cell.index, node.lineno) > start:
                        found.append(((cell.index, node.lineno), f"`{name}` set"))
    return sorted(found)


def _late_installs(ctx, header) -> set[str]:
    """Modules that a `pip install` after the import cell installs (they must stay below)."""
    from nb2pipe.analysis.installs import install_magics, install_specs

    names: set[str] = set()
    for cell in ctx.notebook.code_cells:
        if header is not None and cell.index <= header.index:
            continue
        for _magic, _tool, command in install_magics(cell):
            for spec in install_specs(command)[0]:
                name = spec.split("==")[0].split(">")[0].split("<")[0].split("[")[0]
                names |= {name, name.replace("-", "_"), name.lower().replace("-", "_")}
    from nb2pipe.analysis.knowledge import DISTRIBUTIONS

    names |= {module for module, dist in DISTRIBUTIONS.items() if dist in names}
    return names


def _is_setup(statement) -> bool:
    if isinstance(statement, (ast.Pass, ast.Import, ast.ImportFrom)):
        return True
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)


def _fix(editor, diagnostics) -> None:
    """Move the flagged import lines below the imports of the first importing cell."""
    from nb2pipe.notebook.magics import split_lines

    notebook = editor.notebook()
    header = next((c for c in notebook.code_cells if c.tree is not None and any(
        isinstance(s, (ast.Import, ast.ImportFrom)) for s in c.tree.body)), None)
    if header is None:
        return
    moved: list[str] = []
    for index in sorted({d.cell for d in diagnostics if d.fix}, reverse=True):
        cell = notebook.cells[index]
        lines = split_lines(editor.source(index))
        targets = sorted({d.line for d in diagnostics if d.cell == index and d.fix},
                         reverse=True)
        body = cell.tree.body if cell.tree is not None else []
        for statement in reversed(body):  # bottom up: deleting lines shifts those below
            if statement.lineno in targets and isinstance(statement, (ast.Import,
                                                                       ast.ImportFrom)):
                end = statement.end_lineno or statement.lineno
                if ";" in "".join(lines[statement.lineno - 1:end]):
                    continue  # `import x; y = 1`: leave such lines to a person
                moved.insert(0, "\n".join(lines[statement.lineno - 1:end]))
                del lines[statement.lineno - 1:end]
        editor.set_source(index, "\n".join(lines))
        if not "".join(lines).strip():  # the cell held only imports
            raw = editor.cells[index]
            if raw.get("execution_count") is None and not raw.get("outputs"):
                editor.delete_cell(index)  # never run: nothing of it is left
            else:
                # it ran: its number stays (removing it would open a gap in the execution
                # counts, NB102, that the fix made); what it printed went with its code
                raw["outputs"] = []
                editor.set_source(index, "# (imports moved to the first cell)")
    if not moved:
        return
    # the same import twice (`import matplotlib.pyplot as plt` in five cells) goes up once,
    # and not at all when the first cell has it already
    have = {ast.dump(s) for s in header.tree.body if isinstance(s, (ast.Import, ast.ImportFrom))}
    unique = []
    for text in moved:
        try:
            key = ast.dump(ast.parse(text).body[0])
        except (SyntaxError, IndexError):
            key = text
        if key not in have:
            have.add(key)
            unique.append(text)
    if not unique:
        return
    lines = split_lines(editor.source(header.index))
    last = max(s.end_lineno or s.lineno for s in header.tree.body
               if isinstance(s, (ast.Import, ast.ImportFrom)))
    lines[last:last] = unique
    editor.set_source(header.index, "\n".join(lines))

