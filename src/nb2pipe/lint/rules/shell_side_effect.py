import ast

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
    if _redirects_to_a_file(words):
        return True  # `python make_features.py > features.csv`
    tool = words[0].rsplit("/", 1)[-1]
    if tool not in _SIDE_EFFECTS:
        return False
    needs = _SIDE_EFFECTS[tool]
    return needs is None or any(w in needs for w in words[1:])


def _redirects_to_a_file(words: list[str]) -> bool:
    """``> out.txt``, ``>>log``, ``2> err.log``; not ``2>&1`` or ``> /dev/null``."""
    for number, word in enumerate(words):
        head = word.lstrip("0123456789&")
        if not head.startswith(">"):
            continue
        target = head.lstrip(">") or (words[number + 1] if number + 1 < len(words) else "")
        if target and not target.startswith("&") and target != "/dev/null":
            return True
    return False


#: Python calls that run a shell command: the command is their first argument.
_SHELL_CALLS = frozenset({"os.system", "os.popen", "subprocess.run", "subprocess.call",
                          "subprocess.check_call", "subprocess.check_output",
                          "subprocess.Popen", "subprocess.getoutput"})


def _literal_command(node) -> str | None:
    """The command of ``os.system("rm -rf x")`` or ``subprocess.run(["wget", url])``, with
    anything not literal left out; ``None`` when its first word is not literal."""
    if not node.args:
        return None
    command = node.args[0]
    if isinstance(command, ast.Constant) and isinstance(command.value, str):
        return command.value
    if isinstance(command, (ast.List, ast.Tuple)) and command.elts and \
            isinstance(command.elts[0], ast.Constant) and isinstance(command.elts[0].value, str):
        return " ".join(e.value for e in command.elts
                        if isinstance(e, ast.Constant) and isinstance(e.value, str))
    return None


class ShellSideEffect(Rule):
    """Shell commands that change files or the environment outside the code.

    ## What it does
    Flags `!` lines, `%%bash`/`%%sh` cells and `os.system(…)`/`subprocess.run(…)` calls that
    download, unpack, move or delete files (`wget`, `curl -o`, `unzip`, `rm`, `mv`,
    `git clone`, `kaggle`…) or write one (`> out.txt`), `%cd`, `os.chdir()` and `%%writefile`.

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
             "# %%\n%%bash\necho hello\n",
             "# %%\n!python check.py > /dev/null 2>&1\nimport os, subprocess\n"
             "os.system('nvidia-smi')\nsubprocess.run(['git', 'status'])\n")
    INVALID = (
        Invalid("# %%\n!wget https://example.com/data.zip\n%cd data\n", count=2),
        Invalid("# %%\n%%bash\ngit clone https://example.com/repo.git\n", count=1),
        Invalid("# %%\nimport os\nos.chdir('/tmp')\n", count=1),
        Invalid("# %%\nimport os, subprocess\nos.system('rm -rf cache')\n"
                "subprocess.run(['wget', '-q', url])\n!python prepare.py > features.csv\n",
                count=3),
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
            elif qualified in _SHELL_CALLS:
                command = _literal_command(call.node)
                if command and any(side_effect(part) for part in _commands(command)):
                    yield self.report(
                        ctx, cell, f"`{qualified}(\"{command[:50]}\")` changes files outside "
                                   f"the code", node=call.node, help=help_text)


def _commands(command: str):
    for part in command.replace("&&", ";").replace("||", ";").split(";"):
        yield part.strip()
