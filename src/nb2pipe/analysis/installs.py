"""Package installs written in notebooks (``!pip install x``, ``%pip``, ``conda``, ``uv pip``):
which packages they name and whether each is pinned.

Shared by NB204 (:mod:`nb2pipe.lint.rules.unpinned_install`) and the ``requirements.txt``
that ``convert`` writes.
"""

import re
import shlex

_VALUE_OPTIONS = {"-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-i",
                  "--index-url", "--extra-index-url", "-f", "--find-links", "-t", "--target",
                  "--prefix", "--root", "--platform", "--python-version", "--implementation",
                  "--abi", "--src", "--upgrade-strategy", "--progress-bar", "--channel", "-n",
                  "--name", "-p", "--no-binary", "--only-binary", "--trusted-host", "--cache-dir",
                  "--log", "--proxy", "--timeout", "--retries", "--python"}
PACKAGE_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?")
#: The installer's own packages: upgrading them changes no result.
INSTALLERS = re.compile(r"^(pip|setuptools|wheel)([<>=!~].*)?$", re.IGNORECASE)


def install_specs(command: str) -> tuple[list[str], bool]:
    """The package specs of a ``pip/conda install`` command, and whether it uses a file."""
    try:
        words = shlex.split(command, comments=True)
    except ValueError:
        words = command.split()
    if "install" not in words:
        return [], False
    words = words[words.index("install") + 1:]
    if "-" in words[:next((i for i, w in enumerate(words) if w in ("&&", ";", "|")),
                          len(words))]:
        return [], False  # pip refuses a lone `-` ("Invalid requirement"): nothing installs
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
