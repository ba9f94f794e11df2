"""Turn a cell's IPython syntax into plain Python, for the components (and the KFP target).

The decision, per kind of syntax (documented in docs/convert.md):

- display-only magics (``%matplotlib``, ``%config``, ``%load_ext``, ``%%html``, ``obj?``…) are
  dropped, leaving a comment;
- ``%pip install`` / ``!pip install`` move to requirements.txt (a comment stays);
- ``!cmd`` becomes ``subprocess.run(cmd, shell=True, check=True)`` (``x = !cmd`` captures the
  output lines), ``%%bash``/``%%sh`` likewise, ``%cd`` becomes ``os.chdir``, ``%env`` sets
  ``os.environ``, ``%%writefile`` writes the file; ``%time``/``%%time`` keep their Python;
  ``%%capture [NAME]`` captures what the cell prints (into ``NAME.stdout``) with a small
  helper class (``HELPERS``) that the target defines once, and one line after the cell's last
  stops it (the other lines keep their numbers);
- anything else (``%run``, ``%store``, ``%%sql``…) has no faithful Python equivalent: the
  component raises ``NotImplementedError`` at that line, and the user is warned. The papermill
  step runs the cell as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from nb2pipe.notebook.magics import Magic, mask, split_lines

DISPLAY_MAGICS = frozenset({
    "matplotlib", "config", "load_ext", "reload_ext", "unload_ext", "autoreload", "aimport",
    "who", "whos", "who_ls", "precision", "pprint", "xmode", "pylab", "notebook", "history",
    "lsmagic", "magic", "pinfo", "pinfo2", "pdoc", "pdef", "psource", "pfile", "timeit", "prun",
    "time", "debug", "pdb", "tb", "colors", "page", "qtconsole", "connect_info", "autosave",
    "alias_magic", "automagic", "doctest_mode", "html", "javascript", "js", "latex",
    "markdown", "svg", "display", "ls", "pwd", "dhist", "dirs", "bookmark", "clear",
    "tensorboard", "mprun", "memit", "lprun", "watermark", "sql_config", "capture",
})
FOREIGN_DISPLAY = frozenset({"html", "HTML", "javascript", "js", "latex", "markdown", "svg",
                             "capture", "timeit", "time", "prun"})
SHELL_CELLS = frozenset({"bash", "sh", "script", "system"})


#: Code a translation may need, defined once where the translated cells run.
HELPERS = {
    "capture": '''class _Captured(io.StringIO):
    """What `%%capture NAME` binds: the cell's printed output (`.stdout`, `.show()`)."""

    stderr = ""

    def start(self):
        self._redirect = contextlib.redirect_stdout(self)
        self._redirect.__enter__()
        return self

    def stop(self):
        self._redirect.__exit__(None, None, None)
        self._redirect = None  # (what is captured may be passed to another step)

    @property
    def stdout(self):
        return self.getvalue()

    def show(self):
        print(self.getvalue(), end="")''',
    "star_import": '''def _star_import(module_name, namespace):
    """`from MODULE import *`, which Python allows only at the top level of a module."""
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", [n for n in dir(module) if not n.startswith("_")])
    namespace.update({name: getattr(module, name) for name in names})''',
}
HELPER_IMPORTS = {"capture": {"contextlib", "io"}, "star_import": {"importlib"}}


@dataclass
class Pythonized:
    source: str
    imports: set[str] = field(default_factory=set)  # modules the translation needs
    installs: list[str] = field(default_factory=list)  # pip/conda install commands dropped
    unsupported: list[Magic] = field(default_factory=list)
    helpers: set[str] = field(default_factory=set)  # names in HELPERS the source uses


def helper_code(helpers) -> tuple[set[str], str]:
    """The modules and the definitions of ``helpers`` (names in HELPERS)."""
    modules = set().union(*(HELPER_IMPORTS[name] for name in helpers)) if helpers else set()
    return modules, "\n\n\n".join(HELPERS[name] for name in sorted(helpers))


def pythonize(source: str, in_function: bool = True) -> Pythonized:
    """The cell's source with IPython syntax replaced by Python (same number of lines), and
    the imports that only a module's top allows (``from __future__``, and ``import *`` when
    the code goes ``in_function``) made legal there."""
    result = _pythonize(source)
    result.source = _top_only_imports(result.source, result, in_function)
    return result


def _top_only_imports(source: str, result: Pythonized, in_function: bool) -> str:
    import ast

    from nb2pipe.notebook.reader import parse_quietly

    try:
        tree = parse_quietly(source)
    except (SyntaxError, ValueError):
        return source
    lines = source.split("\n")
    for node in tree.body:
        if not isinstance(node, ast.ImportFrom):
            continue
        star = any(alias.name == "*" for alias in node.names)
        if node.module == "__future__":
            names = ", ".join(alias.name for alias in node.names)
            text = (f"pass  # nb2pipe: dropped `from __future__ import {names}` (allowed only "
                    f"at the top of a module)")
        elif star and in_function and not node.level and node.module:
            result.helpers.add("star_import")
            text = f"_star_import({node.module!r}, globals())  # from {node.module} import *"
        else:
            continue
        first = node.lineno - 1
        indent = lines[first][:len(lines[first]) - len(lines[first].lstrip())]
        lines[first] = indent + text
        for number in range(first + 1, node.end_lineno):
            lines[number] = ""
    return "\n".join(lines)


def _pythonize(source: str) -> Pythonized:
    masked = mask(source, placeholders=True)
    result = Pythonized(source)
    if not masked.magics:
        return result
    lines = split_lines(masked.source)
    originals = split_lines(source)
    if masked.foreign:
        magic = masked.magics[-1]
        result.source = "\n".join(_foreign(magic, result, originals, len(lines)))
        return result
    out: list[str] = []
    for line in lines:
        marker = line.rfind("# nb2pipe-magic:")
        if marker == -1:
            out.append(line)
            continue
        tag = line[marker + len("# nb2pipe-magic:"):].strip()
        code = line[:marker].rstrip()
        if tag.endswith("+"):
            out.append("")
            continue
        magic = masked.magics[int(tag)]
        indent = re.match(r"\s*", originals[magic.line - 1]).group()
        out.append(indent + _translate(magic, code.strip(), result))
    if "capture" in result.helpers:
        # the output is captured until the end of the cell: one line after its last one
        while out and not out[-1].strip():
            out.pop()
        out.append("_nb2pipe_capture.stop()")
    result.source = "\n".join(out)
    return result


def _comment(text: str) -> str:
    return " ".join(text.split())[:100]


def _translate(magic: Magic, masked_code: str, result: Pythonized) -> str:
    command = magic.command
    if magic.kind == "help":
        return f"pass  # nb2pipe: dropped help `{_comment(magic.text.strip())}`"
    if magic.kind == "cell":  # %%time / %%capture: the body below is kept
        if magic.name == "capture":
            result.helpers.add("capture")
            names = "".join(f"{name} = " for name in magic.assign_to[:1])
            return f"{names}_nb2pipe_capture = _Captured().start()  # %%{_comment(command)}"
        return f"pass  # nb2pipe: dropped %%{_comment(command)}"
    if _is_install(magic):
        result.installs.append(command)
        return f"pass  # nb2pipe: `{_comment(command)}` is in requirements.txt"
    if magic.kind == "shell":
        result.imports.add("subprocess")
        call = f"subprocess.run({_shell_string(command)}, shell=True, check=True"
        if magic.assign_to:
            targets = ", ".join(magic.assign_to)
            return f"{targets} = {call}, capture_output=True, text=True).stdout.splitlines()"
        return call + ")"
    name = magic.name
    if magic.kind == "line" and magic.assign_to:
        result.unsupported.append(magic)
        return f"raise NotImplementedError({_unsupported_text(magic)!r})"
    if name in ("time", "timeit") and masked_code and masked_code != "pass":
        return masked_code  # the statement itself
    if name in DISPLAY_MAGICS:
        return f"pass  # nb2pipe: dropped %{_comment(command)} (display only)"
    if name == "cd":
        result.imports.add("os")
        target = magic.args.strip() or "~"
        return f"os.chdir(os.path.expanduser({target.strip(chr(34) + chr(39))!r}))"
    if name in ("env", "set_env"):
        result.imports.add("os")
        text = magic.args.strip()
        key, sep, value = text.partition("=") if "=" in text else text.partition(" ")
        if sep and key.strip():
            return f"os.environ[{key.strip()!r}] = {value.strip()!r}"
        return f"pass  # nb2pipe: dropped %{_comment(command)} (display only)"
    result.unsupported.append(magic)
    return f"raise NotImplementedError({_unsupported_text(magic)!r})"


def _foreign(magic: Magic, result: Pythonized, originals: list[str], count: int) -> list[str]:
    """A whole non-Python cell (``%%bash``, ``%%writefile``, ``%%html``…)."""
    first = magic.line - 1
    out = [""] * count
    body = magic.body
    if magic.name in SHELL_CELLS:
        result.imports.add("subprocess")
        out[first] = (f"subprocess.run({body!r}, shell=True, check=True, "
                      f"executable='/bin/bash')")
    elif magic.name in ("writefile", "file"):
        result.imports.add("pathlib")
        words = magic.args.split()
        append = "-a" in words or "--append" in words
        path = next((w for w in reversed(words) if not w.startswith("-")), "")
        mode = "a" if append else "w"
        out[first] = f"pathlib.Path({path!r}).open({mode!r}).write({body + chr(10)!r})"
    elif magic.name in FOREIGN_DISPLAY or magic.name in DISPLAY_MAGICS:
        out[first] = f"pass  # nb2pipe: dropped %%{_comment(magic.command)} (display only)"
    else:
        result.unsupported.append(magic)
        out[first] = f"raise NotImplementedError({_unsupported_text(magic)!r})"
    del originals
    return out


def _is_install(magic: Magic) -> bool:
    words = magic.command.split()
    if not words:
        return False
    tool = words[0].rsplit("/", 1)[-1]
    if tool.startswith("python") and words[1:3] == ["-m", "pip"]:
        words = words[2:]
        tool = "pip"
    return tool in ("pip", "pip3", "conda", "mamba", "uv") and "install" in words


def _shell_string(command: str) -> str:
    """IPython expands ``{expr}`` and ``$name`` in shell lines: keep that with an f-string."""
    if "{" not in command and "$" not in command:
        return repr(command)
    converted = re.sub(r"\$\$", "\x00", command)
    converted = re.sub(r"\$([A-Za-z_][A-Za-z0-9_]*)", r"{\1}", converted)
    converted = converted.replace("\x00", "$")
    return "f" + repr(converted)


def _unsupported_text(magic: Magic) -> str:
    return (f"`{_comment(magic.text.strip())}` (line {magic.line}) has no Python equivalent; "
            f"run this step through papermill: nb2pipe run DIR")
