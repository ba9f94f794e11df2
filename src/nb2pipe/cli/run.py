"""``nb2pipe run``: a converted pipeline, or a notebook as one step, with parameters."""

from __future__ import annotations

import os
import shlex
import sys

from nb2pipe.cli.console import (
    EXIT_FINDINGS,
    EXIT_INVALID_DATA,
    EXIT_OK,
    EXIT_REJECTED,
    UsageError,
)


def add_parser(commands) -> None:
    run = commands.add_parser(
        "run", help="run a converted pipeline or a notebook, with parameters",
        description="Run a converted pipeline (or a notebook, as one step) with papermill.")
    run.add_argument("source", help="a folder written by nb2pipe convert, or a notebook")
    run.add_argument("-p", "--parameter", action="append", default=[], metavar="NAME=VALUE",
                     help="a parameter value; NAME=A,B runs one run per value (a sweep)")
    run.add_argument("-f", "--parameters-file", metavar="FILE",
                     help="parameter values (YAML or JSON); lists under `grid:` are swept")
    run.add_argument("--engine", choices=("papermill", "kfp-local", "airflow"),
                     default="papermill",
                     help="papermill (step notebooks, default), kfp-local (the compiled "
                          "Kubeflow pipeline, with kfp's local runner) or airflow (the "
                          "Airflow 3 DAG, with `airflow dags test`)")
    run.add_argument("--tracking", choices=("mlflow", "none"), default="mlflow",
                     help="MLflow (MLFLOW_TRACKING_URI, else sqlite:///mlflow.db) or none")
    run.add_argument("--jobs", "-j", type=int, default=1, metavar="N",
                     help="runs of a sweep to run at once")
    run.add_argument("--resume", metavar="RUN_ID", help="re-run what did not succeed in a run")
    run.add_argument("--runs-dir", metavar="DIR", help="where runs go (default: SOURCE/runs)")
    run.add_argument("--data-dir", metavar="URI",
                     help="kfp-local: where the steps read the notebook's data files: a folder, "
                          "file://, s3://BUCKET/PREFIX, gs://… (default: the notebook's folder; "
                          "each step runs in an empty folder of its own, as on a cluster)")
    run.add_argument("--upload", metavar="URI",
                     help="kfp-local: upload the notebook's data files to URI first (s3://…, "
                          "gs://…, a folder), then read them from there (implies --data-dir URI)")
    run.add_argument("--isolate", action="store_true",
                     help="a fresh kernel for every step (slower; default: one, reset between)")
    run.add_argument("--no-html", action="store_true", help="skip the HTML reports")
    run.add_argument("--if-changed", action="store_true",
                     help="run only when the data, the code or the parameters changed since "
                          "the last successful run (a retraining trigger for cron or CI)")
    run.add_argument("--no-validate", action="store_true",
                     help="skip data validation against the baselines in DIR/validation/")
    run.add_argument("--strict", action="store_true",
                     help="fail a step whose data drifted over the threshold (default: warn)")
    run.add_argument("--sort", metavar="METRIC",
                     help="a sweep's summary table, best first by METRIC (default: the "
                          "pipeline's first metric; lower is better for loss, error, mse…)")
    run.add_argument("--no-cache", action="store_true",
                     help="run every step, even one whose code, inputs, parameters and "
                          "packages are unchanged since an earlier run (default: reuse it)")
    run.add_argument("--cache-size", type=float, metavar="MB",
                     help="the step cache's size limit in DIR/.nb2pipe-cache (default: "
                          "NB2PIPE_CACHE_MB, else 2048)")
    run.add_argument("--no-register", action="store_true",
                     help="check the model gate but register nothing in MLflow's registry")
    run.add_argument("--autolog-plots", action="store_true",
                     help="let scikit-learn's autologging draw its training plots (confusion "
                          "matrix, ROC and precision-recall curves): 1.5 s of CPU per fit "
                          "(default: its parameters, metrics and datasets only; "
                          "NB2PIPE_AUTOLOG_PLOTS=1)")


