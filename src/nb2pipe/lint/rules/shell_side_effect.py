from nb2pipe.lint.rule import Context, Invalid, Rule

#: Shell commands that change files or the environment (first word; some need a sub-command).
_SIDE_EFFECTS = {
    "wget": None, "rm": None, "rmdir": None, "unzip": None, "mkdir": None, "mv": None,
    "cp": None, "tar": None, "gunzip": None, "gzip": None, "7z": None, "unrar": None,
    "kaggle": None, "gdown": None, "apt": None, "apt-get": None, "yum": None, "brew": None,
    "sudo": None, "chmod": None, "chown": None, "ln": None, "touch": None, "rsync": None,
    "dvc": ("pull", "checkout", "get", "import"),
    "git": ("clone", "pull", "checkout", "reset", "fetch", "switch", "submodule"),
    "curl": ("-o", "-O", "--output", "--remote-name", ">"),
    "gsutil": ("cp", "mv", "rm", "rsync"), "aws": ("s3",), "az": ("storage",),
}


def side_effect(command: str) -> bool:
    words = command.split()
    if not words:
        return False
    tool = words[0].rsplit("/", 1)[-1]
    if tool not in _SIDE_EFFECTS:
        return False
    needs = _SIDE_EFFECTS[tool]
    return needs is None or any(w in needs or w.startswith(">") for w in words[1:])


class ShellSideEffect(Rule):
    """Shell commands that change files or the environment outside the code.

    ## What it does
    Flags `!` lines and `%%bash`/`%%sh` cells that download, unpack, move or delete files
    (`wget`, `curl -o`, `unzip`, `rm`, `mv`, `git clone`, `kaggle`…), `%cd`, `os.chdir()` and
    `%%writefile`.

    ## Why is this bad?
    The notebook's result depends on files these commands leave behind and on the folder it
    runs in. Run twice, it fails (`mkdir` on an existing folder) or silently uses stale files;
    run elsewhere, the tools may not exist. A pipeline step has to declare its inputs instead.

    ## Example
    ```python
    # %%
    !wget https://example.com/data.zip && unzip data.zip
    %cd data
    ```

    ## Use instead
    Download data in a separate, declared step (or a `dvc pull`), pass its location as a
    parameter, and use paths instead of changing directory.

    ## Fix safety
    No automatic fix.
    """

    code = "NB207"
    name = "shell-side-effect"
    category = "reproducible"
    VALID = ("# %%\n!ls -l data\n!nvidia-smi\n!curl https://example.com/health\n",
             "# %%\n%%bash\necho hello\n")
    INVALID = (
        Invalid("# %%\n!wget https://example.com/data.zip\n%cd data\n", count=2),
        Invalid("# %%\n%%bash\ngit clone https://example.com/repo.git\n", count=1),
        Invalid("# %%\nimport os\nos.chdir('/tmp')\n", count=1),
    )

    def check(self, ctx: Context):
        help_text = "move data preparation into a declared step and pass paths as parameters"
        for cell in ctx.notebook.code_cells:
            for magic in cell.code.magics if cell.code else ():
                if magic.kind == "shell" and any(side_effect(part) for part in
                                                 _commands(magic.command)):
                    yield self.report(ctx, cell,
                                      f"`!{magic.command[:60]}` changes files outside the code",
                                      line=magic.line, help=help_text)
                elif magic.kind == "line" and magic.name in ("cd", "pushd", "popd"):
                    yield self.report(ctx, cell,
                                      f"`%{magic.command[:60]}` changes the working directory",
                                      line=magic.line, help="use paths instead of `%cd`")
                elif magic.kind == "cell" and magic.name in ("bash", "sh", "script", "system"):
                    for offset, line in enumerate(magic.body.split("\n"), 1):
                        if any(side_effect(part) for part in _commands(line.strip())):
                            yield self.report(
                                ctx, cell, f"`{line.strip()[:60]}` changes files outside the code",
                                line=magic.line + offset, help=help_text)
                elif magic.kind == "cell" and magic.name in ("writefile", "file"):
                    yield self.report(ctx, cell,
                                      f"`%%{magic.command[:60]}` writes a file from the notebook",
                                      line=magic.line,
                                      help="keep the file in the repository and import it")
        analysis = ctx.analysis
        for cell, call, qualified in analysis.qualified_calls:
            if qualified == "os.chdir":
                yield self.report(ctx, cell, "`os.chdir()` changes the working directory",
                                  node=call.node, help="use paths instead of `os.chdir()`")


def _commands(command: str):
    for part in command.replace("&&", ";").replace("||", ";").split(";"):
        yield part.strip()
