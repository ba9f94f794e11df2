"""Running the rules: on one notebook in memory, on a file, or on many files in parallel."""

from __future__ import annotations

import fnmatch
import os
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from nb2pipe.analysis.notebook import NotebookAnalysis
from nb2pipe.diagnostic import Diagnostic
from nb2pipe.lint import suppress
from nb2pipe.lint.config import Settings
from nb2pipe.lint.engine import check_notebook
from nb2pipe.lint.registry import RULES
from nb2pipe.notebook.model import Notebook
from nb2pipe.notebook.reader import NotebookError, notebook_from_bytes, read_notebook

#: Below this many files, a process pool costs more than it saves.
PARALLEL_THRESHOLD = 24


def lint_notebook(notebook: Notebook, codes: Iterable[str] | None = None,
                  extra_ignores: set[str] = frozenset(), with_project: bool = True) \
        -> list[Diagnostic]:
    """Run the selected rules (default: all) on a notebook; suppressions applied, sorted."""
    return check_notebook(notebook, _classes(codes), extra_ignores, with_project)[0]


def lint_notebook_analysed(notebook: Notebook, codes: Iterable[str] | None = None) \
        -> tuple[list[Diagnostic], NotebookAnalysis | None]:
    """:func:`lint_notebook`, with the analysis it made (``None`` for another language), for
    callers that go on with the same notebook (the server's outline of the steps)."""
    return check_notebook(notebook, _classes(codes), set(), True)


def _classes(codes: Iterable[str] | None) -> dict[str, type]:
    return dict(RULES) if codes is None else {code: RULES[code] for code in codes}


def lint_folder(folder: str, results: list[FileResult], codes: Iterable[str],
                left_out: tuple[str, ...] = ()) -> FileResult:
    """Run the selected folder rules (NB7xx) on ``folder``, whose notebooks gave ``results``
    (but for those in the subfolders ``left_out``: repositories of their own)."""
    from nb2pipe.lint.folder import FolderContext

    inside = os.path.abspath(folder) + os.sep
    others = tuple(os.path.abspath(f) + os.sep for f in left_out)
    mine = [r for r in results if os.path.abspath(r.path).startswith(inside)
            and not (others and os.path.abspath(r.path).startswith(others))]
    context = FolderContext(folder, [r.path for r in mine], [r.path for r in mine if r.trains])
    found: list[Diagnostic] = []
    for code in sorted(set(codes)):
        rule_class = RULES[code]
        if rule_class.scope == "folder":
            try:
                found.extend(rule_class().check(context))
            except Exception as error:  # a bug in a rule must not hide the other findings
                return FileResult(folder, found, is_folder=True,
                                  crashed=f"{code}: {type(error).__name__}: {error}")
    return FileResult(folder, found, is_folder=True)


def error_diagnostic(path: str, error: NotebookError) -> Diagnostic:
    rule = RULES[error.code]
    hint = error.hint
    if error.cell_index is None and path != "-" and not path.lower().endswith(".ipynb"):
        # `nb2pipe check README.md`: not a damaged notebook, not a notebook at all
        hint = "nb2pipe checks Jupyter notebooks (.ipynb files): leave this file out"
    return Diagnostic(code=rule.code, name=rule.name, severity=rule.severity,
                      message=error.message, path=path, cell=error.cell_index,
                      help=hint or None)


@dataclass
class FileResult:
    """The outcome of checking one file."""

    path: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    notebook: Notebook | None = None
    crashed: str | None = None  # an internal error, reported instead of raised
    has_steps: bool = False  # some cell is tagged `step:NAME` (for the checklist)
    trains: bool = False  # some cell fits a model (for the folder rules)
    is_folder: bool = False  # the findings of the folder rules (NB7xx) for a folder
    #: (cell, line) → that source line, for each finding's position (the full format quotes it)
    quotes: dict[tuple[int, int], str] = field(default_factory=dict)


def lint_file(path: str, codes: set[str], settings: Settings | None = None,
              keep_notebook: bool = False, data: bytes | None = None) -> FileResult:
    """Read and check one file (or, given its ``data``, the notebook those bytes hold, under
    the name ``path``). Never raises: problems become diagnostics."""
    settings = settings or Settings()
    extra = suppress.file_ignores(path, settings.per_file_ignores, settings.root)
    try:
        if data is not None:
            notebook = notebook_from_bytes(data, path, fast=not keep_notebook)
        else:
            notebook = read_notebook(path, fast=not keep_notebook)
    except NotebookError as error:
        found = [error_diagnostic(path, error)] if "NB901" in codes else []
        return FileResult(path, [d for d in found if d.code not in extra])
    try:
        diagnostics, analysis = check_notebook(notebook, _classes(codes), extra, True)
    except Exception as error:  # a bug in a rule must not hide the other files' results
        return FileResult(path, [], None, f"{type(error).__name__}: {error}")
    has_steps = any(t.startswith("step:") for c in notebook.cells for t in c.tags)
    quotes = quotes_for(notebook, diagnostics)
    trains = analysis is not None and _trains(analysis)
    return FileResult(path, diagnostics, notebook if keep_notebook else None,
                      has_steps=has_steps, trains=trains, quotes=quotes)


def quotes_for(notebook: Notebook, diagnostics: list[Diagnostic]) -> dict[tuple[int, int], str]:
    """(cell, line) → that source line, for each finding placed in a cell."""
    return {(d.cell, d.line): notebook.cells[d.cell].line(d.line) for d in diagnostics
            if d.cell is not None and d.cell < len(notebook.cells)}


def _trains(analysis: NotebookAnalysis) -> bool:
    from nb2pipe.analysis.training import first_training

    return first_training(analysis) is not None


