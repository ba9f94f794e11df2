"""Reading and checking are total: whatever the input, a diagnostic or a clean run, never a
traceback."""

import json
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nb2pipe.lint.runner import lint_file, lint_notebook
from nb2pipe.notebook import NotebookError
from nb2pipe.notebook.reader import notebook_from_bytes, notebook_from_dict

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted((ROOT / "sample_notebooks").glob("*.ipynb"))
CORPUS = ROOT.parent / "shared" / "corpus"

SOURCES = st.sampled_from([
    "import numpy as np\nx = np.random.rand(3)", "print 'py2'", "%matplotlib inline",
    "!pip install pandas", "def f(:\n", "x = !ls", "lambda: (yield)", "class A:\n  def m(s): return q",
    "for i in range(3):\n\tpass", "api_key = 'AKIAIOSFODNN7EXAMPL3'", "\x00\x01", "'''unterminated",
    "%%bash\nrm -rf /", "await thing()", "global g\ng = 1", "nonlocal z", "return 1", "yield 2",
    "f(**{'a': 1})", "del x[0], y", "[x := 1 for x in y]", "match x:\n case {'a': b}: pass",
    "try:\n  pass\nexcept* E:\n  pass", "x: 'int' = 'C:\\\\data'", "((((((((((((((1))))))))))))))",
    "del x", "from __future__ import annotations\ndef f(a: B) -> C: pass", "_1 + _i2",
    "import pandas as pd\ns = df.sample(frac=0.5)", "import torch.nn as nn\nl = nn.Linear(3, 4)",
    "from sklearn.model_selection import train_test_split as tts\n"
    "X_train, X_test, y_train, y_test = tts(X, y)\nm.score(X_test, y_test)",
    "X_test = other\nm.predict(X_test)", "wandb.login(key='3f9a1c07be42d85e6a0b7c19f2e84d5a6c0b3e71')",
    "%timeit RandomForestClassifier().fit(X, y)", "joblib.dump(m, PATH)", "xrange(3)",
    "df.a.fillna(df.a.mean(), inplace=True)\nX = (X - X.mean()) / X.std()\nX = 1 + 2",
    # as deep as CPython parses: every rule must walk it without recursing
    "from sklearn.model_selection import train_test_split\nX = X - X.mean()" + " + 1" * 900 +
    "\nfit(" + "[" * 90 + "]" * 90 + ")\na, b = train_test_split(X)",
]) | st.text(max_size=80)

JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8),
                                                                      children, max_size=4),
    max_leaves=12)


def cell_strategy():
    return st.fixed_dictionaries(
        {"cell_type": st.sampled_from(["code", "markdown", "raw", "code"]),
         "source": SOURCES | st.lists(SOURCES, max_size=3)},
        optional={"execution_count": st.none() | st.integers(-5, 50) | JSONISH,
                  "outputs": st.lists(st.fixed_dictionaries(
                      {"output_type": st.sampled_from(["error", "stream", "execute_result"])},
                      optional={"text": JSONISH, "ename": JSONISH, "evalue": JSONISH,
                                "data": JSONISH}), max_size=2) | JSONISH,
                  "metadata": st.fixed_dictionaries({}, optional={"tags": JSONISH}) | JSONISH,
                  "id": JSONISH})


NOTEBOOKS = st.fixed_dictionaries(
    {"cells": st.lists(cell_strategy(), max_size=6)},
    optional={"nbformat": st.sampled_from([4, 3, 5, "4", None]),
              "nbformat_minor": JSONISH, "metadata": JSONISH | st.fixed_dictionaries(
                  {}, optional={"kernelspec": JSONISH, "nb2pipe": JSONISH})})


def _check_total(raw):
    try:
        notebook = notebook_from_dict(raw, "<fuzz>.ipynb")
    except NotebookError as error:
        assert error.message
        return
    for diagnostic in lint_notebook(notebook, with_project=False):
        assert diagnostic.message


@pytest.mark.slow
@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(NOTEBOOKS)
def test_generated_notebooks_never_crash(raw):
    _check_total(raw)


