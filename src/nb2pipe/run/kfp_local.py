"""The ``kfp-local`` engine: run the compiled Kubeflow pipeline on this machine.

The pipeline is compiled again from ``kfp/pipeline.py`` without ``packages_to_install`` (local
runs use the current environment, offline) into the run folder, loaded with kfp's loader and
executed with ``kfp.local.SubprocessRunner(use_venv=False)``: every step in its own Python
process, as on a cluster. The run folder, ``run.json`` and MLflow tracking are the same as
with the papermill engine; kfp's own task folders are under ``runs/<run-id>/kfp/``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sys
import time

from nb2pipe import __version__
from nb2pipe.run.engine import (RunError, Runner, _buffer_path, _buffered, _file_uri,
                                _read_metrics)
from nb2pipe.run.record import RunRecord, StepRecord, new_run_id, now


class KfpLocalRunner(Runner):
    engine = "kfp-local"
    starts_kernels = False  # (its steps run in processes of its own)
    #: where components read the notebook's data files (fsspec URI); None: its folder
    data_dir: str | None = None

    def check_source(self) -> None:
        if not os.path.exists(os.path.join(self.source.folder, "kfp", "pipeline.py")):
            raise RunError("--engine kfp-local runs a converted folder with kfp/pipeline.py: "
                           "convert the notebook with nb2pipe convert (kfp installed)")

    def resume(self, run_id: str) -> RunRecord:
        raise RunError("kfp-local runs cannot be resumed (kfp's local runner has no resume): "
                       "run again, or use the papermill engine")

    def run(self, parameters: dict, resumed: RunRecord | None = None) -> RunRecord:
        source = self.source
        pipeline = source.pipeline
        dsl_path = os.path.join(source.folder, "kfp", "pipeline.py")
        if source.notebook is not None or not os.path.exists(dsl_path):
            raise RunError("--engine kfp-local runs a converted folder with kfp/pipeline.py: "
                           "convert the notebook with nb2pipe convert (kfp installed)")
        try:
            from kfp import components, local
        except ImportError:
            raise RunError("--engine kfp-local needs the kfp SDK: pip install 'nb2pipe[kfp]'") \
                from None
        from nb2pipe.targets.kfp import compile_dsl

        run_id = new_run_id()
        self.started_runs.append(run_id)
        folder = os.path.join(self.runs_dir, run_id)
        os.makedirs(os.path.join(folder, "artifacts"), exist_ok=True)
        record = RunRecord(run_id=run_id, pipeline=pipeline.name, source=source.folder,
                           parameters=parameters, engine=self.engine, nb2pipe=__version__,
                           steps={s.name: StepRecord() for s in pipeline.steps})
        validation = self._prepare_level1(record, folder, parameters)
        record.write(folder)
        started = time.perf_counter()
        started_ms = int(time.time() * 1000)
        with open(dsl_path, encoding="utf-8") as handle:
            yaml_text = compile_dsl(handle.read(), pipeline, local=True)
        yaml_path = os.path.join(folder, "pipeline.local.yaml")
        with open(yaml_path, "w", encoding="utf-8") as handle:
            handle.write(yaml_text)
        tracking, parent, buffered = "", None, False
        if self.tracking_mode != "none":
            parent = self._parent(record, started_ms)
            if parent:
                tracker = self.tracker
                info = {"uri": tracker.uri, "parent": parent,
                        "experiment_id": tracker.experiment_id, "run_id": run_id}
                # the steps run on this machine: what they log goes to files of the run
                # that the runner writes into their MLflow runs, and no step opens the store
                buffered = _buffered(tracker.uri)
                if buffered:
                    info["buffer"] = os.path.join(folder, "io")
                tracking = json.dumps(info)
        record.write(folder)
        self.report(f"running {len(pipeline.steps)} steps with kfp's local runner …")
        status, error, failed_task = "succeeded", None, None
        log_path = os.path.join(folder, "kfp.log")
        previous = os.getcwd()
        progress = _TaskProgress(self.report, [s.name for s in pipeline.steps])
        try:
            with open(log_path, "w", encoding="utf-8") as log, _quiet(log, progress):
                local.init(runner=local.SubprocessRunner(use_venv=False),
                           pipeline_root=os.path.join(folder, "kfp"), raise_on_error=True)
                pipeline_function = components.load_component_from_file(yaml_path)
                accepted = set(pipeline_function.component_spec.inputs or {})
                extra = {"nb2pipe_validation": json.dumps(validation) if validation else "",
                         "nb2pipe_register": self.register and self.tracking_mode != "none",
                         "nb2pipe_data_dir": self.data_dir or _file_uri(source.work_dir)}
                extra = {k: v for k, v in extra.items() if k in accepted}  # older conversions
                if "nb2pipe_data_dir" in accepted:
                    # as on a cluster: nothing of the notebook's folder but its declared data
                    # files (staged by each step) and the modules the components carry
                    scratch = os.path.join(folder, "scratch")
                    os.makedirs(scratch, exist_ok=True)
                    os.chdir(scratch)
                else:
                    os.chdir(source.work_dir)  # relative data paths, as in the notebook
                from nb2pipe.targets.kfp import kfp_arguments

                pipeline_function(**kfp_arguments(pipeline, parameters),
                                  nb2pipe_tracking=tracking,
                                  nb2pipe_artifacts=os.path.join(folder, "artifacts"), **extra)
        except Exception as failure:  # kfp raises RuntimeError for a failed task
            status = "failed"
            # kfp's message only names the task ("Inner task failed: 'b'", in colours);
            # what the step raised is in its log
            error = _ANSI.sub("", f"{type(failure).__name__}: {failure}")
            named = _FAILED_TASK.search(error)
            failed_task = named.group(1) if named else None
            error = _raised_in(log_path) or error
        finally:
            os.chdir(previous)
        self._record_tasks(record, folder, error, failed_task)
        for name, step_record in record.steps.items():
            if step_record.status == "skipped" and step_record.error:
                self.report(f"    {name}: {step_record.error['message']}")
        if buffered:
            self._log_steps(record, folder, parent, progress.times)
        record.status = status
        record.finished = now()
        record.seconds = round(time.perf_counter() - started, 3)
        record.metrics = _read_metrics(folder)
        record.write(folder)
        from nb2pipe.targets.kfp_level1 import has_gate

        self._finish_level1(record, folder, started_ms, gate_in_pipeline=has_gate(pipeline))
        if self.tracking_mode != "none" and record.tracking.get("run_id"):
            try:
                from nb2pipe.run.level1 import log_to_tracker

                log_to_tracker(self, record, folder)
                self.tracker.end(record.tracking["run_id"], status, record.metrics,
                                 [os.path.join(folder, "run.json")])
            except Exception as problem:  # the run's own result matters more than its logging
                self.report(f"warning: tracking failed: {problem}")
        if error:
            self.report(f"    failed: {error.splitlines()[0][:300]} (kfp's log: {log_path})")
        return record

    def _log_steps(self, record: RunRecord, folder: str, parent: str, times: dict) -> None:
        """Each step that ran gets its MLflow run under ``parent``, with what it logged into
        its file of the run (its metrics, and what autologging made); its status and times
        are those kfp's runner gave it."""
        from nb2pipe.autologbuffer import read_entries

        for name, step_record in record.steps.items():
            if step_record.status not in ("succeeded", "failed"):
                continue
            try:
                buffered = _buffer_path(folder, name)
                start, end = times.get(name) or times.get(f"{name}_step") or (None, None)
                made = [e["run_id"] for e in read_entries(buffered) if "run_id" in e]
                run = made[0] if made else self.tracker.step(
                    parent, name, start, tags={"nb2pipe.engine": "kfp"})
                step_record.tracking_run_id = run
                self._log_buffered(run, folder, name)
                self.tracker.end_step(run, step_record.status, None, [], None, end)
            except Exception as problem:  # the run's own result matters more than its logging
                self.report(f"warning: tracking step `{name}` failed: {problem}")

    def _record_tasks(self, record: RunRecord, folder: str, error: str | None,
                      failed_task: str | None = None) -> None:
        """Each step's status from the task folders kfp's local runner left; the step of
        ``failed_task`` (kfp's task name) gets ``error``."""
        root = os.path.join(folder, "kfp")
        finished: set[str] = set()
        for run_dir in os.listdir(root) if os.path.isdir(root) else []:
            for task in os.listdir(os.path.join(root, run_dir)):
                if os.path.exists(os.path.join(root, run_dir, task, "executor_output.json")):
                    finished.add(task)
        for name, step_record in record.steps.items():
            task = name.replace("_", "-")
            done = name in finished or task in finished or f"{task}-step" in finished
            this_failed = failed_task in (name, task, f"{task}-step")
            step_record.status = "succeeded" if done else (
                "failed" if error and (this_failed or failed_task is None) else "skipped")
            if not done and error and this_failed:
                step_record.error = {"message": error.splitlines()[0][:500],
                                     **_place_in(os.path.join(folder, "kfp.log"))}
        if error and not any(s.status == "failed" and s.error for s in record.steps.values()):
            first = next((s for s in record.steps.values() if s.status != "succeeded"), None)
            if first is not None:
                first.status = "failed"
                first.error = {"message": error.splitlines()[0][:500]}
        # kfp's local runner runs one task at a time and stops at the first that fails: say
        # why each step it did not reach has no result (the papermill engine runs the steps
        # that do not depend on the failed one)
        failed = next((n for n, s in record.steps.items() if s.status == "failed"), None)
        for name, step_record in record.steps.items():
            if step_record.status != "skipped" or failed is None:
                continue
            needs = failed in self.source.pipeline.upstream(name)
            step_record.error = {"message": f"not run: it needs step `{failed}`, which failed"
                                 if needs else f"not run: kfp's local runner stops at the "
                                 f"first task that fails (`{failed}`); --engine papermill "
                                 f"runs the steps that do not need it"}


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_FAILED_TASK = re.compile(r"Inner task failed: '([^']+)'")


