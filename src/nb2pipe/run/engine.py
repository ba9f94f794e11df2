"""The papermill engine: run a converted pipeline (or a plain notebook) step by step.

Steps run in dependency order from this one process, through papermill's Python API. They
share one kernel process whose namespace is reset between steps: each step sees only its
parameters and the inputs it loads, exactly as in its own kernel, but imports already loaded
stay loaded, which saves most of a kernel start per step (``isolate=True`` starts a fresh
kernel for every step instead).

A failing step stops the steps that depend on it (independent ones still run), keeps its
executed notebook with the traceback, and marks the run failed; ``resume`` re-runs what did not
succeed. ``run.json`` is rewritten after every step, so a run killed at any point can be
resumed.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import time
from collections.abc import Callable

from nb2pipe import __version__
from nb2pipe.pipeline.model import Step
from nb2pipe.run.kernel import KERNEL, SharedKernel, register_engine
from nb2pipe.run.params import ParameterError, parameter_sets
from nb2pipe.run.record import RunRecord, StepRecord, new_run_id, now
from nb2pipe.run.source import RunError, Source, load_source, runs_dir_for

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class Runner:
    """Runs the parameter sets of one source, one after another or ``jobs`` at a time.

    The tracker (MLflow takes seconds to import and open its store) loads in a background
    thread while the steps run, and no step waits for it: a step that autologs does so into a
    file of the run's folder (:mod:`nb2pipe.autologbuffer`; only a store other than a database,
    a tracking server, makes its kernel attach to its MLflow run first). The steps' MLflow runs
    are recorded when the pipeline's run ends, with their
    real start and end times. A tracking server that cannot be reached is found before any step
    starts.
    """

    engine = "papermill"
    #: the steps run in Jupyter kernels this process starts
    starts_kernels = True
    #: a live bar per step (the current cell, the elapsed time): on a terminal only
    progress = False

    def __init__(self, source: Source, tracking: str = "mlflow", runs_dir: str | None = None,
                 isolate: bool = False, html: bool = True,
                 report: Callable[[str], None] | None = None, validate: bool | None = None,
                 strict: bool | None = None, register: bool = True, cache: bool = True,
                 cache_size: float | None = None) -> None:
        from nb2pipe.run.validation import ValidationConfigError, options_for

        self.source = source
        self.tracking_mode = tracking
        self.register = register
        self._validations: dict[str, dict | None] = {}  # run id → what its steps validate
        self._planned_parents: dict[str, str] = {}  # run id → its MLflow run's id, chosen
        self.started_runs: list[str] = []  # run ids, in the order they started
        try:
            self.validation_options = options_for(source.pipeline, source.folder, validate,
                                                  strict)
        except ValidationConfigError as error:
            raise RunError(str(error)) from None
        self.runs_dir = runs_dir_for(source, runs_dir)
        self.isolate = isolate
        self.cache = None
        if cache and source.notebook is None:  # (a converted pipeline's steps)
            from nb2pipe.run.cache import StepCache

            self.cache = StepCache(source.folder, cache_size)
        self.html = html
        import threading

        self._say = report or (lambda message: None)
        self._label = threading.local()  # a sweep's run: its parameters, before each line
        self._tracker_future = None
        self._tracking_uri = ""

    def report(self, message: str) -> None:
        """A progress line for the user; in a sweep, it starts with the run's parameters."""
        label = getattr(self._label, "text", "")
        self._say(f"{label}{message}" if label else message)

    def start_tracker(self) -> None:
        """Check the tracker now (fails fast) and load it in the background."""
        if self._tracker_future is not None:
            return
        from concurrent.futures import Future, ThreadPoolExecutor

        if self.starts_kernels:
            from nb2pipe.run.kernel import import_before_threads

            import_before_threads()  # (the first thread starts below)

        from nb2pipe.tracking import check_tracker, default_uri, make_tracker

        folder = os.getcwd()
        check_tracker(self.tracking_mode, folder)
        self._tracking_uri = default_uri(folder)  # (what the tracker will open)
        if self.tracking_mode == "none":
            future: Future = Future()
            future.set_result(make_tracker("none", folder, ""))
            self._tracker_future = future
            return
        import typing  # noqa: F401 - complete before a thread's dataclasses read it, unlocked

        pool = ThreadPoolExecutor(1, thread_name_prefix="nb2pipe-tracker")
        self._tracker_future = pool.submit(make_tracker, self.tracking_mode, folder,
                                           self.source.pipeline.name)
        pool.shutdown(wait=False)

    @property
    def tracking_uri(self) -> str:
        """The store the tracker opens (known before it loads; in an Airflow task, which
        never starts one, from the folder it runs in)."""
        if not self._tracking_uri:
            from nb2pipe.tracking import default_uri

            self._tracking_uri = default_uri(os.getcwd())
        return self._tracking_uri

    @property
    def tracker(self):
        self.start_tracker()
        return self._tracker_future.result()

    def parameter_sets(self, cli=(), file=None) -> list[dict]:
        return parameter_sets(self.source.pipeline.parameters, cli, file)

    def check_source(self) -> None:
        """Fail before anything runs when the converted folder lacks the step notebooks."""
        source = self.source
        if source.notebook is None and not os.path.isdir(os.path.join(source.folder,
                                                                      "papermill")):
            raise RunError(f"{source.folder} has no papermill/ step notebooks: convert again "
                           f"with the papermill target (the default), or use --engine kfp-local")

    def run_all(self, sets: list[dict], jobs: int = 1) -> list[RunRecord]:
        self.check_source()
        self.start_tracker()
        if len(sets) == 1:
            return [self.run(sets[0])]
        varying = sweep_columns(sets)

        def labelled(parameters: dict) -> RunRecord:
            self._label.text = "[" + ", ".join(f"{k}={parameters[k]!r}" for k in varying) + "] "
            try:
                return self.run(parameters)
            finally:
                self._label.text = ""

        if jobs <= 1:
            return [labelled(parameters) for parameters in sets]
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(jobs) as pool:
            return list(pool.map(labelled, sets))

    def resume(self, run_id: str) -> RunRecord:
        folder = os.path.join(self.runs_dir, run_id)
        if not os.path.exists(os.path.join(folder, "run.json")):
            known = sorted(os.listdir(self.runs_dir)) if os.path.isdir(self.runs_dir) else []
            raise RunError(f"no run `{run_id}` in {self.runs_dir}" +
                           (f" (runs: {', '.join(known[-5:])})" if known else ""))
        record = RunRecord.read(folder)
        self.check_source()
        if record.status == "succeeded":
            self.report(f"run {run_id} already succeeded: nothing to resume")
            return record
        self.start_tracker()
        return self.run(record.parameters, record)

    # -- one run ---------------------------------------------------------------------------

    def run(self, parameters: dict, resumed: RunRecord | None = None) -> RunRecord:
        source = self.source
        pipeline = source.pipeline
        run_id = resumed.run_id if resumed else new_run_id()
        self.started_runs.append(run_id)  # (what Ctrl-C names)
        folder = os.path.join(self.runs_dir, run_id)
        for sub in ("notebooks", "artifacts", "html"):
            os.makedirs(os.path.join(folder, sub), exist_ok=True)
        record = resumed or RunRecord(
            run_id=run_id, pipeline=pipeline.name,
            source=source.notebook or source.folder, parameters=parameters,
            steps={s.name: StepRecord() for s in pipeline.steps}, nb2pipe=__version__)
        record.status, record.finished = "running", None
        self._validations[run_id] = self._prepare_level1(record, folder, parameters)
        from nb2pipe.run.level1 import ModelPrefetch

        prefetch = ModelPrefetch(self, folder, record)
        record.write(folder)
        started = time.perf_counter()
        started_ms = int(time.time() * 1000)
        import importlib.util

        pages = HtmlPages(self) if self.html and importlib.util.find_spec("nbconvert") \
            else None
        if pages is not None:
            pages.warm()
        kernel = SharedKernel(source.work_dir, os.path.join(folder, "kernel.log"))
        kernel.ensure()  # starts while the tracker loads
        status = "succeeded"
        ran: list[str] = []
        try:
            failed: set[str] = set()
            for number, step in enumerate(pipeline.steps, 1):
                step_record = record.steps.setdefault(step.name, StepRecord())
                if step_record.status == "succeeded":
                    continue
                blocked = [a for a in step.after if a in failed]
                if blocked:
                    step_record.status = "skipped"
                    step_record.error = {"message": f"not run: step `{blocked[0]}` failed"}
                    self.report(f"[{number}/{len(pipeline.steps)}] {step.name} not run: "
                                f"it needs step `{blocked[0]}`, which failed")
                    failed.add(step.name)
                    record.write(folder)
                    continue
                key = self._cache_key(step, number, parameters, record, folder)
                ran.append(step.name)
                if key and self._reuse(step, key, number, record, folder):
                    # (no model prefetch: a model from the cache is most often registered
                    # already, and the gate loads it itself when it is not)
                    if pages is not None:
                        pages.add(step.name, step_record, folder)
                    continue
                self.report(f"[{number}/{len(pipeline.steps)}] {step.name} …")
                plan = prefetch.step_starting(step.name)
                ok = self._run_step(step, parameters, record, folder, kernel, started_ms,
                                    model=plan)
                if pages is not None:  # rendered while the next steps run
                    pages.add(step.name, step_record, folder)
                if not ok:
                    failed.add(step.name)
                    status = "failed"
                else:
                    prefetch.step_done(step.name)
                    if key:
                        self._keep(step, key, record, folder, number)
                if self.isolate:
                    kernel.shutdown()
            if failed:
                status = "failed"
        except KeyboardInterrupt:
            status = "interrupted"
            for step_record in record.steps.values():
                if step_record.status == "running":  # stopped, not failed: resumable
                    step_record.status = "interrupted"
                    step_record.error = {"message": "interrupted"}
            raise
        finally:
            kernel.shutdown()
            record.status = status
            record.finished = now()
            record.seconds = round(time.perf_counter() - started, 3)
            record.metrics = _read_metrics(folder)
            record.write(folder)
            if status != "interrupted":  # Ctrl-C means stop now: no validation, no gate
                self._finish_level1(record, folder, started_ms, prefetch=prefetch)
            if self.tracking_mode != "none":
                record.enter(folder, "saving to MLflow")
            self._finish_tracking(record, folder, ran, started_ms)
            record.phase = None
            record.write(folder)
        if pages is not None:
            self._render_html(record, folder, pages)
        return record

    # -- the step cache ----------------------------------------------------------------------

    def _cache_key(self, step: Step, number: int, parameters: dict, record: RunRecord,
                   folder: str) -> str | None:
        if self.cache is None:
            return None
        upstream = set(step.inputs.values()) | set(step.after)
        values = {name: parameters.get(name) for name in step.parameters}
        return self.cache.key(step, self.source.step_notebook(step), values, folder,
                              sorted(upstream), self._validations.get(record.run_id),
                              self.source.work_dir, self.isolate)

    def _random_in(self, number: int, folder: str) -> str | None:
        """The random state file step ``number`` continues from (the step before it)."""
        if number <= 1:
            return None
        from nb2pipe.run.cache import RANDOM_STATE

        before = self.source.pipeline.steps[number - 2].name
        return os.path.join(folder, "artifacts", before, RANDOM_STATE)

    def _reuse(self, step: Step, key: str, number: int, record: RunRecord,
               folder: str) -> bool:
        """Reuse the step's results from an earlier run, if the cache has them."""
        random_in = self._random_in(number, folder)
        hit = self.cache.lookup(step.name, key, random_in)
        if hit is None:
            return False
        try:
            self.cache.restore(hit, folder, random_in)
        except OSError as error:
            self.report(f"warning: the cached results of step {step.name} could not be "
                        f"reused ({error}): running it")
            return False
        step_record = record.steps[step.name]
        step_record.status, step_record.started = "succeeded", now()
        step_record.finished, step_record.seconds = step_record.started, 0.0
        step_record.error, step_record.cell, step_record.tracking_run_id = None, None, None
        step_record.notebook = os.path.join("notebooks", f"{step.name}.ipynb")
        step_record.cached_from = hit.run_id
        record.write(folder)
        self.report(f"[{number}/{len(self.source.pipeline.steps)}] {step.name} "
                    f"(cached from {hit.run_id})")
        return True

    def _keep(self, step: Step, key: str, record: RunRecord, folder: str,
              number: int) -> None:
        why_not = self.cache.store(step, key, folder, record.run_id,
                                   record.steps[step.name].seconds,
                                   self._random_in(number, folder))
        if why_not:
            self.report(f"    {step.name}: not cached: {why_not}")

    def _prepare_level1(self, record: RunRecord, folder: str, parameters: dict) -> dict | None:
        from nb2pipe.run.level1 import prepare
        from nb2pipe.run.validation import ValidationConfigError

        try:
            return prepare(self, record, folder, parameters)
        except ValidationConfigError as error:
            raise RunError(str(error)) from None

    def _finish_level1(self, record: RunRecord, folder: str, started_ms: int,
                       gate_in_pipeline: bool = False, prefetch=None) -> None:
        """Validation's verdict, new baselines, the gate and the registry (which needs the
        run's MLflow run, so it is created here when tracking is on)."""
        from nb2pipe.run.level1 import finish

        if prefetch is not None:
            prefetch.wait()
        try:
            if self.tracking_mode != "none" and record.status == "succeeded":
                self._parent(record, started_ms)
            finish(self, record, folder, gate_in_pipeline, prefetch)
        except Exception as error:  # the run's own result is recorded whatever happens here
            record.gate = {"passed": None, "reasons": [], "error": str(error)} \
                if self.source.pipeline.gate or self.source.pipeline.model else {}
            self.report(f"warning: the level-1 checks after the run failed: "
                        f"{type(error).__name__}: {error}")
            record.write(folder)

    def planned_parent(self, run_id: str) -> str:
        """The id the pipeline run ``run_id``'s MLflow run will have (an SQLite store nb2pipe
        writes: chosen before the run exists, for the files that name it)."""
        import uuid

        return self._planned_parents.setdefault(run_id, uuid.uuid4().hex)

    def _parent(self, record: RunRecord, started_ms: int):
        """The pipeline run's MLflow run, created on first need."""
        parent = record.tracking.get("run_id")
        if parent is None:
            tracker = self.tracker
            planned = self._planned_parents.get(record.run_id)
            parent = tracker.start(f"{self.source.pipeline.name} {record.run_id}",
                                   _loggable(record.parameters), self._tags(record.parameters),
                                   started_ms, **({"run_id": planned} if planned else {}))
            record.tracking = {**tracker.info(), "run_id": parent} if parent else {}
        return parent

    def _finish_tracking(self, record: RunRecord, folder: str, ran: list[str],
                         started_ms: int) -> None:
        try:
            tracker = self.tracker
            with getattr(tracker, "batch", contextlib.nullcontext)():
                self._log_run(tracker, record, folder, ran, started_ms)
        except Exception as error:  # the run's own result matters more than its logging
            self.report(f"warning: tracking failed: {error}")

    def _log_run(self, tracker, record: RunRecord, folder: str, ran: list[str],
                 started_ms: int) -> None:
        """The run's MLflow run and its steps' (one transaction of an SQLite store)."""
        parent = self._parent(record, started_ms)
        if parent:
            for name in ran:
                step_record = record.steps[name]
                step = self.source.pipeline.step(name)
                if step_record.tracking_run_id is None:
                    tags = {"nb2pipe.cached_from": step_record.cached_from} \
                        if step_record.cached_from else None
                    step_record.tracking_run_id = tracker.step(
                        parent, name, _ms(step_record.started), tags=tags)
                self._end_step_tracking(step, step_record, folder)
        record.write(folder)
        if parent:
            from nb2pipe.run.level1 import log_to_tracker

            log_to_tracker(self, record, folder)
        tracker.end(parent, record.status, record.metrics, [os.path.join(folder, "run.json")])

    def _end_step_tracking(self, step: Step, step_record: StepRecord, folder: str) -> None:
        if step_record.tracking_run_id is None or step_record.status not in ("succeeded",
                                                                             "failed"):
            return
        self._log_buffered(step_record.tracking_run_id, folder, step.name)
        models = _model_artifacts(os.path.join(folder, "artifacts", step.name))
        metrics = _read_metrics(folder) if step.metrics else {}
        notebook = os.path.join(folder, step_record.notebook or "")
        self.tracker.end_step(step_record.tracking_run_id, step_record.status, notebook, models,
                              metrics, _ms(step_record.finished))

    def _log_buffered(self, run_id: str, folder: str, step: str) -> None:
        """What ``step`` logged into its files of the run (:mod:`nb2pipe.autologbuffer`:
        autologging's calls, a component's metrics; the files autologging made), written
        into its MLflow run ``run_id``; the files go."""
        buffered = _buffer_path(folder, step)
        if os.path.exists(buffered) and hasattr(self.tracker, "replay"):
            self.tracker.replay(run_id, buffered)
        made = _buffer_artifacts(folder, step)
        if os.path.isdir(made) and hasattr(self.tracker, "log_artifacts"):
            import shutil

            self.tracker.log_artifacts(run_id, made)
            shutil.rmtree(made, ignore_errors=True)

    def _run_step(self, step: Step, parameters: dict, record: RunRecord, folder: str,
                  kernel: SharedKernel, started_ms: int, model: dict | None = None) -> bool:
        try:
            import logging

            import papermill
            from papermill.exceptions import PapermillExecutionError

            # papermill warns about parameters a notebook does not declare (ours, for a plain
            # notebook): the user need not see that.
            logging.getLogger("papermill").setLevel(logging.ERROR)
        except ImportError:
            raise RunError("nb2pipe run needs papermill: pip install 'nb2pipe[run]'") from None

        source = self.source
        step_record = record.steps[step.name]
        output = os.path.join(folder, "notebooks", f"{step.name}.ipynb")
        step_record.status, step_record.started = "running", now()
        step_record.error, step_record.tracking_run_id = None, None
        step_record.cached_from = None
        step_record.notebook = os.path.relpath(output, folder)
        info: dict = {"cwd": source.work_dir}
        if self.cache is not None and step.settings.get("cache") is not False:
            info["io"] = {"record": os.path.join(folder, "io", f"{step.name}.json"),
                          "run": folder}
        if self._validations.get(record.run_id) is not None:
            info["validation"] = self._validations[record.run_id]
        if model is not None:  # (the step saves MLflow's files of the model it trains)
            info["model"] = model
        if step.autolog and self.tracking_mode != "none" and _buffered(self.tracking_uri):
            # Autologging runs in the kernel, into a file the runner logs into the step's
            # MLflow run when the run ends (as every other step's): the step need not wait
            # for the tracker to load. Its run id is the kernel's until then.
            import uuid

            info["tracking"] = {step.name: {
                "uri": self.tracking_uri, "run_id": uuid.uuid4().hex,
                "buffer": _buffer_path(folder, step.name), "experiment_id": "0",
                "artifact_uri": _file_uri(_buffer_artifacts(folder, step.name))}}
        elif step.autolog and self.tracking_mode != "none":
            # Autologging runs in the kernel, which must attach to the step's MLflow run.
            parent = self._parent(record, started_ms)
            if parent:
                child = self.tracker.step(parent, step.name, _ms(step_record.started))
                step_record.tracking_run_id = child
                info["tracking"] = {step.name: {"uri": self.tracker.uri, "run_id": child}}
        record.write(folder)
        values = {name: parameters[name] for name in step.parameters if name in parameters}
        values["nb2pipe_artifacts"] = os.path.join(folder, "artifacts")
        values["nb2pipe_run"] = json.dumps(info)
        started = time.perf_counter()
        ok = True
        try:
            kernel.ensure()
            notebook_input = source.step_notebook(step) if source.notebook is None else \
                _with_tracking_cells(source.notebook, step)
            from nb2pipe.run.kernel import literal_values

            papermill.execute_notebook(
                notebook_input, output,
                parameters=literal_values(source.pipeline.parameters, values),
                kernel_name=KERNEL,
                engine_name=register_engine(), km=kernel.manager,
                progress_bar={"desc": step.name, "leave": False} if self.progress else False,
                on_cell=lambda number: _running_cell(step_record, number, record, folder),
                log_output=False, report_mode=False, request_save_on_cell_execute=False)
        except PapermillExecutionError as error:
            ok = False
            step_record.error = _describe_failure(error, output, source.notebook)
        except Exception as error:  # a dead kernel, a missing file: the run goes on
            ok = False
            step_record.error = {"message": f"{type(error).__name__}: {error}"}
            kernel.shutdown()
        step_record.seconds = round(time.perf_counter() - started, 3)
        step_record.finished = now()
        step_record.status = "succeeded" if ok else "failed"
        if ok:
            step_record.cell = None  # (a failed step keeps the cell it stopped in)
        record.write(folder)
        if step_record.tracking_run_id:
            self._end_step_tracking(step, step_record, folder)
        outcome = f"ok ({step_record.seconds:.1f} s)" if ok else "FAILED"
        self.report(f"    {step.name}: {outcome}")
        return ok

    def _tags(self, parameters: dict) -> dict:
        source = self.source
        tags = {"nb2pipe.version": __version__, "nb2pipe.pipeline": source.pipeline.name,
                "nb2pipe.notebook": source.pipeline.notebook,
                "nb2pipe.notebook_sha256": source.pipeline.source_hash,
                "nb2pipe.engine": self.engine}
        commit = _git_commit(source.work_dir)
        if commit:
            tags["mlflow.source.git.commit"] = commit
        return tags

    def _render_html(self, record: RunRecord, folder: str, pages=None) -> None:
        """Wait for the steps' HTML pages (rendered while later steps ran) and record them."""
        pages = pages or HtmlPages(self)
        for name, step_record in record.steps.items():
            pages.add(name, step_record, folder)
        for name, target in pages.finished().items():
            record.steps[name].html = os.path.relpath(target, folder)
        record.write(folder)


