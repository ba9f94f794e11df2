"""MLflow imported for autologging at less cost (nb2pipe.mlflowimport): generated packages
whose ``__init__`` runs on first use answer every import and every name as an ordinary import
does, and run nothing of their ``__init__`` before they are asked; entry points read once
answer every group as reading them each time does, and are read again after the set-up; a
step's kernel set up by ``start_step`` leaves MLflow's GenAI and gateway packages unrun, reads
the installed distributions once, and logs what it logged with MLflow imported as usual. Real
imports, real distributions, real MLflow, real fits."""

import importlib
import itertools
import json
import os
import subprocess
import sys
import textwrap

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from nb2pipe.mlflowimport import deferred, entry_points_read_once
from tests.helpers import without_stamps

SUBMODULES = ("alpha", "beta", "gamma")
_NUMBERS = itertools.count()

# What an __init__ may hold: imports of submodules, names from them, __all__, and perhaps a
# statement that does something (the package is then imported as usual).
init_lines = st.lists(st.sampled_from(
    [f"from . import {m}" for m in SUBMODULES]
    + [f"from .{m} import VALUE as {m}_value" for m in SUBMODULES]
    + [f"import {{package}}.{m}" for m in SUBMODULES]), max_size=4, unique=True)
# What each submodule imports from its siblings before it names its own VALUE: cycles whose
# outcome depends on which module Python imports first (the __init__'s order, or a
# submodule's own).
sibling_lines = st.fixed_dictionaries({m: st.lists(st.sampled_from(
    [f"from {{package}}.{o} import VALUE as {o}_seen" for o in SUBMODULES if o != m]
    + [f"from {{package}} import {o}" for o in SUBMODULES if o != m]),
    max_size=2, unique=True) for m in SUBMODULES})
# What a user then does with the package, in order.
uses = st.lists(st.one_of(
    st.tuples(st.just("import"), st.sampled_from(SUBMODULES)),
    st.tuples(st.just("name"), st.sampled_from(
        [f"{m}_value" for m in SUBMODULES] + list(SUBMODULES) + ["missing", "__all__"])),
    st.tuples(st.just("star"), st.just(""))), max_size=5)


def _package(root, lines: list[str], acts: bool, exports: bool,
             siblings: dict | None = None) -> str:
    """A package under ``root`` with a fresh name; each module's execution is journaled."""
    package = f"deferred_case_{os.getpid()}_{next(_NUMBERS)}"
    folder = root / package
    folder.mkdir()
    journal = f"import {package}_journal as _journal\n"
    (root / f"{package}_journal.py").write_text("ran = []\n")
    init = [line.format(package=package) for line in lines]
    if exports:
        names = [line.split(" as ")[-1] for line in lines if " as " in line]
        init.append(f"__all__ = {names!r}")
    if acts:
        init.insert(0, journal + "_journal.ran.append('__init__')")
    (folder / "__init__.py").write_text('"""A generated package."""\n' + "\n".join(init) + "\n")
    for number, name in enumerate(SUBMODULES):
        imports = "".join(line.format(package=package) + "\n"
                          for line in (siblings or {}).get(name, []))
        (folder / f"{name}.py").write_text(
            journal + f"_journal.ran.append({name!r})\n{imports}VALUE = {number * 10 + 7}\n"
            f"_journal.ran.append({name + ' done'!r})\n")
    return package


def _observe(package: str, module, steps: list) -> list:
    """What each use gives: a value, the names a star import binds, or the error's type."""
    seen = []
    for kind, name in steps:
        try:
            if kind == "import":
                imported = importlib.import_module(f"{package}.{name}")
                seen.append(("import", imported.VALUE))
            elif kind == "name":
                value = getattr(module, name)
                seen.append(("name", getattr(value, "VALUE", value)))
            else:
                space: dict = {}
                exec(f"from {package} import *", space)
                seen.append(("star", sorted(_own(space, package))))
        except (AttributeError, ImportError) as error:
            seen.append((kind, type(error).__name__))
    return seen


def _own(names, package: str) -> set[str]:
    """The public names of a namespace, the package's own name (``import package.alpha`` in
    its ``__init__`` binds it) written the same for every package."""
    return {"PACKAGE" if k == package else k for k in names if not k.startswith("__")}


def _forget(package: str) -> None:
    for name in [n for n in sys.modules if n == package or n.startswith(package + ".")
                 or n == package + "_journal"]:
        del sys.modules[name]


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(init_lines, st.booleans(), st.booleans(), sibling_lines, uses)
@example(lines=["from . import alpha", "from .beta import VALUE as beta_value"], acts=False,
         exports=True, siblings={}, steps=[("import", "gamma"), ("name", "beta_value"),
                                           ("star", "")])
