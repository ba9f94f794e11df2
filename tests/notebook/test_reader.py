import json

import pytest

from nb2pipe.notebook import NotebookError, notebook_from_percent, read_notebook
from nb2pipe.notebook.reader import notebook_from_bytes


def _write(tmp_path, content, name="nb.ipynb"):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


@pytest.mark.parametrize("content,fragment", [
    ("", "empty"),
    ("{not json", "not valid JSON"),
    ("[1, 2]", "not a notebook"),
    ('{"foo": 1}', "no `cells`"),
    ('{"nbformat": 5, "cells": []}', "unsupported nbformat"),
    ('{"nbformat": 4, "cells": {}}', "`cells` is an object"),
    ('{"nbformat": 4, "cells": [{"cell_type": "code", "source": 3}]}', "cell 1: `source`"),
    ('{"nbformat": 4, "cells": [{"cell_type": "image"}]}', "cell 1 has cell_type"),
    (b"\xff\xfe\x00junk", "not UTF-8"),
])
def test_bad_files_raise_notebook_errors_with_a_clear_message(tmp_path, content, fragment):
    with pytest.raises(NotebookError) as raised:
        read_notebook(_write(tmp_path, content))
    assert fragment in raised.value.message
    assert raised.value.code == "NB901"


def test_missing_file_is_a_notebook_error(tmp_path):
    with pytest.raises(NotebookError, match="cannot read"):
        read_notebook(tmp_path / "nope.ipynb")


def test_nbformat_3_is_upgraded():
    v3 = {"nbformat": 3, "nbformat_minor": 0, "metadata": {"name": "old"},
          "worksheets": [{"cells": [{"cell_type": "code", "input": "x = 1\nprint(x)",
                                     "language": "python", "outputs": [],
                                     "prompt_number": 1}]}]}
    notebook = notebook_from_bytes(json.dumps(v3).encode())
    assert notebook.cells[0].source == "x = 1\nprint(x)"
    assert notebook.cells[0].execution_count == 1


def test_source_lists_are_joined_and_tags_ids_kept(tmp_path):
    raw = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "id": "abc", "metadata": {"tags": ["parameters"]},
         "source": ["a = 1\n", "b = 2"], "execution_count": 3, "outputs": []}]}
    notebook = read_notebook(_write(tmp_path, json.dumps(raw)))
    cell = notebook.cells[0]
    assert (cell.source, cell.id, cell.tags, cell.execution_count) == \
        ("a = 1\nb = 2", "abc", ("parameters",), 3)
    assert cell.tree is not None


def test_percent_format_reads_headers():
    notebook = notebook_from_percent('# %% [markdown]\n# # Title\n# %% tags=["x"] '
                                     'execution_count=4\ny = 1\n')
    assert [c.cell_type for c in notebook.cells] == ["markdown", "code"]
    assert notebook.cells[0].source == "# Title"
    assert notebook.cells[1].tags == ("x",) and notebook.cells[1].execution_count == 4


def test_kernel_language():
    notebook = notebook_from_percent("# %%\nx <- 1\n", metadata={
        "kernelspec": {"name": "ir", "language": "R"}})
    assert notebook.language == "r"


def test_python_warnings_about_cell_code_are_neither_printed_nor_errors(recwarn):
    import warnings

    # `"\d"` is an invalid escape: Python warns (SyntaxWarning from 3.12), and under
    # `-W error` the warning would make the cell look unparsable.
    text = '# %%\nimport re\npattern = re.compile("\\d+")\n'
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        notebook = notebook_from_percent(text)
    assert notebook.cells[0].code.error is None
    assert notebook.cells[0].tree is not None
    assert not [w for w in recwarn if "escape" in str(w.message)]