class HtmlPages:
    """Each step's executed notebook as an HTML page, rendered in a thread as soon as the step
    ends, while the next steps run (nbconvert takes seconds to load and about a second a
    page: after the last step, only the last page is left to wait for). A step the cache
    brought back gets the page of the run that made it."""

    def __init__(self, runner: Runner) -> None:
        self._runner = runner
        self._settings = {s.name: s.settings for s in runner.source.pipeline.steps}
        self._pool = None
        self._pages: dict[str, object] = {}  # step → its page's path, or a future of it

    def warm(self) -> None:
        """Load nbconvert now, in the thread, while the first step's kernel starts."""
        self._start().submit(_exporter)

    def _start(self):
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(1, thread_name_prefix="nb2pipe-html")
        return self._pool

    def add(self, name: str, step_record: StepRecord, folder: str) -> None:
        if name in self._pages or self._settings.get(name, {}).get("report") is False:
            return  # (done, or `report:disabled`)
        path = os.path.join(folder, step_record.notebook or "")
        if not step_record.notebook or not os.path.exists(path):
            return
        target = os.path.join(folder, "html", f"{name}.html")
        made = os.path.join(self._runner.runs_dir, step_record.cached_from or "", "html",
                            f"{name}.html")
        if step_record.cached_from and os.path.isfile(made):
            import shutil  # the same notebook as that run's: the same page

            shutil.copyfile(made, target)
            self._pages[name] = target
            return
        self._pages[name] = self._start().submit(_render_page, path, target)

    def finished(self) -> dict[str, str]:
        """Step → its page, once every page is written (a page that could not be rendered
        is a warning: it never fails the run)."""
        done = {}
        for name, page in self._pages.items():
            if isinstance(page, str):
                done[name] = page
                continue
            try:
                done[name] = page.result()
            except Exception as error:  # noqa: BLE001
                self._runner.report(f"warning: no HTML for step {name}: {error}")
        if self._pool is not None:
            self._pool.shutdown()
        return done