def _terminate_as_interrupt() -> None:
    """SIGTERM (a stop that SIGINT did not end, a container shutting down) ends a run as
    Ctrl-C does: the run is recorded as interrupted, its kernels are shut down, and it can
    be resumed."""
    import signal

    def interrupt(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second one ends it at once
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, interrupt)
        if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
            # inherited ignored (a server started with `nohup … &`, a background job): Ctrl-C
            # and the panel's Stop must still stop a run
            signal.signal(signal.SIGINT, signal.default_int_handler)
    except ValueError:  # not the main thread (run called as a library)
        pass


def run(args) -> int:
    if not getattr(args, "autolog_plots", False):
        return _run(args)
    import os

    saved = os.environ.get(AUTOLOG_PLOTS)
    os.environ[AUTOLOG_PLOTS] = "1"  # the steps' kernels and processes inherit it
    try:
        return _run(args)
    finally:
        if saved is None:
            os.environ.pop(AUTOLOG_PLOTS, None)
        else:
            os.environ[AUTOLOG_PLOTS] = saved


#: set to 1, autologging draws scikit-learn's training plots (:func:`nb2pipe.runtime.start_step`)
AUTOLOG_PLOTS = "NB2PIPE_AUTOLOG_PLOTS"


def _run(args) -> int:
    from nb2pipe.run.engine import RunError, Runner, load_source
    from nb2pipe.run.params import ParameterError
    from nb2pipe.tracking import TrackingError

    def report(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    _terminate_as_interrupt()
    try:
        source = load_source(args.source)
        if args.resume and (args.parameter or args.parameters_file):
            raise UsageError("--resume re-runs with the run's own parameters: drop -p/-f")
        if args.resume and args.if_changed:
            raise UsageError("--if-changed decides whether to start a run: drop --resume")
        sets = None
        if args.engine == "kfp-local" and not args.data_dir:
            from nb2pipe.run.params import split_data_dir

            args.parameter, args.data_dir = split_data_dir(source.pipeline.parameters,
                                                           args.parameter)
        if not args.resume:
            from nb2pipe.run.params import parameter_sets

            sets = parameter_sets(source.pipeline.parameters, args.parameter,
                                  args.parameters_file)
            if args.if_changed:
                sets = _changed(source, sets, args)
                if not sets:
                    return EXIT_OK
        runner_class = Runner
        if args.engine == "kfp-local":
            from nb2pipe.run.kfp_local import KfpLocalRunner as runner_class
        elif args.engine == "airflow":
            from nb2pipe.run.airflow import AirflowRunner as runner_class
        runner = runner_class(source, tracking=args.tracking, runs_dir=args.runs_dir,
                              isolate=args.isolate, html=not args.no_html, report=report,
                              validate=False if args.no_validate else None,
                              strict=True if args.strict else None,
                              register=not args.no_register,
                              cache=args.engine == "papermill" and not args.no_cache,
                              cache_size=args.cache_size)
        runner.progress = sys.stderr.isatty() and args.jobs <= 1
        if args.data_dir or args.upload:
            if args.engine != "kfp-local":
                raise UsageError("--data-dir and --upload are for --engine kfp-local "
                                 "(papermill steps read the data in the notebook's folder)")
            if args.data_dir and args.upload:
                raise UsageError("--upload URI also reads from URI: drop --data-dir")
            if args.upload:
                _upload(source, sets or [{}], args.upload, report)
            runner.data_dir = args.data_dir or args.upload
            runner.uploaded = bool(args.upload)
        try:
            if args.resume:
                records = [runner.resume(args.resume)]
            else:
                if len(sets) > 1:
                    report(f"{len(sets)} parameter sets: {len(sets)} runs")
                records = runner.run_all(sets, jobs=max(1, args.jobs))
        except KeyboardInterrupt:
            return _interrupted(runner, args)
    except (RunError, ParameterError, TrackingError) as error:
        raise UsageError(str(error)) from None
    failed = invalid = rejected = 0
    from nb2pipe.run.engine import sweep_columns

    varying = sweep_columns([r.parameters for r in records]) if len(records) > 1 else []
    for record in records:
        folder = os.path.join(runner.runs_dir, record.run_id)
        label = "[" + ", ".join(f"{k}={record.parameters.get(k)!r}" for k in varying) + "] " \
            if varying else ""
        if record.validation.get("status") == "failed":
            invalid += 1
        if record.gate and record.gate.get("passed") is False:
            rejected += 1
        if record.status == "succeeded":
            metrics = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                for k, v in record.metrics.items())
            print(f"{label}run {record.run_id}: succeeded in {record.seconds:.1f} s"
                  + (f"; {metrics}" if metrics else "") + f" ({folder})")
            continue
        failed += 1
        print(f"{label}run {record.run_id}: {record.status} ({folder})")
        frames = record.validation.get("frames") or {}
        for name, frame in frames.items():
            if frame.get("status") == "failed":
                print(f"  data validation failed for `{name}` (steps that use it did not run; "
                      f"report: {os.path.join(folder, 'validation', name + '.json')}):",
                      file=sys.stderr)
                for failure in frame.get("failures") or []:
                    print(f"    - {_failure(failure)}", file=sys.stderr)
                for column in frame.get("drifted") or []:
                    print(f"    - column `{column}` drifted: PSI {frame['drift'][column]:.2f}",
                          file=sys.stderr)
        if invalid:
            print(f"  if the new data is right, accept it as the baseline: nb2pipe baseline "
                  f"{shlex.quote(args.source)} {record.run_id}", file=sys.stderr)
        for name, step in record.steps.items():
            if step.status == "failed" and step.error and not (
                    invalid and "DataValidationError" in str(step.error.get("message"))):
                where = f" in cell {step.error['cell']}" if step.error.get("cell") else \
                    f" {step.error['during']}" if step.error.get("during") else ""
                line = f", line {step.error['line']}" if step.error.get("line") else ""
                if step.error.get("cell") and runner.source.notebook is None:
                    # the cell numbers are the converted notebook's: name it (with --auto,
                    # the tagged copy, whose first cell the tidy may have changed)
                    line += f" of {os.path.basename(runner.source.pipeline.notebook)}"
                print(f"  step `{name}` failed{where}{line}: {step.error.get('message')}",
                      file=sys.stderr)
                if step.notebook:
                    print(f"  its executed notebook: {os.path.join(folder, step.notebook)}",
                          file=sys.stderr)
                elif os.path.exists(os.path.join(folder, "kfp.log")):
                    print(f"  kfp's log: {os.path.join(folder, 'kfp.log')}", file=sys.stderr)
        if not invalid:
            print(f"  fix it, then: {_again(args, record.run_id, record.parameters)}",
                  file=sys.stderr)
    if records and records[0].tracking.get("uri") and args.tracking != "none":
        uri = records[0].tracking["uri"]
        report(f"Tracked in {uri}" + (f" (browse: mlflow ui --backend-store-uri {uri})"
                                      if uri.startswith("sqlite") else ""))
    for record in records:
        if record.gate:
            print(_gate_line(record, len(records) > 1))
    if len(records) > 1:
        from nb2pipe.run.sweep import summarize

        for line in summarize(records, runner.runs_dir, source.pipeline.metrics, args.sort):
            print(line)
    if invalid:
        return EXIT_INVALID_DATA
    if failed:
        return EXIT_FINDINGS
    return EXIT_REJECTED if rejected else EXIT_OK


