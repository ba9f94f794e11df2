"""The sample notebooks show what they are for: the level-0 one is full of findings, the
tagged one is clean."""

from collections import Counter

from nb2pipe.lint.registry import RULES
from nb2pipe.lint.runner import lint_file


def codes(path):
    return Counter(d.code for d in lint_file(str(path), set(RULES)).diagnostics)


def test_level0_notebook_shows_the_level0_habits(samples):
    found = codes(samples / "level0_classifier.ipynb")
    for code in ("NB101", "NB102", "NB103", "NB104", "NB105", "NB106", "NB201", "NB202",
                 "NB203", "NB204", "NB209", "NB301", "NB302", "NB303", "NB304", "NB305",
                 "NB501"):
        assert found[code], code


def test_tagged_pipeline_notebook_is_clean(samples):
    assert codes(samples / "classifier_pipeline.ipynb") == Counter()


def test_report_and_magics_notebooks_parse_and_run_in_order(samples):
    for name in ("wine_report.ipynb", "magics_tour.ipynb"):
        found = codes(samples / name)
        assert not any(code.startswith(("NB1", "NB4", "NB9")) for code in found), (name, found)