_EXPORTER: list = []  # nbconvert's HTMLExporter, made once per process


def _exporter():
    if not _EXPORTER:
        from nbconvert import HTMLExporter

        _EXPORTER.append(HTMLExporter())
    return _EXPORTER[0]


def _render_page(notebook: str, target: str) -> str:
    import nbformat

    body, _ = _exporter().from_notebook_node(nbformat.read(notebook, as_version=4))
    with open(target, "w", encoding="utf-8") as handle:
        handle.write(body)
    return target


def _with_tracking_cells(path: str, step: Step):
    from nb2pipe.targets.papermill import RESET_SOURCE

    """A plain notebook, in memory, with nb2pipe's set-up and tear-down cells added."""
    import nbformat
    from nbformat.v4 import new_code_cell

    notebook = nbformat.read(path, as_version=4)
    position = next((i + 1 for i, c in enumerate(notebook.cells)
                     if "parameters" in c.get("metadata", {}).get("tags", [])), 0)
    setup = new_code_cell(
        "nb2pipe_run = globals().get('nb2pipe_run', '')\n"
        "import nb2pipe.runtime as _nb2pipe\n"
        f"_nb2pipe.start_step('notebook', nb2pipe_run, autolog={step.autolog!r})",
        metadata={"tags": ["nb2pipe-setup"]})
    pairs = ", ".join(f"{m!r}: {m}" for m in step.metrics)
    teardown = new_code_cell(
        f"_nb2pipe.end_step({{{pairs}}}, metrics_file=nb2pipe_artifacts + '/metrics.json')"
        if step.metrics else "_nb2pipe.end_step()", metadata={"tags": ["nb2pipe-save"]})
    notebook.cells.insert(position, setup)
    notebook.cells.append(teardown)
    notebook.cells.insert(0, new_code_cell(RESET_SOURCE, metadata={"tags": ["nb2pipe-reset"]}))
    if position == 0:  # papermill puts the parameters first; nb2pipe_artifacts must exist
        setup.source = "nb2pipe_artifacts = globals().get('nb2pipe_artifacts', '.')\n" + \
            setup.source
    return notebook


