import os

from nb2pipe.lint.folder import FolderContext, lfs_files, tracked_files
from nb2pipe.lint.rule import Invalid, Rule

#: Extensions of data files (and archives of them).
DATA_EXTENSIONS = (".csv", ".tsv", ".parquet", ".feather", ".arrow", ".xlsx", ".xls", ".json",
                   ".jsonl", ".h5", ".hdf5", ".npy", ".npz", ".pkl", ".pickle", ".sqlite",
                   ".db", ".zip", ".gz", ".bz2", ".xz", ".tar", ".7z", ".avro", ".orc", ".txt",
                   ".dat", ".mat", ".sav", ".tfrecord")
#: From this size on, a data file belongs in DVC, LFS or a data registry rather than in git.
LARGE = 10 * 1024 * 1024


class UnversionedData(Rule):
    """Large data files committed to git, not to DVC, Git LFS or a data registry.

    ## What it does
    Runs when `nb2pipe check` is given a folder inside a git repository. Flags data files
    (`.csv`, `.parquet`, `.xlsx`, `.npy`, `.pkl`, archives…) of 10 MB or more under the folder
    that git tracks as ordinary files: not through Git LFS (`filter=lfs` in `.gitattributes`).
    Files that DVC tracks are not in git (only their `.dvc` pointers are), so they are not
    flagged.

    ## Why is this bad?
    Git keeps every version of every file forever: the repository grows with each new extract,
    clones slow down, and nothing records which data version trained which model. Data belongs
    in a store that versions it separately and that pipelines read by version.

    ## Example
    ```text
    data/transactions.csv    # 120 MB, committed with `git add data/`
    ```

    ## Use instead
    ```console
    $ git rm --cached data/transactions.csv
    $ dvc add data/transactions.csv      # or: git lfs track "*.csv"
    $ git add data/transactions.csv.dvc data/.gitignore
    ```

    ## Fix safety
    No automatic fix: moving data out of git is a decision for the team (and rewriting history
    to drop the old versions is a separate one).
    """

    code = "NB704"
    name = "unversioned-data"
    category = "reproducible"
    scope = "folder"
    VALID = (
        "# file: train.ipynb\n# %%\nx = 1\n# file: data/small.csv size=2MB\n# git\n",
        "# file: train.ipynb\n# %%\nx = 1\n# file: .gitattributes\n*.csv filter=lfs diff=lfs "
        "merge=lfs -text\n# file: data/big.csv size=20MB\n# git\n",
        "# file: train.ipynb\n# %%\nx = 1\n# file: data/big.csv size=20MB\n",
    )
    INVALID = (Invalid("# file: train.ipynb\n# %%\nx = 1\n# file: data/big.csv size=20MB\n"
                       "# file: data/model.bin size=20MB\n# git\n", count=1),)

    def check(self, ctx: FolderContext):
        if not ctx.notebooks:
            return
        root = ctx.root
        tracked = tracked_files(root)
        if not tracked:
            return
        folder = os.path.relpath(os.path.abspath(ctx.folder), root)
        large = []
        for path in tracked:
            if not path.lower().endswith(DATA_EXTENSIONS) or path.endswith(".ipynb"):
                continue
            if folder != "." and not (path + "/").startswith(folder.rstrip("/") + "/"):
                continue
            try:
                size = os.path.getsize(os.path.join(root, path))
            except OSError:
                continue
            if size >= LARGE:
                large.append((path, size))
        if not large:
            return
        in_lfs = lfs_files(root, [path for path, _ in large])
        large = [(path, size) for path, size in large if path not in in_lfs]
        if not large:
            return
        large.sort(key=lambda item: -item[1])
        shown = ", ".join(f"{path} ({size / 1024 ** 2:.0f} MB)" for path, size in large[:3])
        more = f" and {len(large) - 3} more" if len(large) > 3 else ""
        yield self.report(
            ctx, None, f"large data files are committed to git: {shown}{more}",
            help="version data with DVC (`dvc add FILE`) or Git LFS (`git lfs track`), and "
                 "`git rm --cached` it")
