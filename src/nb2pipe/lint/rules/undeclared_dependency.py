import ast
import importlib.util
import os
import sys
from functools import lru_cache

from nb2pipe.analysis.knowledge import DISTRIBUTIONS, KERNEL_MODULES, PYTHON2_STDLIB
from nb2pipe.lint.project import is_local_module
from nb2pipe.lint.rule import Context, Invalid, Rule

_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ())) | {"__future__"}


class UndeclaredDependency(Rule):
    """A third-party import that no dependency file declares.

    ## What it does
    Flags the first import of each third-party package that no `requirements*.txt`,
    `pyproject.toml`, `environment.yml`, `setup.py`/`setup.cfg`, `Pipfile` or lock file in the
    notebook's folder or a folder above it (up to the repository root) declares. Standard library
    modules (Python 2's too, like `cPickle`), modules next to the notebook or written by it
    (`%%writefile helpers.py`, protoc's `*_pb2`), in a folder the notebook puts on `sys.path`
    (`sys.path.append("..")`, `sys.path.insert(0, os.path.abspath("../src"))`,
    `site.addsitedir`) or moves into (`os.chdir`, `%cd`), and IPython are not third-party. A
    module that is not installed here and not found in those folders is said to be missing
    from them, not to be declared. Import names are
    matched to distribution names (`sklearn` → `scikit-learn`, `cv2` → `opencv-python`).

    ## Why is this bad?
    Whoever runs the notebook next has to guess what to install, and which versions. A pipeline
    step needs its requirements listed to get an image or an environment built.

    ## Example
    ```python
    # %%
    import xgboost as xgb  # and no requirements.txt mentions xgboost
    ```

    ## Use instead
    Declare it in `requirements.txt` next to the notebook, pinned (`xgboost==2.1.1`);
    `pip freeze | grep -i xgboost` tells you the version you use.

    ## Fix safety
    No automatic fix.
    """

    code = "NB205"
    name = "undeclared-dependency"
    category = "reproducible"
    VALID = ("# %%\nimport os, json, math\nfrom collections import Counter\n",
             "# %%\n%%writefile helpers.py\nX = 1\n# %%\nimport helpers\n",
             "# %%\n!protoc person.proto --python_out=.\n# %%\nfrom person_pb2 import Person\n",
             "# %%\nimport cPickle  # Python 2's standard library\n")
    INVALID = (Invalid("# %%\nimport numpy as np\nfrom sklearn.svm import SVC\nimport numpy\n",
                       count=2),
               # reached through sys.path, but not where it points
               Invalid('# %%\nimport sys\nsys.path.append(os.path.join("..", "src"))\n'
                       "import projectcode_not_here\n", count=1,
                       message="and it is not in the folders the notebook adds to `sys.path` "
                               "(`../src`)"))

    def check(self, ctx: Context):
        project = ctx.project.get("project")
        folder = os.path.dirname(os.path.abspath(ctx.path))
        seen: set[str] = set()
        paths = None  # the folders the notebook adds to sys.path (or moves into), when asked
        # Modules the notebook writes itself (`%%writefile helpers.py`) are local too.
        for cell in ctx.notebook.code_cells:
            for magic in cell.code.magics if cell.code else ():
                if magic.kind == "cell" and magic.name in ("writefile", "file"):
                    target = magic.args.split()[-1] if magic.args.split() else ""
                    if target.endswith(".py"):
                        seen.add(os.path.basename(target)[:-3])
        for cell, facts in ctx.analysis.cells_with_facts():
            for fact in facts.imports:
                module = fact.module.partition(".")[0]
                if not module or fact.module.startswith(".") or module in seen:
                    continue
                seen.add(module)
                if module in _STDLIB or module in KERNEL_MODULES or module in PYTHON2_STDLIB:
                    continue
                if module.endswith(("_pb2", "_pb2_grpc")) or is_local_module(folder, module):
                    continue  # protoc writes `*_pb2.py` from a .proto file: it is generated
                if paths is None:
                    paths = _added_paths(ctx, folder)
                if any(is_local_module(path, module) for path in paths[0]):
                    continue  # the project's own code, reached through `sys.path.append("..")`
                distribution = DISTRIBUTIONS.get(module, module)
                if project is not None and (project.declares(distribution) or
                                            project.declares(module) or
                                            _declared_by_metadata(project, module)):
                    continue
                if project is None or not project.dependency_files:
                    missing = f"no dependency file next to the notebook declares `{distribution}`"
                else:
                    files = ", ".join(os.path.basename(p) for p in project.dependency_files[:3])
                    missing = f"{files} {'do' if ', ' in files else 'does'} not declare " \
                              f"`{distribution}`"
                # `import pandas as pd, numpy as np`: point at the module, not the statement
                where = fact.node
                if isinstance(where, ast.Import) and len(where.names) > 1:
                    where = next((a for a in where.names if hasattr(a, "lineno") and (
                        a.name == fact.module or a.name.partition(".")[0] == fact.module)),
                        where)
                if (paths[0] or paths[1]) and importlib.util.find_spec(module) is None:
                    # not installed here, and the notebook reaches for code of its own
                    elsewhere = _in_project(folder, module)
                    if elsewhere and paths[1]:
                        continue  # the project has it; a path computed at run time may reach it
                    added = ", ".join(f"`{os.path.relpath(p, folder)}`" for p in paths[0]) \
                        or "a folder computed at run time"
                    there = f"; the project has one in `{os.path.relpath(elsewhere, folder)}`" \
                        if elsewhere else ""
                    yield self.report(
                        ctx, cell, f"`{module}` is imported but {missing}, and it is not in the "
                                   f"folders the notebook adds to `sys.path` ({added}){there}",
                        node=where,
                        help=f"if `{module}` is the project's own code, add its folder to "
                             f"`sys.path`; if it is a package, add `{distribution}==<version>` "
                             f"to requirements.txt")
                    continue
                yield self.report(
                    ctx, cell, f"`{module}` is imported but {missing}",
                    node=where,
                    help=f"add `{distribution}==<version>` to requirements.txt "
                         f"(`pip show {distribution}` tells the version)")