#: What the cells nb2pipe adds to a step do, for a failure in one of them.
_GENERATED = {"nb2pipe-reset": "while resetting the kernel before the step",
              "nb2pipe-setup": "while starting the step (nb2pipe's setup)",
              "nb2pipe-imports": "in the imports the step repeats from earlier cells",
              "nb2pipe-load": "while loading the values the step reads",
              "nb2pipe-save": "while saving the values the step passes on",
              "parameters": "in the step's parameters"}
#: The frame of the cell itself in an IPython traceback (``Cell In[12], line 3``; older
#: IPython: ``Input In [12]``, ``<ipython-input-12-…>``): its line is the line in the cell.
_CELL_FRAME = re.compile(r"(?:Cell In ?\[\d*\]|Input In \[\d*\]|<ipython-input-[\w-]+>),? "
                         r"(?:in \S+\(\)?,? )?line (\d+)")


def _running_cell(step_record, number: int, record, folder: str) -> None:
    """Record the cell a step is running (the panel shows it); run.json is small."""
    if step_record.cell != number:
        step_record.cell = number
        record.write(folder)


def sweep_columns(sets: list[dict]) -> list[str]:
    """The parameters that differ between the runs of a sweep (all of them if none do)."""
    names = list(dict.fromkeys(k for values in sets for k in values))
    varying = [k for k in names if len({repr(v.get(k)) for v in sets}) > 1]
    return varying or names