_PLACE = re.compile(r"nb2pipe: failed in cell (\d+), line (\d+)")


def _place_in(log_path: str) -> dict:
    """The notebook cell and line a failing component named in kfp's log (the last one)."""
    try:
        with open(log_path, encoding="utf-8", errors="replace") as handle:
            found = _PLACE.findall(_ANSI.sub("", handle.read()))
    except OSError:
        return {}
    return {"cell": int(found[-1][0]), "line": int(found[-1][1])} if found else {}


def _raised_in(log_path: str) -> str:
    """The exception line of the last traceback in kfp's log (``ValueError: bad y``)."""
    try:
        with open(log_path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return ""
    starts = [i for i, line in enumerate(lines) if "Traceback (most recent call last):" in line]
    if not starts:
        return ""
    header = lines[starts[-1]]
    indent = len(header) - len(header.lstrip())
    for line in lines[starts[-1] + 1:]:
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            return _ANSI.sub("", line.strip())[:500]
    return ""


class _TaskProgress:
    """Reads kfp's "Executing task 'x'" and "Task 'x' finished with status S" lines as they go
    to the run's log, and tells the user which step runs and how it ended, as papermill's
    engine does."""

    _START = re.compile(r"Executing task '([^']+)'")
    _END = re.compile(r"Task '([^']+)' finished with status (\w+)")

    def __init__(self, report, steps: list[str]) -> None:
        self.say, self.steps = report, steps
        self.times: dict[str, tuple[int, int | None]] = {}  # (start, end), ms since the epoch

    out = err = None  # the user's streams, which kfp's output is kept away from

    def tell(self, message: str) -> None:
        with contextlib.redirect_stdout(self.out), contextlib.redirect_stderr(self.err):
            self.say(message)

    def line(self, text: str) -> None:
        text = _ANSI.sub("", text)
        start, end = self._START.search(text), self._END.search(text)
        if start:
            name = start.group(1).replace("-", "_")
            self.times[name] = (int(time.time() * 1000), None)
            number = self.steps.index(name) + 1 if name in self.steps else None
            self.tell(f"[{number}/{len(self.steps)}] {name} …" if number else f"{name} …")
        elif end:
            name = end.group(1).replace("-", "_")
            ended = int(time.time() * 1000)
            started = self.times.get(name, (ended,))[0]
            self.times[name] = (started, ended)
            seconds = (ended - started) / 1000
            outcome = "ok" if end.group(2) == "SUCCESS" else end.group(2).lower()
            self.tell(f"    {name}: {outcome} ({seconds:.1f} s)")


class _Tee:
    """A file that writes to the run's log and hands each whole line to ``on_line``."""

    def __init__(self, log, on_line) -> None:
        self.log, self.on_line, self.pending = log, on_line, ""

    def write(self, text: str) -> int:
        self.log.write(text)
        self.pending += text
        *lines, self.pending = self.pending.split("\n")
        for line in lines:
            try:
                self.on_line(line)
            except Exception:  # noqa: BLE001 - progress is a courtesy, never a failure
                pass
        return len(text)

    def flush(self) -> None:
        self.log.flush()

    def __getattr__(self, name):
        return getattr(self.log, name)


@contextlib.contextmanager
def _quiet(log, progress: _TaskProgress | None = None):
    """kfp's local runner logs every task at INFO on stdout: keep that in the run's log (and
    tell the user each task's start and end through ``progress``)."""
    if progress is not None:  # its lines go to where the user reads, not to the log
        progress.out, progress.err = sys.stdout, sys.stderr
        log = _Tee(log, progress.line)
    handler = logging.StreamHandler(log)
    loggers = [logging.getLogger(name) for name in ("kfp", "kfp.local", "root")]
    saved = [(lg, lg.handlers[:], lg.level, lg.propagate) for lg in loggers]
    for logger in loggers:
        logger.handlers = [handler]
        logger.propagate = False
    try:
        with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            yield
    finally:
        for logger, handlers, level, propagate in saved:
            logger.handlers, logger.level, logger.propagate = handlers, level, propagate


__all__ = ["KfpLocalRunner"]
