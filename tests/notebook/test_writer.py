"""Writes are byte-faithful: a notebook written back keeps its file's layout (indent, key
order, escaping of non-ASCII text, the final newline, sources as lines or as one string), so
that a fixed notebook's diff touches only the cells that changed."""

import difflib
import json

import pytest

from nb2pipe.notebook import read_notebook
from nb2pipe.notebook.writer import dumps, style_of
from tests.conftest import CORPUS
from tests.helpers import run_cli


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus is not next to this clone")
def test_every_corpus_notebook_round_trips_byte_for_byte():
    differing = []
    for path in sorted(CORPUS.rglob("*.ipynb")):
        text = path.read_bytes().decode("utf-8-sig")
        if dumps(read_notebook(path).raw, style_of(text)) != text:
            differing.append(str(path.relative_to(CORPUS)))
    assert not differing, differing[:5]


def _notebook(style: dict) -> str:
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": "# Données: café\n"},
        {"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [],
         "source": "from sklearn.model_selection import train_test_split\n"
                   "label = 'résumé'"},
        {"cell_type": "code", "execution_count": 2, "metadata": {}, "outputs": [],
         "source": "a, b = train_test_split(X, test_size=0.2)"},
        {"cell_type": "code", "execution_count": 3, "metadata": {}, "outputs": [],
         "source": "print(label)"},
    ]
    if style.get("lines"):
        for cell in cells:
            cell["source"] = cell["source"].splitlines(True)
    notebook = {"metadata": {"kernelspec": {"name": "python3", "language": "python",
                                            "display_name": "Python 3"}},
                "nbformat": 4, "nbformat_minor": 4, "cells": cells}  # keys not sorted
    text = json.dumps(notebook, indent=style.get("indent"), ensure_ascii=style["ascii"],
                      sort_keys=style.get("sorted", False))
    return text + ("\n" if style.get("newline") else "")


STYLES = [
    {"indent": 2, "ascii": True, "newline": False},  # VS Code-like, escaped, no newline
    {"indent": 1, "ascii": False, "newline": True, "sorted": True, "lines": True},  # Jupyter
    {"indent": 4, "ascii": False, "newline": True, "lines": True},
    {"indent": None, "ascii": True, "newline": False},  # one line
]


@pytest.mark.parametrize("style", STYLES)
def test_a_fix_changes_only_the_lines_of_the_cells_it_fixes(tmp_path, style):
    path = tmp_path / "nb.ipynb"
    original = _notebook(style)
    path.write_text(original, encoding="utf-8")
    assert dumps(read_notebook(path).raw, style_of(original)) == original  # no fix: same bytes
    code, _, err = run_cli("check", str(path), "--fix", "--select", "NB203", "--exit-zero")
    assert code == 0, err
    fixed = path.read_text(encoding="utf-8")
    assert fixed.endswith("\n") == original.endswith("\n")
    assert ("\\u00e9" in fixed) == style["ascii"] and ("é" in fixed) != style["ascii"]
    if style["indent"] is None:
        assert "\n" not in fixed.rstrip("\n")
        return
    removed = [line for line in difflib.ndiff(original.splitlines(), fixed.splitlines())
               if line.startswith("- ")]
    # only the call's line changes (the parameters cell with SEED is added, nothing removed)
    assert len(removed) == 1 and "train_test_split(X, test_size=0.2)" in removed[0]
    after = json.loads(fixed)
    assert list(after) == list(json.loads(original))  # key order kept
    assert "random_state=SEED" in "".join(after["cells"][3]["source"])
