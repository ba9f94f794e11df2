import re
import shlex

from nb2pipe.lint.rule import Context, Invalid, Rule

# Options of `pip install` / `conda install` that take a value.
_VALUE_OPTIONS = {"-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-i",
                  "--index-url", "--extra-index-url", "-f", "--find-links", "-t", "--target",
                  "--prefix", "--root", "--platform", "--python-version", "--implementation",
                  "--abi", "--src", "--upgrade-strategy", "--progress-bar", "--channel", "-n",
                  "--name", "-p", "--no-binary", "--only-binary", "--trusted-host", "--cache-dir",
                  "--log", "--proxy", "--timeout", "--retries", "--python"}
_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?")
#: The installer's own packages: upgrading them changes no result.
_INSTALLERS = re.compile(r"^(pip|setuptools|wheel)([<>=!~].*)?$", re.IGNORECASE)


def install_specs(command: str) -> tuple[list[str], bool]:
    """The package specs of a ``pip/conda install`` command, and whether it uses a file."""
    try:
        words = shlex.split(command, comments=True)
    except ValueError:
        words = command.split()
    if "install" not in words:
        return [], False
    words = words[words.index("install") + 1:]
    specs: list[str] = []
    uses_file = False
    skip = False
    for word in words:
        if skip:
            skip = False
            continue
        if word in ("-r", "--requirement", "-c", "--constraint"):
            uses_file = True
        if word in _VALUE_OPTIONS:
            skip = True
            continue
        if word.startswith("-") or word in (">", ">>", "&&", ";", "|", "2>&1", "1>/dev/null") \
                or word.startswith((">", "2>", "&")):
            if word in ("&&", ";", "|"):
                break
            continue
        specs.append(word)
    return specs, uses_file


def is_pinned(spec: str, conda: bool = False) -> bool:
    if any(c in spec for c in "{}$"):
        return True  # a variable: cannot tell
    if "://" in spec or spec.startswith(("git+", "hg+", "svn+", "bzr+")):
        tail = spec.split("://", 1)[-1]
        return "@" in tail.rsplit("/", 1)[-1] or spec.endswith((".whl", ".tar.gz", ".zip"))
    if spec.startswith((".", "/", "~")) or spec.endswith((".whl", ".tar.gz", ".zip", ".tgz")):
        return True
    if "===" in spec:
        return True
    if "==" in spec:
        return not spec.rstrip("'\"").endswith("*")  # `numpy==1.*` allows every 1.x
    if conda and re.search(r"(?<![<>!=])=[0-9]", spec):
        return True
    return False


def install_magics(cell):
    """``(magic, tool, command)`` for each pip/conda install in a cell."""
    for magic in cell.code.magics if cell.code else ():
        if magic.kind == "line" and magic.name in ("pip", "conda", "mamba"):
            yield magic, magic.name, magic.command
        elif magic.kind == "shell":
            command = magic.command
            words = command.split()
            if not words:
                continue
            tool = words[0].rsplit("/", 1)[-1]
            if (tool.startswith("python") or tool.startswith("{") and tool.endswith("}")) \
                    and words[1:3] == ["-m", "pip"]:
                tool = "pip"  # `!{sys.executable} -m pip install …`, Jupyter's advice
            if tool in ("pip", "pip3", "conda", "mamba", "micromamba", "uv"):
                yield magic, "conda" if "mamba" in tool else tool, command