@example(  # MLflow's GenAI package: a submodule first, and a cycle its __init__'s order avoids
    lines=["from . import alpha", "from . import beta"], acts=False, exports=False,
    siblings={"alpha": ["from {package}.beta import VALUE as beta_seen"],
              "beta": ["from {package} import gamma"],
              "gamma": ["from {package}.alpha import VALUE as alpha_seen"]},
    steps=[("import", "gamma"), ("name", "alpha")])
def test_a_deferred_package_answers_as_an_imported_one(tmp_path_factory, lines, acts,
                                                       exports, siblings, steps):
    """Every use answers as it does after an ordinary import, and runs the same modules in
    the same order: the ``__init__`` first, whatever is asked first."""
    root = tmp_path_factory.mktemp("packages")
    sys.path.insert(0, str(root))
    try:
        usual = _package(root, lines, acts, exports, siblings)
        try:
            imported = importlib.import_module(usual)
        except ImportError:  # (a package that cannot be imported at all: nothing to defer)
            assume(False)
        expected = _observe(usual, imported, steps)
        getattr(imported, "anything", None)
        ran = importlib.import_module(usual + "_journal").ran

        package = _package(root, lines, acts, exports, siblings)
        with deferred([package]):
            module = importlib.import_module(package)
        journal = importlib.import_module(package + "_journal")
        if acts:  # it does something: imported as usual, at once
            assert "__init__" in journal.ran
        else:  # nothing of its __init__ has run, none of its submodules
            assert journal.ran == []
            assert not any(m.startswith(package + ".") for m in sys.modules)
            assert module.__path__ and module.__spec__.name == package
        assert _observe(package, module, steps) == expected
        # once asked, it has run what the usual import ran, in the same order, holds what it
        # holds, and is the module imported
        getattr(module, "anything", None)
        assert journal.ran == ran
        assert _own(vars(module), package) == _own(vars(imported), usual)
        assert "__getattr__" not in vars(module)
        assert sys.modules[package] is module
        assert importlib.import_module(package) is module
    finally:
        sys.path.remove(str(root))
        sys.meta_path[:] = [f for f in sys.meta_path if type(f).__module__ !=
                            "nb2pipe.mlflowimport"]
        for name in [n for n in sys.modules if n.startswith("deferred_case_")]:
            del sys.modules[name]


def test_the_init_runs_once_and_only_when_asked(tmp_path):
    sys.path.insert(0, str(tmp_path))
    try:
        package = _package(tmp_path, ["from . import alpha"], False, False)
        with deferred([package]):
            module = importlib.import_module(package)
        journal = importlib.import_module(package + "_journal")
        assert journal.ran == []
        assert module.alpha.VALUE == 7  # the first name asked runs it
        assert journal.ran == ["alpha", "alpha done"]
        with pytest.raises(AttributeError, match="has no attribute 'gamma'"):
            module.gamma  # noqa: B018 (asked again: no second run)
        assert journal.ran == ["alpha", "alpha done"]
        importlib.import_module(f"{package}.beta")  # a submodule: imported as usual
        assert journal.ran == ["alpha", "alpha done", "beta", "beta done"]
    finally:
        sys.path.remove(str(tmp_path))
        _forget(package)


def _groups() -> list[str]:
    import importlib.metadata

    return sorted(importlib.metadata.entry_points().groups)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.one_of(st.sampled_from(_groups()), st.text(min_size=1, max_size=12)),
                max_size=6),
       st.sampled_from(["group", "name", "module"]))
def test_entry_points_read_once_answer_as_reading_them_each_time(groups, key):
    import importlib.metadata

    usual = importlib.metadata.entry_points
    expected = [sorted(usual(**{key: g})) for g in groups]
    reads = []
    distributions = importlib.metadata.distributions

    def counted(**options):
        reads.append(options)
        return distributions(**options)

    importlib.metadata.distributions = counted
    try:
        with entry_points_read_once():
            answers = [sorted(importlib.metadata.entry_points(**{key: g})) for g in groups]
    finally:
        importlib.metadata.distributions = distributions
    assert answers == expected
    assert len(reads) == (1 if groups else 0)
    assert importlib.metadata.entry_points is usual


def test_entry_points_are_read_again_after_the_set_up(tmp_path):
    """Something installed after the set-up is found, also through a name bound during it."""
    import importlib.metadata

    with entry_points_read_once():
        bound = importlib.metadata.entry_points
        assert not bound(group="nb2pipe.test_plugins")
    info = tmp_path / "nb2pipe_test_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: nb2pipe-test-plugin\n"
                                   "Version: 1.0\n")
    (info / "entry_points.txt").write_text("[nb2pipe.test_plugins]\nhello = json:dumps\n")
    sys.path.insert(0, str(tmp_path))
    try:
        assert [e.name for e in bound(group="nb2pipe.test_plugins")] == ["hello"]
    finally:
        sys.path.remove(str(tmp_path))