@settings(max_examples=700, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(SAMPLES), st.randoms(use_true_random=False), st.integers(0, 3))
def test_corrupted_real_notebooks_never_crash(path, rng: random.Random, how):
    data = bytearray(path.read_bytes())
    if how == 0:  # truncated JSON
        data = data[: rng.randrange(len(data))]
    elif how == 1:  # random bytes
        for _ in range(rng.randrange(1, 20)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif how == 2:  # random bytes inside a cell's source
        raw = json.loads(data)
        cell = rng.choice(raw["cells"])
        text = "".join(cell["source"])
        position = rng.randrange(len(text) + 1)
        cell["source"] = text[:position] + "".join(chr(rng.randrange(1, 0x3000))
                                                   for _ in range(5)) + text[position:]
        data = json.dumps(raw).encode()
    else:  # wrong types in random places
        raw = json.loads(data)
        cell = rng.choice(raw["cells"])
        key = rng.choice(["source", "metadata", "outputs", "execution_count", "cell_type"])
        cell[key] = rng.choice([None, 3, [1, 2], {"a": 1}, "text", True])
        data = json.dumps(raw).encode()
    try:
        notebook = notebook_from_bytes(bytes(data), str(path))
    except NotebookError as error:
        assert error.message
        return
    lint_notebook(notebook, with_project=False)


def test_huge_output_is_read(tmp_path):
    raw = json.loads(SAMPLES[0].read_bytes())
    raw["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout",
                                   "text": "x" * (50 * 1024 * 1024)}]
    path = tmp_path / "huge.ipynb"
    path.write_text(json.dumps(raw))
    result = lint_file(str(path), {"NB104", "NB501", "NB106"})
    assert result.crashed is None


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus is not next to this clone")
def test_the_real_corpus_checks_without_a_crash():
    from nb2pipe.lint.config import Settings
    from nb2pipe.lint.registry import RULES
    from nb2pipe.lint.runner import collect_notebooks, lint_files

    files = collect_notebooks([str(CORPUS)])
    results = lint_files(files, set(RULES), Settings())
    crashed = [(r.path, r.crashed) for r in results if r.crashed]
    assert crashed == []
    assert len(files) > 300


@pytest.mark.slow
@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus is not next to this clone")
def test_safe_fixes_make_no_new_findings_on_the_corpus(tmp_path):
    """`check --fix` on every corpus notebook (a copy): per notebook and rule, the findings
    after are at most those before minus the ones fixed. A fix that inserts a cell (never
    run), imports, or writes a seed must not make a finding of its own."""
    import shutil
    from collections import Counter

    from tests.helpers import corpus_share, keep_only, run_cli

    copy = tmp_path / "corpus"
    shutil.copytree(CORPUS, copy, ignore=shutil.ignore_patterns(".git"))
    keep_only(copy, corpus_share(list(CORPUS.rglob("*.ipynb"))), CORPUS)

    def findings() -> Counter:
        code, out, _ = run_cli("check", copy, "--output-format", "json", "--exit-zero",
                               "--no-cache")
        return Counter((d["path"], d["code"]) for d in json.loads(out)["diagnostics"])

    before = findings()
    code, out, err = run_cli("check", copy, "--fix", "--exit-zero", "--no-cache",
                             "--output-format", "json")
    assert "Fixed" in err
    after = findings()
    new = {key: after[key] - before[key] for key in after if after[key] > before[key]}
    assert new == {}, sorted(new.items())[:10]
    assert sum(after.values()) < sum(before.values())