def _failure(failure: dict) -> str:
    where = f"column `{failure['column']}`" if failure.get("column") else "the frame"
    rows = failure.get("rows") or 0
    examples = ", ".join(repr(e) for e in failure.get("examples") or [])
    return (f"{where} {failure['check']}" + (f", {rows} row{'s' if rows != 1 else ''}" if rows
                                             else "") + (f" (e.g. {examples})" if examples
                                                         else ""))


def _gate_line(record, label: bool) -> str:
    """The last line: the model gate's decision and its reasons."""
    gate = record.gate
    prefix = f"run {record.run_id}: " if label else ""
    if gate.get("passed") is None:
        return f"{prefix}model gate not checked: {gate.get('error')}"
    reasons = "; ".join(gate.get("reasons") or []) or "no conditions"
    if gate.get("passed") and not gate.get("reasons") and gate.get("registered"):
        registered = gate["registered"]
        return (f"{prefix}no model gate declared: registered {registered['name']} version "
                f"{registered['version']} as `champion` (declare conditions with convert "
                f"--gate, docs/level1.md)")
    if gate.get("passed"):
        registered = gate.get("registered")
        if registered:
            champion = gate.get("champion")
            before = f"; version {champion['version']} is now `previous`" if champion else ""
            return (f"{prefix}model gate passed ({reasons}): registered "
                    f"{registered['name']} version {registered['version']} as `champion`"
                    f"{before}")
        note = gate.get("note") or "not registered"
        if not (record.tracking or {}).get("uri"):
            note = "not registered: tracking is off (--tracking none)"
        if not gate.get("reasons"):
            return f"{prefix}no model gate declared; {note}"
        return f"{prefix}model gate passed ({reasons}); {note}"
    champion = gate.get("champion")
    stays = f"`champion` stays version {champion['version']}" if champion else \
        "nothing registered"
    return f"{prefix}model gate NOT passed ({reasons}): {stays} (exit code {EXIT_REJECTED})"