def _lint_worker(job: tuple[str, frozenset[str], Settings]) -> FileResult:
    path, codes, settings = job
    return lint_file(path, set(codes), settings)


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def collect_notebooks(paths: Iterable[str], exclude: Iterable[str] = ()) -> list[str]:
    """The ``.ipynb`` files under ``paths`` (folders walked), in a stable order.

    A file named explicitly is always included; excluded folders (``.ipynb_checkpoints``,
    virtual environments…) are skipped while walking.

    Raises:
        FileNotFoundError: a path does not exist.
    """
    patterns = _Patterns(exclude)
    found: list[str] = []
    for path in paths:
        if os.path.isfile(path):
            found.append(path)
            continue
        if not os.path.isdir(path):
            raise FileNotFoundError(path)
        for folder, folders, files in os.walk(path):
            if _written_by_nb2pipe(files, folders):
                folders[:] = []  # its notebooks are generated from one that is checked
                continue
            folders[:] = sorted(f for f in folders if not _excluded(f, folder, patterns))
            for name in sorted(files):
                if name.endswith(".ipynb") and not _excluded(name, folder, patterns):
                    found.append(os.path.join(folder, name))
    seen: set[str] = set()
    unique = []
    for path in found:
        key = os.path.abspath(path)
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


def collect_pipelines(paths: Iterable[str]) -> list[str]:
    """The folders ``nb2pipe convert`` wrote under ``paths`` (or named by them): their
    notebooks are not checked, but ``--maturity`` reads their level-1 checklist."""
    found: list[str] = []
    for path in paths:
        if not os.path.isdir(path):
            continue
        for folder, folders, files in os.walk(path):
            folders[:] = sorted(f for f in folders if not f.startswith(".") and f not in (
                "node_modules", "runs", "__pycache__"))
            if "pipeline.json" in files and bool({"papermill", "components", "kfp"} &
                                                 set(folders)):
                found.append(folder)
                folders[:] = []
    return sorted(dict.fromkeys(found))


def _written_by_nb2pipe(files: list[str], folders: list[str]) -> bool:
    """A folder that ``nb2pipe convert`` wrote (``pipeline.json`` beside ``papermill/``…) or
    a run's folder (``run.json`` beside ``notebooks/``)."""
    return "pipeline.json" in files and bool({"papermill", "components", "kfp"} & set(folders)) \
        or "run.json" in files and "notebooks" in folders


def _excluded(name: str, folder: str, patterns) -> bool:
    if not isinstance(patterns, _Patterns):
        patterns = _Patterns(patterns)
    return patterns.match(name, folder)


class _Patterns:
    """Exclude patterns, compiled once: a name, a path or a normalised path may match."""

    def __init__(self, patterns: Iterable[str]) -> None:
        patterns = list(patterns)
        self.names = re.compile("|".join(fnmatch.translate(p) for p in patterns)) \
            if patterns else None
        self.paths = re.compile("|".join(fnmatch.translate(os.path.normpath(p))
                                         for p in patterns)) if patterns else None

    def match(self, name: str, folder: str) -> bool:
        if self.names is None:
            return False
        full = os.path.join(folder, name)
        return bool(self.names.match(name) or self.names.match(full) or
                    self.paths.match(os.path.normpath(full)))


def lint_files(files: list[str], codes: set[str], settings: Settings, jobs: int | None = None,
               progress: Callable[[int, int], None] | None = None, cache=None) \
        -> list[FileResult]:
    """Check many files, in parallel when there are enough of them; results in input order.

    With a :class:`~nb2pipe.lint.cache.ResultCache`, unchanged files are not checked again.
    """
    if cache is None:
        return _lint_files(files, codes, settings, jobs, progress)
    results: list[FileResult | None] = [cache.get(path) for path in files]
    missing = [n for n, result in enumerate(results) if result is None]
    done = len(files) - len(missing)

    def shifted(number: int, total: int) -> None:
        if progress:
            progress(done + number, len(files))

    checked = _lint_files([files[n] for n in missing], codes, settings, jobs, shifted)
    for n, result in zip(missing, checked):
        results[n] = result
        cache.put(result)
    cache.save()
    return results


def process_pool(jobs: int):
    """Worker processes for many files: forked where that is safe (they start with every
    module already imported), spawned elsewhere."""
    import concurrent.futures
    import multiprocessing

    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    return concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context)


def _lint_files(files: list[str], codes: set[str], settings: Settings, jobs: int | None = None,
                progress: Callable[[int, int], None] | None = None) -> list[FileResult]:
    import gc

    # Syntax trees are many small objects that reference counting frees; the cyclic collector
    # running every 700 allocations only costs time here (about a tenth of the total).
    gc.set_threshold(100_000, 50, 50)
    jobs = jobs or os.cpu_count() or 1
    results: list[FileResult] = []
    total = len(files)
    if jobs > 1 and total >= PARALLEL_THRESHOLD:
        import concurrent.futures

        # Largest files first, one at a time, so that no worker is left with the big ones last.
        order = sorted(range(total), key=lambda i: -_size(files[i]))
        slots: list[FileResult | None] = [None] * total
        frozen = frozenset(codes)
        # What is alive now (every module) stays out of the workers' collections: they would
        # walk it all, and touching it copies the pages fork shares.
        gc.freeze()
        with process_pool(jobs) as pool:
            futures = {pool.submit(_lint_worker, (files[i], frozen, settings)): i for i in order}
            for number, future in enumerate(concurrent.futures.as_completed(futures), 1):
                slots[futures[future]] = future.result()
                if progress:
                    progress(number, total)
        return [r for r in slots if r is not None]
    for number, path in enumerate(files, 1):
        results.append(lint_file(path, codes, settings))
        if progress:
            progress(number, total)
    return results