@pytest.mark.slow
@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus is not next to this clone")
def test_what_check_says_it_can_fix_is_what_fix_fixes_on_the_corpus(tmp_path):
    """Honest counts (issue S, point 3), per notebook: after `check --fix`, no finding
    remains that says a safe fix is available; after `--fix --unsafe-fixes`, none that says
    any fix is; and the unsafe fixes, like the safe ones, make no finding the notebook did not
    have (each rule's count after is at most its count before: NB301's fix declares the
    mlflow it imports, so no NB205 follows)."""
    import shutil
    from collections import Counter

    from tests.helpers import corpus_share, keep_only, run_cli

    copy = tmp_path / "corpus"
    shutil.copytree(CORPUS, copy, ignore=shutil.ignore_patterns(".git"))
    keep_only(copy, corpus_share(list(CORPUS.rglob("*.ipynb"))), CORPUS)

    def findings() -> list[dict]:
        code, out, _ = run_cli("check", copy, "--output-format", "json", "--exit-zero",
                               "--no-cache")
        return json.loads(out)["diagnostics"]

    def offered(found: list[dict], kinds: tuple[str, ...]) -> Counter:
        return Counter((d["path"], d["code"]) for d in found
                       if d.get("fix") and d["fix"].get("applicability") in kinds)

    before = findings()
    # what `--fix` reports is what is left after its fixes (the last check below is fresh)
    code, out, _ = run_cli("check", copy, "--fix", "--exit-zero", "--no-cache",
                           "--output-format", "json")
    left = offered(json.loads(out)["diagnostics"], ("safe",))
    assert left == Counter(), f"offered a safe fix that --fix did not apply: " \
                              f"{sorted(left.items())[:10]}"
    run_cli("check", copy, "--fix", "--unsafe-fixes", "--exit-zero", "--no-cache")
    after = findings()
    left = offered(after, ("safe", "unsafe"))
    assert left == Counter(), f"offered a fix that --unsafe-fixes did not apply: " \
                              f"{sorted(left.items())[:10]}"
    counts_before = Counter((d["path"], d["code"]) for d in before)
    counts_after = Counter((d["path"], d["code"]) for d in after)
    new = {key: counts_after[key] - counts_before[key] for key in counts_after
           if counts_after[key] > counts_before[key]}
    assert new == {}, sorted(new.items())[:10]


@pytest.mark.slow
def test_safe_fixes_are_proven_by_running_the_samples_before_and_after():
    """The fix-and-execute harness (benchmarks/bench_fixes.py) on the sample notebooks: each
    runs top to bottom, is fixed with `check --fix` (and, on another copy, `--unsafe-fixes`),
    and runs again with no new exception; where the fix seeded it, two runs of the fixed
    notebook show the same outputs. (The harness over the whole corpus takes an hour: it is a
    benchmark, and its figures are in benchmarks/README.md.)"""
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_fixes import bench_one

    seeded = []
    for name in ("churn_level0.ipynb",):  # (level0_classifier does not run top to bottom:
        # it is the out-of-order example)
        result = bench_one(ROOT / "sample_notebooks" / name, timeout=240)
        assert result.get("executable"), (name, result.get("why"))
        for mode in ("safe", "unsafe"):
            entry = result[mode]
            assert entry["changed"], (name, mode)
            assert entry["runs"], (name, mode, entry.get("error"))
            if entry.get("seeded"):
                seeded.append(name)
                assert entry["deterministic"], (name, mode, entry.get("differs"))
    assert seeded  # a fix seeded something, and the seeded runs agreed


CORPUS_REPOSITORIES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir()) \
    if CORPUS.is_dir() else []


@pytest.mark.slow
@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus is not next to this clone")
@pytest.mark.parametrize("repository", CORPUS_REPOSITORIES)
def test_convert_auto_never_ends_in_a_traceback_on_the_corpus(tmp_path, repository):
    """`convert --auto` on every corpus notebook, with the gate it chooses and with
    `--gate accuracy>=champion`: a pipeline, or a clear message (exit 1 or 2) — never a
    traceback, never a half-written folder, never a changed notebook."""
    import hashlib
    import re
    import shutil

    from tests.helpers import corpus_share, run_cli

    traceback = re.compile(r"^Traceback \(most recent call last\)", re.M)
    problems = []
    notebooks = corpus_share([p for p in (CORPUS / repository).rglob("*.ipynb")
                              if ".ipynb_checkpoints" not in p.parts])
    for number, original in enumerate(notebooks):
        folder = tmp_path / str(number)
        folder.mkdir()
        notebook = folder / original.name
        shutil.copyfile(original, notebook)
        digest = hashlib.sha256(notebook.read_bytes()).hexdigest()
        for gate in ([], ["--gate", "accuracy>=champion"]):
            output = folder / ("gated" if gate else "pipeline")
            code, out, err = run_cli("convert", "--auto", notebook, "-o", output, "--force",
                                     *gate)
            where = f"{original.relative_to(CORPUS)} {' '.join(gate)}"
            if traceback.search(out + err) or code not in (0, 1, 2):
                problems.append(f"{where}: exit {code}: {err[-300:]}")
            elif code != 0 and (output.exists() or not err.strip()):
                problems.append(f"{where}: exit {code} left {output.name}/ or said nothing")
        if hashlib.sha256(notebook.read_bytes()).hexdigest() != digest:
            problems.append(f"{original.relative_to(CORPUS)}: the notebook was changed")
    assert problems == []
    assert notebooks
