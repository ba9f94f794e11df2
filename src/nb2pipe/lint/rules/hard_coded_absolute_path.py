import ast
import re

from nb2pipe.editor import PARAMETER_TAGS, fresh_name
from nb2pipe.lint.rule import Context, Invalid, Rule

# Where level-0 notebooks keep their data: one person's machine, Colab's Drive, Kaggle.
_ABSOLUTE = re.compile("|".join((
    r"[A-Za-z]:[\\/][^\\/\s]",  # C:\data, D:/x
    r"\\\\[^\\\s]+\\",  # \\server\share\
    r"/(?:home|Users|root)/(?:[^/\s]|$)",  # /home/ana, /Users/ana, /root/x, f"/home/{user}"
    r"~/\S",  # ~/data
    r"/content/(?:drive|gdrive|sample_data)(?:/|$)",  # Google Colab's Drive
    r"/kaggle/(?:input|working)(?:/|$)",
    r"/mnt/[^/\s]",  # mounted volumes; Windows drives under WSL
    r"/Volumes/[^/\s]",  # macOS volumes
    # a team's or a platform's storage mounted on one machine: AWS EFS, NFS, HPC file
    # systems, Databricks' DBFS, SageMaker's /opt/ml, shared data folders
    r"/(?:efs|nfs|gpfs|lustre|scratch|shared|data|datasets?|dbfs|workspace)/[^/\s]",
    r"/opt/ml/[^/\s]",
)).join((r"^\s*(?:", ")")))


# The same paths inside a longer string, after a separator: `";C:\\Program Files\\gs\\bin"`
# added to PATH, `"--data /home/ana/x"` (flagged, with no automatic fix).
_INSIDE = re.compile(r"[;=,\s](?:[A-Za-z]:[\\/][^\\/\s]|/(?:home|Users)/[^/\s]|~/\S)")