class UnpinnedInstall(Rule):
    """`!pip install x` / `%pip install x` without a pinned version.

    ## What it does
    Flags each package that a `pip`, `%pip`, `conda` or `uv pip` install line in a cell names
    without an exact version (`x==1.2.3`, `x=1.2` for conda; `x==1.*` is a range), including
    `!{sys.executable} -m pip install x`, and VCS URLs without a commit or tag. Installs from a
    requirements file (`-r requirements.txt`), local paths, wheels, VCS URLs with a commit or
    tag, and upgrades of the installer itself (`pip install -U pip`) are fine.

    ## Why is this bad?
    Each run installs whatever is newest that day. The notebook that worked last month fails
    today with an API change, and two people running it get different results.

    ## Example
    ```python
    # %%
    !pip install xgboost shap
    ```

    ## Use instead
    ```python
    # %%
    %pip install xgboost==2.1.1 shap==0.46.0
    ```
    Better still, list dependencies in a `requirements.txt` next to the notebook.

    ## Fix safety
    Safe. The fix pins each package to the version installed in the environment running
    `nb2pipe`; packages that are not installed there, or whose installed version the line's
    constraint excludes (`'numpy<2'` with numpy 2.1 installed), are left for you to pin.
    """

    code = "NB204"
    name = "unpinned-install"
    category = "reproducible"
    fix_safety = "safe"
    fix_title = "Pin to the installed version"
    fix_edits = "ipython"
    VALID = (
        "# %%\n!pip install -q xgboost==2.1.1\n%pip install -r requirements.txt\n",
        "# %%\n!conda install -y numpy=1.26\n!pip install ./mypkg git+https://x.org/a/b.git@v1.0\n",
        "# %%\n!pip list\n",
        "# %%\n!pip install --upgrade pip setuptools\n",
    )
    INVALID = (
        Invalid("# %%\n!pip install xgboost shap>=0.4\n", count=2),
        Invalid("# %%\n%pip install --upgrade -q hypothesis\n", count=1,
                fixed="# %%\n%pip install --upgrade -q hypothesis=={hypothesis}\n"),
        Invalid("# %%\nimport sys\n!{sys.executable} -m pip install seaborn 'numpy==1.*'\n"
                "!pip install git+https://github.com/org/tool.git\n", count=3),
        # the installer is left as it is; a constraint the installed version breaks is not
        # pinned to it (the fix would change what the notebook asks for)
        Invalid("# %%\n%pip install -U pip hypothesis\n!pip install 'hypothesis<1'\n", count=2,
                fixed="# %%\n%pip install -U pip hypothesis=={hypothesis}\n"
                      "!pip install 'hypothesis<1'\n"),
        Invalid("# %%\n!pip install git+https://github.com/org/tool.git\n", count=1,
                message="installs `git+https://github.com/org/tool.git` at whatever its "
                        "branch holds today"),
    )

    def check(self, ctx: Context):
        for cell in ctx.notebook.code_cells:
            for magic, tool, command in install_magics(cell):
                specs, _ = install_specs(command)
                for spec in specs:
                    if is_pinned(spec, conda=tool == "conda"):
                        continue
                    if _INSTALLERS.match(spec):
                        continue  # `pip install -U pip`: the installer, not a dependency
                    if "://" in spec or spec.startswith(("git+", "hg+", "svn+", "bzr+")):
                        yield self.report(
                            ctx, cell, f"`{command[:60]}` installs `{spec[:60]}` at whatever "
                                       f"its branch holds today", line=magic.line,
                            col=max(magic.text.find(spec) + 1, 1),
                            help="pin it to a commit or a tag: `…@<commit>`", fix=False)
                        continue
                    name = _NAME.match(spec)
                    version = _installed(name.group(1)) if name else None
                    col = magic.text.find(spec) + 1 if spec in magic.text.split("\n")[0] else 1
                    package = name.group(1) if name else spec
                    constraint = spec[name.end():] if name else ""
                    detail = f" (`{constraint}` allows other versions)" if constraint else ""
                    pin = _pin_version(spec, tool)
                    yield self.report(
                        ctx, cell, f"`{command[:60]}` does not pin `{package}` to one "
                                   f"version{detail}",
                        line=magic.line, col=max(col, 1),
                        help=f"pin it: `{package}=={pin or version or '<version>'}`, or install "
                             f"from a requirements file",
                        fix=pin is not None)

    def fix(self, editor, diagnostics):
        from nb2pipe.notebook.magics import split_lines

        for index in sorted({d.cell for d in diagnostics}):
            lines = split_lines(editor.source(index))
            cell = editor.notebook().cells[index]
            for magic, tool, command in install_magics(cell):
                if tool == "conda" or magic.line != magic.end_line:
                    continue
                specs, _ = install_specs(command)
                line = lines[magic.line - 1]
                for spec in specs:
                    version = _pin_version(spec, tool)
                    if version is None:
                        continue
                    pinned = _NAME.match(spec).group(0) + "==" + version
                    line = re.sub(rf"(?<![\w.=-]){re.escape(spec)}(?![\w.=-])", pinned, line,
                                  count=1)
                lines[magic.line - 1] = line
            editor.set_source(index, "\n".join(lines))


def _pin_version(spec: str, tool: str) -> str | None:
    """The version the fix pins ``spec`` to: the one installed here, when the spec is a
    package that is not pinned yet and the installed version meets its constraint (`x<2` is
    never pinned to 2.1); ``None`` when there is nothing the fix can do."""
    if tool == "conda" or is_pinned(spec) or _INSTALLERS.match(spec) or "://" in spec:
        return None
    name = _NAME.match(spec)
    version = _installed(name.group(1)) if name else None
    if version is None:
        return None
    constraint = spec[name.end():].strip("'\"").replace(" ", "")
    if constraint:
        try:
            from packaging.specifiers import SpecifierSet

            if version not in SpecifierSet(constraint):
                return None
        except Exception:  # no packaging, or a constraint it cannot read: leave it alone
            return None
    return version


def _installed(name: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
    except Exception:  # a broken distribution's metadata
        return None