def _changed(source, sets: list[dict], args) -> list[dict]:
    """The parameter sets whose data, code or parameters changed since their last successful
    run (``--if-changed``); says "up to date" for the others."""
    from nb2pipe.run.lineage import last_success, lineage
    from nb2pipe.run.source import runs_dir_for

    runs_dir = runs_dir_for(source, args.runs_dir)
    changed = []
    for parameters in sets:
        current = lineage(source, parameters, args.engine,  # (an upload sends local files)
                          getattr(args, "data_dir", None))
        last = last_success(runs_dir, parameters)
        if last is not None and last[1].get("fingerprint") == current["fingerprint"]:
            label = f" for {parameters}" if len(sets) > 1 else ""
            print(f"up to date{label} (last run {last[0]}): the data, the code and the "
                  f"parameters are unchanged", file=sys.stderr)
            continue
        changed.append(parameters)
    return changed


def _again(args, run_id: str, parameters: dict | None = None) -> str:
    """The command that continues run ``run_id``, right for the engine that ran it: papermill
    resumes from the failed step; kfp's local runner has no resume, so the run starts again,
    with the run's own parameters."""
    import json

    source = shlex.quote(args.source)
    if getattr(args, "engine", "papermill") == "airflow":
        return f"nb2pipe run {source} --engine airflow   (a new run: every step runs again)"
    if getattr(args, "engine", "papermill") == "kfp-local":
        values = " ".join(
            "-p " + shlex.quote(f"{name}={value if isinstance(value, str) else json.dumps(value)}")
            for name, value in (parameters or {}).items())
        # the data is where the run read it: uploaded once, it is read from there again
        data_dir = getattr(args, "upload", None) or getattr(args, "data_dir", None)
        data = f" --data-dir {shlex.quote(data_dir)}" if data_dir else ""
        return (f"nb2pipe run {source} --engine kfp-local{data}" +
                (f" {values}" if values else "") +
                "   (kfp's local runner cannot resume: every step runs again)")
    return f"nb2pipe run {source} --resume {run_id}"


def _interrupted(runner, args) -> int:
    """Ctrl-C: say which runs stopped and how to go on; exit code 130, as a shell does."""
    started = list(getattr(runner, "started_runs", []))
    if not started:
        print("interrupted before any run started", file=sys.stderr)
        return 130
    for run_id in started:
        print(f"interrupted: run {run_id} stopped ({os.path.join(runner.runs_dir, run_id)})",
              file=sys.stderr)
    import json

    try:
        with open(os.path.join(runner.runs_dir, started[-1], "run.json"),
                  encoding="utf-8") as handle:
            parameters = json.load(handle).get("parameters")
    except (OSError, ValueError):
        parameters = None
    print(f"  go on with: {_again(args, started[-1], parameters)}", file=sys.stderr)
    return 130


def _upload(source, sets: list[dict], uri: str, report) -> None:
    """The data files of every parameter set, to ``uri``, with what it took."""
    from nb2pipe.run.datadir import sweep_data_files, upload

    files = sweep_data_files(source, sets)
    if not files:
        report(f"no data files to upload to {uri} (the notebook reads none by a known path)")
        return
    sent, seconds = upload(files, uri, report)
    report(f"uploaded {len(files)} data file{'s' if len(files) != 1 else ''} "
           f"({sent / 1e6:.1f} MB) to {uri} in {seconds:.1f} s")