# A tracked step's set-up, as a step's kernel runs it, then one fit; prints what was logged,
# whether MLflow's GenAI and gateway packages ran, and that they still answer when asked.
SCRIPT = textwrap.dedent(r'''
    import json, os, sys, uuid
    mode, folder = sys.argv[1], sys.argv[2]
    if mode == "usual":
        import mlflow  # imported in full before the step's set-up
    from nb2pipe import runtime
    from nb2pipe.autologbuffer import read_entries
    run_id = uuid.uuid4().hex
    buffer = os.path.join(folder, mode + ".jsonl")
    tracking = {"train": {"run_id": run_id, "uri": "sqlite:///unused.db", "buffer": buffer,
                          "experiment_id": "0", "artifact_uri": "file://" + folder}}
    import importlib.metadata
    reads, distributions = [], importlib.metadata.distributions
    importlib.metadata.distributions = lambda **o: reads.append(o) or distributions(**o)
    runtime.start_step("train", json.dumps({"tracking": tracking}), autolog=["sklearn"])
    importlib.metadata.distributions = distributions
    import mlflow
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    X, y = load_iris(return_X_y=True)
    LogisticRegression(max_iter=300).fit(X, y)
    runtime.end_step()
    unrun = [name for name in ("mlflow.genai", "mlflow.gateway")
             if name not in sys.modules or "__all__" not in vars(sys.modules[name])]
    # MLflow's SQLAlchemy store, opened after the set-up (a notebook's own client), imports
    # submodules of mlflow.genai: the package's __init__ runs first, as it would have
    client = mlflow.MlflowClient(tracking_uri="sqlite:///" + os.path.join(folder, mode + ".db"))
    client.search_experiments()
    from mlflow.genai import evaluate
    from mlflow.gateway import get_gateway_uri
    print(json.dumps({"entries": read_entries(buffer), "unrun": unrun, "reads": len(reads),
                      "answers": [callable(evaluate), callable(get_gateway_uri)]}))
''')


def _step(mode: str, folder) -> dict:
    done = subprocess.run([sys.executable, "-c", SCRIPT, mode, str(folder)], cwd=folder,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true",
                               "NB2PIPE_STORE_TEMPLATES": str(folder / "cache")})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_tracked_step_logs_the_same_without_running_mlflows_genai(tmp_path):
    usual, ours = _step("usual", tmp_path), _step("deferred", tmp_path)
    assert usual["unrun"] == []
    assert ours["reads"] == 1  # the installed distributions read once, not once per registry
    assert ours["unrun"] == ["mlflow.genai", "mlflow.gateway"]
    assert ours["answers"] == usual["answers"] == [True, True]
    assert any(e.get("params") for e in ours["entries"])  # the fit was autologged
    assert without_stamps(ours["entries"]) == without_stamps(usual["entries"])


def test_a_package_whose_import_fails_deferred_is_imported_as_usual(tmp_path):
    """``import_deferring`` imports the top package again, as usual, when deferring one of its
    subpackages made its import fail: here the top package imports a submodule first, which
    meets a cycle that the subpackage's ``__init__`` order avoids."""
    from nb2pipe.mlflowimport import import_deferring

    top = f"deferring_top_{os.getpid()}_{next(_NUMBERS)}"
    sub = tmp_path / top / "sub"
    sub.mkdir(parents=True)
    (tmp_path / top / "__init__.py").write_text(f"from {top}.sub.beta import VALUE\n")
    (sub / "__init__.py").write_text("from . import alpha\n")
    (sub / "alpha.py").write_text(f"VALUE = 1\nfrom {top}.sub.beta import VALUE as B\n")
    (sub / "beta.py").write_text(f"from {top}.sub.alpha import VALUE as A\nVALUE = A + 1\n")
    sys.path.insert(0, str(tmp_path))
    try:
        with pytest.raises(ImportError):  # deferred alone, the import fails
            with deferred([f"{top}.sub"]):
                importlib.import_module(top)
        for name in [n for n in sys.modules if n.startswith(top)]:
            del sys.modules[name]
        module = import_deferring(top, (f"{top}.sub",))
        assert module.VALUE == 2
        assert "__getattr__" not in vars(module.sub)
        assert not any(type(f).__module__ == "nb2pipe.mlflowimport" for f in sys.meta_path)
    finally:
        sys.path.remove(str(tmp_path))
        sys.meta_path[:] = [f for f in sys.meta_path if type(f).__module__ !=
                            "nb2pipe.mlflowimport"]
        for name in [n for n in sys.modules if n.startswith(top)]:
            del sys.modules[name]