def _describe_failure(error, output: str, original_path: str | None = None) -> dict:
    """Where a step failed, in the user's notebook: the cell as ``check`` numbers it, the line
    within that cell's source, the exception. A failure in a cell nb2pipe added says what that
    cell was doing, and after which of the user's cells; never a kernel's ``In[]`` number."""
    from nb2pipe.diagnostic import shorten

    info = {"ename": error.ename, "evalue": str(error.evalue)[:20000],  # the whole of it
            "message": shorten(f"{error.ename}: {error.evalue}", 300)}
    try:
        import nbformat

        executed = nbformat.read(output, as_version=4)
        # papermill adds marker cells to the output, so find the cell by its error output.
        position, cell = next((n, c) for n, c in enumerate(executed.cells) if any(
            o.get("output_type") == "error" for o in c.get("outputs", [])))
        source = nbformat.read(original_path, as_version=4) if original_path else None

        def number_of(candidate) -> int | None:
            number = candidate.get("metadata", {}).get("nb2pipe", {}).get("cell")
            if number is None and source is not None and candidate.get("id"):
                number = next((n for n, c in enumerate(source.cells, 1)
                               if c.get("id") == candidate.get("id")), None)
            return number

        original = number_of(cell)
        tags = set(cell.get("metadata", {}).get("tags", []))
        generated = next((_GENERATED[t] for t in _GENERATED if t in tags), None)
        if original is not None:
            info["cell"] = original
            traceback = _ANSI.sub("", "\n".join(error.traceback or []))
            frame = _CELL_FRAME.search(traceback)  # the first: the cell's own frame
            if frame:
                info["line"] = int(frame.group(1))
        elif generated:
            before = next((number_of(c) for c in reversed(executed.cells[:position])
                           if number_of(c) is not None), None)
            info["during"] = generated + (f" (after cell {before})" if before else "")
    except Exception:  # the description is a courtesy; the error itself is recorded
        pass
    return info


