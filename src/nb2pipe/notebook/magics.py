"""Turn IPython syntax into valid Python while keeping every line where it was.

IPython accepts ``%magic``, ``%%cell_magic``, ``!shell``, ``x = !cmd``, ``x = %magic`` and
``obj?`` on top of Python. :func:`mask` replaces each of them with a Python statement of the same
number of lines (``pass``, or ``x = ...`` where a name is bound), so that ``ast`` can parse the cell
and every diagnostic still points at the line the user sees. The bodies of ``%%time``,
``%%timeit``, ``%%capture`` and ``%%prun`` are Python and stay analysable; ``%time stmt`` keeps its
statement (the column shift is recorded so columns stay right).

IPython's ``TransformerManager`` is the reference for what counts as IPython syntax; this masker
follows its rules for escapes at the start of a logical line and never looks inside strings or
bracketed continuations. A line magic called without ``%`` (automagic: ``pip install x``)
counts in a cell of that one line, when the line is not Python by itself. Limitation: IPython's autocall forms (``/f x``, ``,f a b``) are not
recognised; such a cell is reported as a syntax error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Cell magics whose body is Python code (the first line is the only IPython syntax).
PYTHON_BODY_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun"})
#: Line magics whose argument is a Python statement.
PYTHON_ARG_LINE_MAGICS = frozenset({"time", "timeit"})

# Only used to decide quickly whether a cell can contain IPython syntax at all; the real
# decision is made by the scanner below, which knows about strings and brackets.
_CANDIDATE = re.compile(r"^[ \t]*[%!?]|\?[ \t]*$|=[ \t]*[!%]", re.MULTILINE)
_SPECIAL = re.compile(r"[#'\"()\[\]{}\\]")
_ASSIGN = re.compile(r"^([ \t]*)([A-Za-z_][\w.]*(?:[ \t]*,[ \t]*[A-Za-z_][\w.]*)*)[ \t]*=[ \t]*([!%])(.*)$")
_STRING_PREFIX = re.compile(r"[rRbBuUfF]{0,2}$")
#: IPython's automagic (on by default): a line magic called without its ``%`` when the line is
#: not Python (``pip install watermark``, ``cd ..``, ``load_ext autoreload``). Shell aliases
#: (``ls``, ``mkdir``…) run the same way. IPython applies it to a cell of one line only
#: (``InteractiveShell.transform_cell``): in a longer cell the line is a syntax error. Only
#: the magics seen in notebooks are listed.
AUTOMAGICS = frozenset({
    "pip", "conda", "mamba", "cd", "load_ext", "reload_ext", "unload_ext", "matplotlib",
    "autoreload", "aimport", "run", "env", "set_env", "timeit", "time", "who", "whos",
    "reset", "history", "bookmark", "config", "store", "pylab", "precision", "watermark",
    "xmode", "alias", "pdb", "prun", "save", "load", "sx", "system", "dhist", "pushd",
    "popd", "pycat", "notebook", "lsmagic", "autosave", "sql", "tensorflow_version"})
#: IPython's own line magics (IPython 9, ``%lsmagic``): a statement that is only one of these
#: names, never bound by the notebook, runs the magic (automagic), e.g. ``colors``, ``pwd``.
LINE_MAGICS = frozenset({
    "alias", "alias_magic", "autoawait", "autocall", "autoindent", "automagic", "bookmark",
    "cat", "cd", "clear", "code_wrap", "colors", "conda", "config", "connect_info", "cp",
    "cpaste", "debug", "dhist", "dirs", "doctest_mode", "ed", "edit", "env", "gui", "hist",
    "history", "killbgscripts", "ldir", "less", "lf", "lk", "ll", "load", "load_ext",
    "loadpy", "logoff", "logon", "logstart", "logstate", "logstop", "ls", "lsmagic", "lx",
    "macro", "magic", "mamba", "man", "matplotlib", "micromamba", "mkdir", "more", "mv",
    "notebook", "page", "paste", "pastebin", "pdb", "pdef", "pdoc", "pfile", "pinfo", "pinfo2",
    "pip", "popd", "pprint", "precision", "prun", "psearch", "psource", "pushd", "pwd",
    "pycat", "pylab", "qtconsole", "quickref", "recall", "rehashx", "reload_ext", "rep",
    "rerun", "reset", "reset_selective", "rm", "rmdir", "run", "save", "sc", "set_env", "sx",
    "system", "tb", "time", "timeit", "unalias", "unload_ext", "uv", "who", "who_ls", "whos",
    "xdel", "xmode"})
SHELL_ALIASES = frozenset({"ls", "ll", "mkdir", "rmdir", "cat", "cp", "mv", "rm", "clear",
                           "less", "more", "man"})
_AUTOMAGIC = re.compile(r"^[ \t]*(" + "|".join(sorted(AUTOMAGICS | SHELL_ALIASES))
                        + r")[ \t]+\S", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Magic:
    """One piece of IPython syntax found in a cell.

    Attributes:
        kind: ``"line"`` (``%name``), ``"cell"`` (``%%name``), ``"shell"`` (``!cmd``) or
            ``"help"`` (``obj?``).
        name: the magic's name (``"pip"``, ``"matplotlib"``); for shell lines the command's first
            word (``"pip"``, ``"wget"``); for help lines the object asked about.
        args: everything after the name (for cell magics, the first line's arguments).
        line: 1-based line of the cell where it starts.
        end_line: last line it covers (continuations and cell bodies included).
        text: the original text it covers.
        assign_to: the names on the left of ``x = !cmd`` / ``x = %magic``, else empty.
        body: a cell magic's body (lines after the first), else ``""``.
    """

    kind: str
    name: str
    args: str
    line: int
    end_line: int
    text: str
    assign_to: tuple[str, ...] = ()
    body: str = ""

    @property
    def command(self) -> str:
        """The shell command or magic as one line: ``"pip install x"``."""
        return f"{self.name} {self.args}".strip()


@dataclass(frozen=True, slots=True)
class Masked:
    """A cell's source with IPython syntax replaced by Python of the same shape."""

    source: str
    magics: tuple[Magic, ...]
    #: Per 1-based line, how many columns were removed at its start (``%time x = 1``).
    col_shift: dict[int, int]
    #: The whole cell is a non-Python cell magic (``%%bash``, ``%%html``…): nothing to analyse.
    foreign: bool = False


def split_lines(source: str) -> list[str]:
    """Split like Python's tokenizer does: on ``\\r\\n``, ``\\r`` and ``\\n`` only."""
    if "\r" in source:
        source = source.replace("\r\n", "\n").replace("\r", "\n")
    return source.split("\n")


def mask(source: str, placeholders: bool = False) -> Masked:
    """Mask the IPython syntax of one cell.

    Args:
        source: the cell's source.
        placeholders: write ``# nb2pipe-magic:N`` after each masked line so that a rewritten cell
            can get its original lines back (see :func:`unmask`).
    """
    # Most cells have none of the three characters: three scans cost less than one search.
    if ("%" not in source and "!" not in source and "?" not in source
            or not _CANDIDATE.search(source)) and not _AUTOMAGIC.search(source):
        return Masked(source, (), {})
    lines = split_lines(source)
    return _Scanner(lines, placeholders).run()


def unmask(rewritten: str, original: str) -> str:
    """Put back the IPython lines that ``mask(original, placeholders=True)`` replaced.

    ``rewritten`` is the masked source after a tool (libcst) has edited it; masked lines carry a
    ``# nb2pipe-magic:N`` marker that survives such edits.
    """
    masked = mask(original, placeholders=True)
    if not masked.magics:
        return rewritten
    originals = split_lines(original)
    out: list[str] = []
    for line in split_lines(rewritten):
        marker = line.rfind("# nb2pipe-magic:")
        if marker == -1:
            out.append(line)
            continue
        tag = line[marker + len("# nb2pipe-magic:"):].strip()
        if tag.endswith("+"):
            continue  # a continuation line: its text came back with the magic's first line
        magic = masked.magics[int(tag)]
        out.extend(originals[magic.line - 1:magic.end_line if magic.kind != "cell" else magic.line])
    return "\n".join(out)


class _Scanner:
    """Walks physical lines, tracking strings, brackets and backslash continuations."""

    def __init__(self, lines: list[str], placeholders: bool) -> None:
        self.lines = lines
        self.placeholders = placeholders
        self.out: list[str] = []
        self.magics: list[Magic] = []
        self.col_shift: dict[int, int] = {}
        self.depth = 0
        self.string: str | None = None  # the open triple-quote delimiter, if any
        self.continued = False

    def mark(self, text: str, index: int, continuation: bool = False) -> str:
        if not self.placeholders:
            return text
        return f"{text}  # nb2pipe-magic:{index}{'+' if continuation else ''}"

    def run(self) -> Masked:
        lines = self.lines
        first = next((i for i, line in enumerate(lines) if line.strip()), None)
        start = 0
        # `%%capture out` / `%%time` run their body as a cell, which may start with a cell magic.
        while first is not None and lines[first].lstrip().startswith("%%"):
            start = self.cell_magic(first)
            if start < 0:
                return Masked("\n".join(self.out), tuple(self.magics), {}, foreign=True)
            first = next((i for i in range(start, len(lines)) if lines[i].strip()), None)
            if first is not None:
                self.out.extend("" for _ in range(start, first))
                start = first
        number = start
        while number < len(lines):
            line = lines[number]
            if self.depth == 0 and self.string is None and not self.continued:
                consumed = self.escape(number)
                if consumed:
                    number += consumed
                    continue
            self.out.append(line)
            self.scan(line)
            number += 1
        return Masked("\n".join(self.out), tuple(self.magics), self.col_shift)

    def cell_magic(self, first: int) -> int:
        """Handle a ``%%name`` first line. Returns where to go on, or -1 for a foreign cell."""
        lines = self.lines
        self.out.extend("" for _ in range(len(self.out), first))
        head = lines[first].strip()[2:]
        name, _, args = head.partition(" ")
        body = "\n".join(lines[first + 1:])
        if name in PYTHON_BODY_CELL_MAGICS:
            assign = ()
            if name == "capture":
                words = [w for w in args.split() if not w.startswith("-")]
                assign = tuple(words[:1])
            self.magics.append(Magic("cell", name, args.strip(), first + 1, first + 1,
                                     lines[first], assign, body))
            self.out.append(self.mark("", len(self.magics) - 1))
            return first + 1
        self.magics.append(Magic("cell", name, args.strip(), first + 1, len(lines),
                                 "\n".join(lines[first:]), (), body))
        self.out.append(self.mark("", len(self.magics) - 1))
        self.out.extend("" for _ in range(first + 1, len(lines)))
        return -1

    def escape(self, number: int) -> int:
        """Mask IPython syntax starting at line ``number``; return the lines consumed (0: none)."""
        line = self.lines[number]
        stripped = line.lstrip()
        if not stripped:
            return 0
        indent = line[: len(line) - len(stripped)]
        first = stripped[0]
        if first in "%!":
            end = self.continuation_end(number)
            text = "\n".join(self.lines[number:end + 1])
            if first == "!":
                command = stripped.lstrip("!")
                name, _, args = command.partition(" ")
                kind = "shell"
            else:
                if stripped.startswith("%%"):
                    return 0  # a cell magic below the first line is a syntax error in IPython too
                name, _, args = stripped[1:].partition(" ")
                kind = "line"
            args = self.joined_args(args, number, end)
            magic = Magic(kind, name, args.strip(), number + 1, end + 1, text)
            self.magics.append(magic)
            index = len(self.magics) - 1
            replacement = indent + "pass"
            if kind == "line" and name in PYTHON_ARG_LINE_MAGICS and end == number:
                statement = args.strip()
                if statement and not statement.startswith("-"):
                    replacement = indent + statement
                    self.col_shift[number + 1] = len(stripped) - len(statement)
            self.out.append(self.mark(replacement, index))
            self.out.extend(self.mark("", index, True) for _ in range(number + 1, end + 1))
            if replacement.strip() != "pass":
                self.scan(replacement)
            return end - number + 1
        match = _ASSIGN.match(line)
        if match and not _inside_code(line, match.start(3)):
            end = self.continuation_end(number)
            lhs = match.group(2)
            names = tuple(n.strip() for n in lhs.split(","))
            rest = match.group(4)
            if match.group(3) == "%":
                name, _, args = rest.partition(" ")
                kind = "line"
            else:
                name, _, args = rest.lstrip("!").partition(" ")
                kind = "shell"
            args = self.joined_args(args, number, end)
            self.magics.append(Magic(kind, name, args.strip(), number + 1, end + 1,
                                     "\n".join(self.lines[number:end + 1]), names))
            index = len(self.magics) - 1
            self.out.append(self.mark(f"{match.group(1)}{lhs} = ...", index))
            self.out.extend(self.mark("", index, True) for _ in range(number + 1, end + 1))
            return end - number + 1
        automagic = _AUTOMAGIC.match(line) \
            if len("\n".join(self.lines).splitlines()) == 1 else None
        if automagic and not _parses(stripped):
            name = automagic.group(1)
            args = stripped[len(name):].strip()
            self.magics.append(Magic("shell" if name in SHELL_ALIASES else "line", name, args,
                                     number + 1, number + 1, line))
            self.out.append(self.mark(indent + "pass", len(self.magics) - 1))
            return 1
        if first == "?" or (stripped.rstrip().endswith("?") and _ends_outside_code(stripped)):
            target = stripped.strip().strip("?").strip()
            self.magics.append(Magic("help", target, "", number + 1, number + 1, line))
            self.out.append(self.mark(indent + "pass", len(self.magics) - 1))
            return 1
        return 0

    def continuation_end(self, number: int) -> int:
        end = number
        while end + 1 < len(self.lines) and self.lines[end].rstrip().endswith("\\"):
            end += 1
        return end

    def joined_args(self, args: str, number: int, end: int) -> str:
        if end == number:
            return args
        parts = [args.rstrip().removesuffix("\\")]
        parts += [line.strip().removesuffix("\\") for line in self.lines[number + 1:end + 1]]
        return " ".join(p.strip() for p in parts if p.strip())

    def scan(self, line: str) -> None:
        """Advance the string/bracket/continuation state over one physical line."""
        position = 0
        length = len(line)
        while position < length:
            if self.string is not None:
                close = _find_close(line, position, self.string)
                if close == -1:
                    self.continued = False
                    return
                self.string = None
                position = close
                continue
            match = _SPECIAL.search(line, position)
            if match is None:
                break
            char = match.group()
            position = match.end()
            if char == "#":
                self.continued = False
                return
            if char in "([{":
                self.depth += 1
            elif char in ")]}":
                self.depth = max(0, self.depth - 1)
            elif char == "\\":
                if position >= length:
                    self.continued = True
                    return
                position += 1
            else:
                quote = char * 3 if line.startswith(char * 3, position - 1) else char
                position += len(quote) - 1
                close = _find_close(line, position, quote)
                if close == -1:
                    if len(quote) == 3:
                        self.string = quote
                        self.continued = False
                        return
                    # An unterminated one-line string: only a trailing backslash continues it.
                    self.continued = line.endswith("\\")
                    return
                position = close
        self.continued = False


def _parses(line: str) -> bool:
    """Whether one line is Python by itself (then IPython runs it as Python, not a magic)."""
    import ast

    try:
        ast.parse(line)
    except SyntaxError:
        return False
    return True


def _find_close(line: str, position: int, quote: str) -> int:
    """Index just after the closing ``quote`` (escapes honoured), or -1."""
    while True:
        found = line.find(quote, position)
        if found == -1:
            return -1
        backslashes = 0
        check = found - 1
        while check >= position and line[check] == "\\":
            backslashes += 1
            check -= 1
        if backslashes % 2 == 0:
            return found + len(quote)
        position = found + 1


def _inside_code(line: str, column: int) -> bool:
    """Whether ``column`` of ``line`` lies inside a string, a bracket or a comment."""
    scanner = _Scanner([], False)
    scanner.scan(line[:column])
    return scanner.depth > 0 or scanner.string is not None or "#" in line[:column]


def _ends_outside_code(stripped: str) -> bool:
    """Whether a trailing ``?`` is IPython help syntax rather than part of a string or comment."""
    text = _strip_strings(stripped.rstrip())
    return text.endswith("?") and "#" not in text


def _strip_strings(text: str) -> str:
    out = []
    position = 0
    while position < len(text):
        char = text[position]
        if char in "'\"":
            quote = char * 3 if text.startswith(char * 3, position) else char
            close = _find_close(text, position + len(quote), quote)
            if close == -1:
                return "".join(out)
            position = close
            continue
        out.append(char)
        position += 1
    return "".join(out)
