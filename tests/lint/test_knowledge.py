"""What the rules know about the libraries stays consistent with how the rules look it up."""

import pytest

from nb2pipe.analysis import NotebookAnalysis
from nb2pipe.analysis.knowledge import RANDOM_SOURCES, SOURCE_OF_MODULE
from nb2pipe.lint.rules.missing_random_seed import unseeded_draws
from nb2pipe.notebook import notebook_from_percent


@pytest.mark.parametrize("source", RANDOM_SOURCES, ids=lambda s: s.name)
def test_every_draw_and_seed_of_a_random_source_is_found_through_its_module(source):
    # NB202 looks a call's source up by its top-level module: a draw listed under another
    # module would never be seen.
    for name in source.draws | source.seeds | source.skip:
        assert SOURCE_OF_MODULE[name.partition(".")[0]] is source, name


def test_draws_seeds_and_skipped_calls_of_numpy():
    numpy = SOURCE_OF_MODULE["numpy"]
    assert numpy.draws_from("numpy.random.normal")
    assert not numpy.draws_from("numpy.random.seed")
    assert not numpy.draws_from("numpy.random.SeedSequence")
    assert not numpy.draws_from("numpy.random.Generator.normal")  # a skipped prefix
    assert not numpy.draws_from("numpy.array")
    analysis = NotebookAnalysis(notebook_from_percent(
        "# %%\nimport numpy as np\nimport random\nx = np.array([1])\n"
        "y = np.random.normal(size=3)\nrandom.seed(1)\nz = random.random()\n"))
    assert set(unseeded_draws(analysis)) == {"numpy"}


def test_names_a_helper_beside_the_notebook_exports_are_defined_for_nb105(tmp_path):
    """`from helper import *` with helper.py beside the notebook defines what helper exports
    (its `__all__`, else its public names), for NB105 as for NB106."""
    from tests.helpers import run_cli, write_notebook

    source = ("# %%\nfrom helper import *\n# %%\nx = clean(3)\n"
              "# %%\ndef clean(value):\n    return value\n")
    write_notebook(tmp_path / "nb.ipynb", source)
    (tmp_path / "helper.py").write_text("import os\n\ndef clean(value):\n    return value\n"
                                        "_private = 1\n")
    code, out, _ = run_cli("check", tmp_path / "nb.ipynb", "--select", "NB105,NB106",
                           "--output-format", "concise")
    assert code == 0 and "NB105" not in out
    (tmp_path / "helper.py").write_text("__all__ = ['other']\n\ndef clean(v):\n    return v\n"
                                        "def other():\n    pass\n")
    import os

    os.utime(tmp_path / "helper.py", ns=(1, 10**18))  # (a new stamp, whatever the clock)
    code, out, _ = run_cli("check", tmp_path / "nb.ipynb", "--select", "NB105,NB106",
                           "--output-format", "concise")  # the cache sees helper.py change
    assert "NB105 `clean` is used before cell 3 defines it" in out
