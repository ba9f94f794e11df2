import re

from nb2pipe.lint.rule import Context, Invalid, Rule

# Where level-0 notebooks keep their data: one person's machine, Colab's Drive, Kaggle.
_ABSOLUTE = re.compile("|".join((
    r"[A-Za-z]:[\\/][^\\/\s]",  # C:\data, D:/x
    r"\\\\[^\\\s]+\\",  # \\server\share\
    r"/(?:home|Users|root)/[^/\s]",  # /home/ana, /Users/ana, /root/x
    r"~/\S",  # ~/data
    r"/content/(?:drive|gdrive|sample_data)(?:/|$)",  # Google Colab's Drive
    r"/kaggle/(?:input|working)(?:/|$)",
    r"/mnt/[a-z](?:/|$)",  # Windows drives under WSL
    r"/Volumes/[^/\s]",  # macOS volumes
)).join((r"^\s*(?:", ")")))


class HardCodedAbsolutePath(Rule):
    """Absolute paths that only exist on one machine.

    ## What it does
    Flags string literals that start with a path tied to one machine or service: Windows drives
    (`C:\\...`), home folders (`/home/...`, `/Users/...`, `~/...`), Google Drive in Colab
    (`/content/drive/...`), Kaggle's `/kaggle/input/...`. The path does not have to exist, and
    the check is the same on every operating system.

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
    No automatic fix yet.
    """

    code = "NB201"
    name = "hard-coded-absolute-path"
    category = "reproducible"
    VALID = (
        '# %%\ndf = pd.read_csv("data/churn.csv")\n',
        '# %%\nurl = "https://example.com/home/data.csv"\nhome = os.path.expanduser("~")\n',
        '# %%\nfmt = "%d/%m/%Y"\nratio = "1/2"\n',
    )
    INVALID = (
        Invalid('# %%\ndf = pd.read_csv("/Users/ana/Downloads/churn.csv")\n', count=1),
        Invalid('# %%\na = open(r"C:\\data\\x.csv")\nb = "/content/drive/MyDrive/x.csv"\n'
                'c = f"/home/bob/{name}.csv"\nd = "~/data.csv"\n', count=4),
    )

    def check(self, ctx: Context):
        for cell, facts in ctx.analysis.cells_with_facts():
            for string in facts.strings:
                if string.docstring or len(string.value) > 400:
                    continue
                if _ABSOLUTE.match(string.value):
                    shown = string.value.strip()
                    shown = shown if len(shown) <= 60 else shown[:57] + "..."
                    yield self.report(
                        ctx, cell, f"absolute path `{shown}` only exists on one machine",
                        node=string.node,
                        help="make it relative to a `DATA_DIR` parameter in the parameters cell")