class HardCodedAbsolutePath(Rule):
    """Absolute paths that only exist on one machine.

    ## What it does
    Flags string literals that start with a path tied to one machine or service: Windows drives
    (`C:\\...`), home folders (`/home/...`, `/Users/...`, `~/...`), Google Drive in Colab
    (`/content/drive/...`), Kaggle's `/kaggle/input/...`, storage mounted on one machine or
    platform (`/mnt/...`, `/efs/...`, `/nfs/...`, `/scratch/...`, `/data/...`-like shared
    folders, Databricks' `/dbfs/...`, SageMaker's `/opt/ml/...`). System paths (`/dev/null`,
    `/tmp/...`, `/etc/...`) exist everywhere and are not flagged. The path does not have to exist, and
    the check is the same on every operating system. Paths in the parameters cell are inputs
    that every run can replace, and are not flagged.

    ## Why is this bad?
    Nobody else, no CI job and no pipeline step can run the notebook: the path exists on one
    laptop. Data locations are inputs and belong in parameters.

    ## Example
    ```python
    # %%
    df = pd.read_csv("/Users/ana/Downloads/churn.csv")
    ```

    ## Use instead
    ```python
    # %% tags=["parameters"]
    DATA_DIR = "data"
    # %%
    df = pd.read_csv(f"{DATA_DIR}/churn.csv")
    ```

    ## Fix safety
    Safe. The fix adds a `DATA_DIR` parameter holding the paths' common folder (its value is
    the folder as written, so the notebook computes exactly what it did) and rewrites each
    path as `f"{DATA_DIR}/rest"`. Run it elsewhere with `nb2pipe run -p DATA_DIR=data` or
    papermill's `-p`. Paths with no common folder deeper than a home or a drive get a
    parameter per folder (`DATA_DIR`, `DATA_DIR_2`…). Paths in cells above the parameters
    cell are left alone.
    """

    code = "NB201"
    name = "hard-coded-absolute-path"
    category = "reproducible"
    fix_safety = "safe"
    fix_title = "Make the path relative to a `DATA_DIR` parameter"
    VALID = (
        '# %%\ndf = pd.read_csv("data/churn.csv")\n',
        '# %%\nurl = "https://example.com/home/data.csv"\nhome = os.path.expanduser("~")\n',
        '# %%\nfmt = "%d/%m/%Y"\nratio = "1/2"\n',
        '# %%\nnote = "see https://example.com/home/x; c = a:b"\n',
        # system paths exist on every machine
        '# %%\nopen("/dev/null", "w")\nlog = "/tmp/run.log"\nconf = "/etc/hosts"\n',
    )
    INVALID = (
        # mounts of one machine or platform (found in real notebooks: an EFS mount in an
        # f-string)
        Invalid('# %%\nfiles = glob(f"/efs/shared_storage/{user}/images/*.png")\n'
                'df = pd.read_parquet("/mnt/datalake/sales.parquet")\n'
                'model = load("/dbfs/models/churn.pkl")\n', count=3),
        Invalid('# %%\nimport pandas as pd\n# %%\ndf = pd.read_csv("/Users/ana/Downloads/churn.csv")\n'
                'df.to_csv("/Users/ana/Downloads/out/clean.csv")\n', count=2,
                fixed='# %%\nimport pandas as pd\n# %% tags=["parameters"]\n'
                      '# Parameters: `nb2pipe run -p NAME=VALUE` and papermill replace these '
                      'values.\nDATA_DIR = "/Users/ana/Downloads"\n# %%\n'
                      'df = pd.read_csv(f"{DATA_DIR}/churn.csv")\n'
                      'df.to_csv(f"{DATA_DIR}/out/clean.csv")\n'),
        Invalid('# %%\na = open(r"C:\\data\\x.csv")\nb = "/content/drive/MyDrive/x.csv"\n'
                'c = f"/home/bob/{name}.csv"\nd = "~/data.csv"\n', count=4,
                fixed='# %% tags=["parameters"]\n'
                      '# Parameters: `nb2pipe run -p NAME=VALUE` and papermill replace these '
                      'values.\nDATA_DIR = r"C:\\data"\nDATA_DIR_2 = "/content/drive/MyDrive"\n'
                      'DATA_DIR_3 = "/home/bob"\nDATA_DIR_4 = "~"\n# %%\n'
                      'a = open(f"{DATA_DIR}/x.csv")\nb = f"{DATA_DIR_2}/x.csv"\n'
                      'c = f"{DATA_DIR_3}/{name}.csv"\nd = f"{DATA_DIR_4}/data.csv"\n'),
        Invalid('# %% tags=["parameters"]\nDATA_DIR = "/srv/shared/data"\n# %%\n'
                'x = load("/home/ana/data/x.npy")\n', count=1,
                fixed='# %% tags=["parameters"]\nDATA_DIR = "/srv/shared/data"\n'
                      'DATA_DIR_2 = "/home/ana/data"\n# %%\nx = load(f"{DATA_DIR_2}/x.npy")\n'),
        # inside a longer string: flagged, with no automatic fix
        Invalid('# %%\nimport os\nos.environ["PATH"] += ";C:\\\\Program Files\\\\gs\\\\bin"\n'
                'args = "--data /home/ana/data.csv --fast"\n', count=2,
                message="(inside a longer string) only exists on one machine"),
        # the user's name in an f-string: still a Linux home folder
        Invalid('# %%\ndf = read(f"/home/{user}/data.csv")\n', count=1,
                message="absolute path `/home/…`"),
    )

    def check(self, ctx: Context):
        for cell, facts in ctx.analysis.cells_with_facts():
            if any(tag in PARAMETER_TAGS for tag in cell.tags):
                continue
            for string in facts.strings:
                if string.docstring or len(string.value) > 400:
                    continue
                inside = None if _ABSOLUTE.match(string.value) else \
                    _INSIDE.search(string.value)
                if inside is not None:
                    path = string.value[inside.start() + 1:].split(";")[0].strip()
                    if not re.match(r"[A-Za-z]:", path):  # (a Windows path may hold spaces)
                        path = path.split()[0]
                    shown = path if len(path) <= 60 else path[:57] + "..."
                    yield self.report(
                        ctx, cell, f"absolute path `{shown}` (inside a longer string) only "
                                   f"exists on one machine", node=string.node, fix=False,
                        help="build the string from a parameter of the parameters cell "
                             "(`TOOLS_DIR = …`), or read it from the environment")
                    continue
                if _ABSOLUTE.match(string.value):
                    shown = string.value.strip()
                    shown = shown if len(shown) <= 60 else shown[:57] + "..."
                    if shown.endswith(("/", "\\")):
                        shown += "…"  # the start of an f-string: f"/home/{user}/data.csv"
                    yield self.report(
                        ctx, cell, f"absolute path `{shown}` only exists on one machine",
                        node=string.node,
                        help="make it relative to a `DATA_DIR` parameter in the parameters cell")

    def fix(self, editor, diagnostics):
        from nb2pipe.analysis import NotebookAnalysis

        analysis = NotebookAnalysis(editor.notebook())
        wanted = {(d.cell, d.line, d.col) for d in diagnostics if d.fix}
        parameters = editor.parameters_cell()
        found = []  # (cell index, where to edit, the literal text that starts with the path)
        for cell, facts in analysis.cells_with_facts():
            if parameters is not None and cell.index <= parameters:
                continue  # DATA_DIR would be used before the parameters cell sets it
            shift = cell.code.masked.col_shift
            joined = _joined_strings(cell.tree)
            f_strings = {id(n.values[0]): n for n in joined
                         if isinstance(n.values[0], ast.Constant)}
            later_parts = {id(part) for n in joined for part in n.values[1:]}
            for string in facts.strings:
                node = string.node
                if id(node) in later_parts or (cell.index, node.lineno, node.col_offset + 1 +
                        shift.get(node.lineno, 0)) not in wanted:
                    continue
                outer = f_strings.get(id(node), node)
                if string.value != string.value.strip():
                    continue
                found.append((cell.index, (outer.lineno, outer.col_offset + 1), string.value,
                              outer is not node))
        if not found:
            return
        moved = 0
        if parameters is None:  # a new one, above the first path: the cells below shift by one
            editor.ensure_parameters_cell(before=min(index for index, *_ in found))
            moved = 1
        folders = _parameter_folders([value for *_, value, _ in found])
        taken = set(analysis.first_binding)
        existing = _string_parameters(editor, parameters, analysis)
        names: dict[str, str] = {}
        for folder in dict.fromkeys(folders.values()):
            name = existing.get(folder) or fresh_name("DATA_DIR", taken)
            taken.add(name)
            names[folder] = name
            if folder not in existing:
                editor.add_parameter(name, _literal(folder))
        by_cell: dict[int, dict] = {}
        for index, position, value, in_f_string in found:
            folder = folders[value]
            by_cell.setdefault(index, {})[(position, in_f_string)] = (folder, names[folder])
        for index, edits in by_cell.items():
            editor.rewrite(index + moved, _relative_paths(edits))