#: Calls that make a folder's modules importable (the working folder is on `sys.path`).
_PATH_CALLS = {"sys.path.append": 0, "sys.path.insert": 1, "sys.path.extend": 0,
               "site.addsitedir": 0, "os.chdir": 0}


def _added_paths(ctx: Context, folder: str) -> tuple[list[str], bool]:
    """The folders the notebook puts on ``sys.path`` or moves into (``%cd``), resolved from
    its own folder; and whether some could not be resolved (computed at run time)."""
    found, unresolved = [], False
    for _cell, facts in ctx.analysis.cells_with_facts():
        for call in facts.calls:
            position = _PATH_CALLS.get(ctx.analysis.qualify(call.dotted) or "")
            if position is None or len(call.node.args) <= position:
                continue
            argument = call.node.args[position]
            values = argument.elts if isinstance(argument, (ast.List, ast.Tuple)) and \
                call.dotted.endswith("extend") else [argument]
            for value in values:
                path = _folder_of(value, folder)
                if path is None:
                    unresolved = True
                else:
                    found.append(path)
    for cell in ctx.notebook.code_cells:
        for magic in cell.code.magics if cell.code else ():
            if magic.kind == "line" and magic.name == "cd" and magic.args:
                found.append(os.path.normpath(os.path.join(folder,
                                                           os.path.expanduser(magic.args))))
    return found, unresolved


def _in_project(folder: str, module: str) -> str | None:
    """The folder of a ``module.py`` or ``module/__init__.py`` of the project around
    ``folder`` (its repository, else two folders up), outside environments; None if none."""
    from nb2pipe.lint.folder import SKIPPED
    from nb2pipe.lint.project import project_for

    root = project_for(folder).root or os.path.dirname(os.path.dirname(os.path.abspath(folder)))
    start = root.count(os.sep)
    for current, folders, files in os.walk(root):
        if f"{module}.py" in files or (os.path.basename(current) == module and
                                       "__init__.py" in files):
            return current if f"{module}.py" in files else os.path.dirname(current)
        folders[:] = [f for f in folders if f not in SKIPPED] \
            if current.count(os.sep) - start < 4 else []
    return None


def _folder_of(node: ast.AST, folder: str) -> str | None:
    """A path expression's folder when it is made of literals (``".."``,
    ``os.path.abspath(os.path.join("..", "src"))``, ``Path("..").resolve()``), else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return os.path.normpath(os.path.join(folder, os.path.expanduser(node.value)))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        left, right = _folder_of(node.left, folder), _folder_of(node.right, "")
        return os.path.normpath(os.path.join(left, right)) if left and right else None
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    if name == "getcwd" and not node.args:
        return folder
    if name in ("resolve", "absolute") and isinstance(func, ast.Attribute):
        return _folder_of(func.value, folder)
    if name in ("abspath", "realpath", "normpath", "expanduser", "str", "Path") and \
            len(node.args) == 1:
        return _folder_of(node.args[0], folder)
    if name == "join" and node.args:
        parts = [_folder_of(a, "") if i else _folder_of(a, folder)
                 for i, a in enumerate(node.args)]
        return os.path.normpath(os.path.join(*parts)) if None not in parts else None
    return None


def _declared_by_metadata(project, module: str) -> bool:
    """Whether a declared distribution, installed here, provides ``module`` (a requirement
    `beautifulsoup4` provides `bs4`)."""
    return any(module in _provided_by(name) for name in project.declared)


@lru_cache(maxsize=None)
def _provided_by(distribution: str) -> frozenset[str]:
    """The top-level modules an installed distribution provides (none if not installed).

    Asking only about the few declared distributions is much cheaper than mapping every
    installed one (``importlib.metadata.packages_distributions`` takes a third of a second).
    """
    from importlib import metadata

    try:
        found = metadata.distribution(distribution)
        top_level = found.read_text("top_level.txt")
        if top_level:
            return frozenset(top_level.split())
        # The first folder of each file the wheel installed. Reading RECORD as text: its
        # parsed form (`found.files`) costs ten times more on a large distribution.
        record = found.read_text("RECORD")
        if record is not None:
            heads = {line.split(",", 1)[0].split("/", 1)[0] for line in record.splitlines()}
        else:  # an egg-info install lists its files elsewhere
            heads = {file.parts[0] for file in found.files or () if file.parts}
        return frozenset(head.removesuffix(".py") for head in heads if head and not head.endswith(
            (".dist-info", ".egg-info", ".data")) and head not in ("..", "__pycache__"))
    except Exception:  # not installed, or unreadable metadata: it provides nothing known
        return frozenset()
