import ast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nb2pipe.notebook.magics import mask, unmask
from nb2pipe.notebook.reader import parse_code


@pytest.mark.parametrize("source,expected", [
    ("%matplotlib inline\nx = 1", "pass\nx = 1"),
    ("!pip install x\ny = 2", "pass\ny = 2"),
    ("files = !ls -l\nprint(files)", "files = ...\nprint(files)"),
    ("a, b = %sx echo 1", "a, b = ..."),
    ("len?\nlen??", "pass\npass"),
    ("if True:\n    !echo hi\n    x = 1", "if True:\n    pass\n    x = 1"),
    ("%time y = f(x)", "y = f(x)"),
    ("%%bash\necho 1\nls", "\n\n"),
    ("%%time\nz = 3", "\nz = 3"),
    ('s = """\n%not a magic\n!nor this\n"""', 's = """\n%not a magic\n!nor this\n"""'),
    ("x = (10\n% 3)", "x = (10\n% 3)"),
    ("d = {'a': 1}  # what?", "d = {'a': 1}  # what?"),
    ("q = 'is it?'", "q = 'is it?'"),
    ("!pip install a \\\n    b\nz = 1", "pass\n\nz = 1"),
])
def test_mask_replaces_ipython_syntax_keeping_lines(source, expected):
    masked = mask(source)
    assert masked.source == expected
    assert masked.source.count("\n") == source.count("\n")
    ast.parse(masked.source)


def test_magics_are_recorded_with_names_lines_and_targets():
    masked = mask("import os\n%pip install -q numpy\nout = !ls\n%%capture c")
    kinds = [(m.kind, m.name, m.line, m.assign_to) for m in masked.magics]
    assert kinds == [("line", "pip", 2, ()), ("shell", "ls", 3, ("out",))]
    capture = mask("%%capture out\nprint(1)").magics[0]
    assert (capture.kind, capture.name, capture.assign_to) == ("cell", "capture", ("out",))


def test_time_line_magic_keeps_columns_right():
    code = parse_code("%time model = fit(undefined_name)")
    assert code.error is None
    assert code.masked.col_shift == {1: len("%time ")}


def test_syntax_error_reports_the_line_in_the_cell():
    code = parse_code("%matplotlib inline\nx = 1\nprint 'old'")
    assert code.error is not None and code.error.line == 3


def test_unmask_restores_ipython_lines_after_a_rewrite():
    original = "%matplotlib inline\nx = 1\n!pip install a \\\n  b\ny = !ls"
    masked = mask(original, placeholders=True)
    rewritten = masked.source.replace("x = 1", "x = 2")
    assert unmask(rewritten, original) == original.replace("x = 1", "x = 2")


def test_agrees_with_ipython_on_what_is_ipython_syntax():
    """IPython's transformer is the reference: lines it rewrites, we mask; the rest we keep."""
    from IPython.core.inputtransformer2 import TransformerManager

    manager = TransformerManager()
    lines = ["%matplotlib inline", "!ls", "x = !ls", "y = %who_ls", "len?", "?len",
             "x = 5 % 3", "print('!')", "a = b ? c", "z = {'%': 1}", "    !echo indented",
             "if x != 3: pass", "%%%not"]
    for line in lines:
        source = line if not line.startswith("    ") else "if True:\n" + line
        transformed = manager.transform_cell(source)
        ipython_changed = transformed.rstrip("\n") != source.rstrip("\n")
        ours_changed = bool(mask(source).magics)
        assert ours_changed == ipython_changed, line


PYTHON = st.sampled_from(["x = 1", "print(x)", "def f(a):", "    return a", "y = [i for i in x]",
                          "'''doc'''", "z = (1,", "2)", "# a comment?", "s = 'a?'"])
IPYTHON = st.sampled_from(["%matplotlib inline", "!ls -l", "out = !pwd", "%time w = 2", "len?",
                           "%pip install x", "!pip install a \\", "%env A=1"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(PYTHON, IPYTHON), max_size=12))
def test_masking_never_changes_the_number_of_lines(lines):
    source = "\n".join(lines)
    masked = mask(source)
    assert masked.source.count("\n") == source.count("\n")
    parse_code(source)  # never raises, whatever the mix


# IPython's automagic, against IPython itself: a cell of one line that is not Python and
# starts with a line magic's name runs that magic; in a longer cell it does not.
_REGISTERED = ["pip", "conda", "cd", "load_ext", "matplotlib", "run", "env", "timeit", "time",
               "who", "reset", "history", "rm", "mkdir", "cat", "bookmark"]  # (loaded by default)
_WORDS = st.sampled_from(["install", "-q", "..", "data", "-f", "watermark", "x.py", "A=1",
                          "--upgrade", "numpy==2.1", "inline", "-n", "2", "a/b", "~"])


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(_REGISTERED), words=st.lists(_WORDS, min_size=1, max_size=3),
       more=st.booleans())
def test_automagic_is_what_ipython_runs_as_a_magic(name, words, more):
    import ast

    from IPython.core.interactiveshell import InteractiveShell

    line = f"{name} {' '.join(words)}"
    try:
        ast.parse(line)
        return  # Python by itself: analysed as Python (IPython too, once the name is bound)
    except SyntaxError:
        pass
    source = line + ("\nx = 1" if more else "")
    masked = mask(source)
    ipython = InteractiveShell.instance().transform_cell(source)
    assert bool(masked.magics) == ("run_line_magic" in ipython), (source, ipython)
    if masked.magics:
        assert masked.magics[0].name == name and masked.source.strip() == "pass"
