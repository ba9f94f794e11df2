import re

from nb2pipe.analysis.installs import (
    INSTALLERS,
    PACKAGE_NAME,
    install_magics,
    install_specs,
    is_pinned,
)
from nb2pipe.lint.rule import Context, Invalid, Rule


class UnpinnedInstall(Rule):
    """`!pip install x` / `%pip install x` without a pinned version.

    ## What it does
    Flags each package that a `!pip`, `%pip`, `conda` or `uv pip` install line in a cell names
    (IPython's automagic `pip install x`, without `%`, too)
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
        # pip refuses the whole command (a lone `-` is an invalid requirement): it installs
        # nothing, so it pins nothing either
        "# %%\n!pip install - q - U Slacker\n",
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
        # IPython's automagic: `pip` without `%` is `%pip` when the line is not Python
        Invalid("# %%\npip install hypothesis\n", count=1,
                fixed="# %%\npip install hypothesis=={hypothesis}\n"),
    )

    def check(self, ctx: Context):
        for cell in ctx.notebook.code_cells:
            for magic, tool, command in install_magics(cell):
                specs, _ = install_specs(command)
                for spec in specs:
                    if is_pinned(spec, conda=tool == "conda"):
                        continue
                    if INSTALLERS.match(spec):
                        continue  # `pip install -U pip`: the installer, not a dependency
                    if "://" in spec or spec.startswith(("git+", "hg+", "svn+", "bzr+")):
                        yield self.report(
                            ctx, cell, f"`{command[:60]}` installs `{spec[:60]}` at whatever "
                                       f"its branch holds today", line=magic.line,
                            col=max(magic.text.find(spec) + 1, 1),
                            help="pin it to a commit or a tag: `…@<commit>`", fix=False)
                        continue
                    name = PACKAGE_NAME.match(spec)
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
            # only the packages of these findings: "Fix" on one pins that one alone
            places = {(d.line, d.col) for d in diagnostics if d.cell == index}
            lines = split_lines(editor.source(index))
            cell = editor.notebook().cells[index]
            for magic, tool, command in install_magics(cell):
                if tool == "conda" or magic.line != magic.end_line:
                    continue
                specs, _ = install_specs(command)
                line = lines[magic.line - 1]
                for spec in specs:
                    col = magic.text.find(spec) + 1 if spec in magic.text.split("\n")[0] else 1
                    if (magic.line, max(col, 1)) not in places:
                        continue
                    version = _pin_version(spec, tool)
                    if version is None:
                        continue
                    pinned = PACKAGE_NAME.match(spec).group(0) + "==" + version
                    line = re.sub(rf"(?<![\w.=-]){re.escape(spec)}(?![\w.=-])", pinned, line,
                                  count=1)
                lines[magic.line - 1] = line
            editor.set_source(index, "\n".join(lines))


def _pin_version(spec: str, tool: str) -> str | None:
    """The version the fix pins ``spec`` to: the one installed here, when the spec is a
    package that is not pinned yet and the installed version meets its constraint (`x<2` is
    never pinned to 2.1); ``None`` when there is nothing the fix can do."""
    if tool == "conda" or is_pinned(spec) or INSTALLERS.match(spec) or "://" in spec:
        return None
    name = PACKAGE_NAME.match(spec)
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
