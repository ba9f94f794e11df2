"""``nb2pipe run``: a converted pipeline, or a notebook as one step, with parameters."""

from __future__ import annotations

import os
import sys

from nb2pipe.cli.console import EXIT_FINDINGS, EXIT_OK, UsageError


def add_parser(commands) -> None:
    run = commands.add_parser(
        "run", help="run a converted pipeline or a notebook, with parameters",
        description="Run a converted pipeline (or a notebook, as one step) with papermill.")
    run.add_argument("source", help="a folder written by nb2pipe convert, or a notebook")
    run.add_argument("-p", "--parameter", action="append", default=[], metavar="NAME=VALUE",
                     help="a parameter value; NAME=A,B runs one run per value (a sweep)")
    run.add_argument("-f", "--parameters-file", metavar="FILE",
                     help="parameter values (YAML or JSON); lists under `grid:` are swept")
    run.add_argument("--engine", choices=("papermill", "kfp-local"), default="papermill",
                     help="papermill (step notebooks, default) or kfp-local (the compiled "
                          "Kubeflow pipeline, with kfp's local runner)")
    run.add_argument("--tracking", choices=("mlflow", "none"), default="mlflow",
                     help="MLflow (MLFLOW_TRACKING_URI, else sqlite:///mlflow.db) or none")
    run.add_argument("--jobs", "-j", type=int, default=1, metavar="N",
                     help="runs of a sweep to run at once")
    run.add_argument("--resume", metavar="RUN_ID", help="re-run what did not succeed in a run")
    run.add_argument("--runs-dir", metavar="DIR", help="where runs go (default: SOURCE/runs)")
    run.add_argument("--isolate", action="store_true",
                     help="a fresh kernel for every step (slower; default: one, reset between)")
    run.add_argument("--no-html", action="store_true", help="skip the HTML reports")


def run(args) -> int:
    from nb2pipe.run.engine import RunError, Runner, load_source
    from nb2pipe.run.params import ParameterError
    from nb2pipe.tracking import TrackingError

    def report(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    try:
        source = load_source(args.source)
        runner_class = Runner
        if args.engine == "kfp-local":
            from nb2pipe.run.kfp_local import KfpLocalRunner as runner_class
        runner = runner_class(source, tracking=args.tracking, runs_dir=args.runs_dir,
                              isolate=args.isolate, html=not args.no_html, report=report)
        if args.resume:
            if args.parameter or args.parameters_file:
                raise UsageError("--resume re-runs with the run's own parameters: drop -p/-f")
            records = [runner.resume(args.resume)]
        else:
            sets = runner.parameter_sets(args.parameter, args.parameters_file)
            if len(sets) > 1:
                report(f"{len(sets)} parameter sets: {len(sets)} runs")
            records = runner.run_all(sets, jobs=max(1, args.jobs))
    except (RunError, ParameterError, TrackingError) as error:
        raise UsageError(str(error)) from None
    failed = 0
    for record in records:
        folder = os.path.join(runner.runs_dir, record.run_id)
        if record.status == "succeeded":
            metrics = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                for k, v in record.metrics.items())
            print(f"run {record.run_id}: succeeded in {record.seconds:.1f} s"
                  + (f"; {metrics}" if metrics else "") + f" ({folder})")
            continue
        failed += 1
        print(f"run {record.run_id}: {record.status} ({folder})")
        for name, step in record.steps.items():
            if step.status == "failed" and step.error:
                where = f" in cell {step.error['cell']}" if step.error.get("cell") else ""
                line = f", line {step.error['line']}" if step.error.get("line") else ""
                print(f"  step `{name}` failed{where}{line}: {step.error.get('message')}",
                      file=sys.stderr)
                if step.notebook:
                    print(f"  its executed notebook: {os.path.join(folder, step.notebook)}",
                          file=sys.stderr)
                elif os.path.exists(os.path.join(folder, "kfp.log")):
                    print(f"  kfp's log: {os.path.join(folder, 'kfp.log')}", file=sys.stderr)
        print(f"  fix it, then: nb2pipe run {args.source} --resume {record.run_id}",
              file=sys.stderr)
    if records and records[0].tracking.get("uri"):
        uri = records[0].tracking["uri"]
        report(f"Tracked in {uri}" + (f" (browse: mlflow ui --backend-store-uri {uri})"
                                      if uri.startswith("sqlite") else ""))
    return EXIT_FINDINGS if failed else EXIT_OK