def _ms(stamp: str | None) -> int | None:
    """Milliseconds since the epoch of an ISO time stamp from the run record."""
    if not stamp:
        return None
    import datetime

    return int(datetime.datetime.fromisoformat(stamp).timestamp() * 1000)


def _read_metrics(folder: str) -> dict:
    path = os.path.join(folder, "artifacts", "metrics.json")
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


_MODEL_MODULES = ("sklearn.", "xgboost.", "lightgbm.", "catboost.", "statsmodels.", "torch.",
                  "keras.", "tensorflow.")


def _model_artifacts(folder: str) -> list[str]:
    """The files of the artifacts that are trained models (logged with the step's run)."""
    found = []
    if not os.path.isdir(folder):
        return found
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".meta.json"):
            continue
        with open(os.path.join(folder, name), encoding="utf-8") as handle:
            meta = json.load(handle)
        if str(meta.get("type", "")).startswith(_MODEL_MODULES) and \
                meta.get("format") in ("joblib", "pickle"):
            found.append(os.path.join(folder, meta["file"]))
    return found


def _loggable(parameters: dict) -> dict:
    """Parameters minus anything that looks like a secret (never logged)."""
    from nb2pipe.analysis.secrets import by_name, by_shape

    safe = {}
    for name, value in parameters.items():
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        if by_shape(text) or by_name(name, text):
            safe[name] = "*** (not logged: looks like a secret)"
        else:
            safe[name] = value
    return safe


def _git_commit(folder: str) -> str | None:
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True,
                                text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


__all__ = ["ParameterError", "RunError", "Runner", "Source", "load_source", "runs_dir_for"]


def _buffered(uri: str) -> bool:
    """Whether a kernel logs through a buffer (:mod:`nb2pipe.autologbuffer`) rather than
    to ``uri`` itself: a database store, whose opening costs seconds."""
    if os.environ.get("NB2PIPE_AUTOLOG_BUFFER", "1") == "0":  # (to compare, or to debug)
        return False
    scheme = uri.split(":", 1)[0].split("+", 1)[0].lower()
    return scheme in ("sqlite", "postgresql", "mysql", "mssql")


def _buffer_path(folder: str, step: str) -> str:
    return os.path.join(folder, "io", f"{step}.mlflow.jsonl")


def _buffer_artifacts(folder: str, step: str) -> str:
    """Where a step's kernel puts the files autologging logs (its plots), until the runner
    logs them into the step's MLflow run."""
    return os.path.join(folder, "io", f"{step}.mlflow-artifacts")


def _file_uri(path: str) -> str:
    from pathlib import Path

    return Path(path).resolve().as_uri()