def _joined_strings(tree) -> list:
    """The f-strings of ``tree`` (the positions of their parts differ across Python versions:
    the fix edits the f-string as a whole)."""
    return [node for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) and node.values]


def _split(path: str) -> list[str]:
    return re.split(r"[\\/]", path)


def _parameter_folders(paths: list[str]) -> dict[str, str]:
    """For each path, the folder a parameter will hold: their common folder when it is deeper
    than a home or drive (``/Users/ana/data``), else each path's own folder."""
    folders = {}
    for path in paths:
        parts = _split(path)
        folders[path] = path[:len(path) - len(parts[-1])].rstrip("\\/") or path[:1]
    common = _split(next(iter(folders.values())))
    for folder in folders.values():
        parts = _split(folder)
        size = 0
        while size < min(len(parts), len(common)) and parts[size] == common[size]:
            size += 1
        common = common[:size]
    if len([p for p in common if p]) >= 3 or (len([p for p in common if p]) >= 2 and
                                                common[0] not in ("", "~")):
        first = next(iter(folders.values()))
        prefix = first[:len(re.match(r"(?:[^\\/]*[\\/]){%d}" % (len(common) - 1) +
                                     r"[^\\/]*", first).group(0))]
        if all(f.startswith(prefix) and f[len(prefix):len(prefix) + 1] in ("", "/", "\\")
               for f in folders.values()):
            return {path: prefix for path in folders}
    return folders


def _string_parameters(editor, parameters, analysis) -> dict[str, str]:
    """``folder → NAME`` for parameters that already hold a folder (to reuse them)."""
    found = {}
    facts = analysis.facts.get(parameters) if parameters is not None else None
    for assignment in facts.assignments if facts else ():
        value = assignment.value
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            found.setdefault(value.value, assignment.name)
    return found


def _literal(folder: str) -> str:
    if "\\" in folder and '"' not in folder and not folder.endswith("\\"):
        return f'r"{folder}"'
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _rest(value: str, folder: str) -> str:
    """What follows ``folder`` in ``value``, with forward slashes (they work on Windows too)."""
    return value[len(folder):].replace("\\", "/")


def _relative_paths(edits: dict):
    """A change that rewrites path literals at the given positions as ``f"{NAME}/rest"``."""

    def change(module):
        import libcst
        from libcst.metadata import MetadataWrapper, PositionProvider

        wrapper = MetadataWrapper(module)
        positions = wrapper.resolve(PositionProvider)

        def where(node):
            start = positions[node].start
            return start.line, start.column + 1

        class Rewrite(libcst.CSTTransformer):
            def leave_SimpleString(self, original, updated):
                edit = edits.get((where(original), False))
                value = original.evaluated_value
                if edit is None or not isinstance(value, str) or not value.startswith(edit[0]):
                    return updated
                folder, name = edit
                rest = _rest(value, folder)
                if not rest:
                    return libcst.Name(name)
                text = rest.replace("{", "{{").replace("}", "}}").replace("\\", "\\\\")
                return libcst.parse_expression('f"{%s}%s"' % (name, text.replace('"', '\\"')))

            def leave_FormattedString(self, original, updated):
                edit = edits.get((where(original), True))
                parts = list(updated.parts)
                if edit is None or not parts or "r" in updated.prefix.lower() or \
                        not isinstance(parts[0], libcst.FormattedStringText) or \
                        not parts[0].value.startswith(edit[0]):
                    return updated
                folder, name = edit
                rest = _rest(parts[0].value, folder)
                head = [libcst.FormattedStringExpression(expression=libcst.Name(name))]
                if rest:
                    head.append(libcst.FormattedStringText(rest))
                return updated.with_changes(parts=head + parts[1:])

        return wrapper.module.visit(Rewrite())

    return change
