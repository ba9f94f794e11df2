"""``nb2pipe submit``: a converted pipeline sent to a Kubeflow Pipelines cluster."""

from __future__ import annotations

from nb2pipe.cli.console import EXIT_OK, UsageError


def add_parser(commands) -> None:
    submit = commands.add_parser(
        "submit", help="send a converted pipeline to a Kubeflow Pipelines cluster",
        description="Upload and start kfp/pipeline.yaml with kfp.Client.")
    submit.add_argument("source", metavar="DIR", help="a folder written by nb2pipe convert")
    submit.add_argument("--host", metavar="URL",
                        help="the Kubeflow Pipelines API, e.g. http://127.0.0.1:8080")
    submit.add_argument("--experiment", default="nb2pipe", metavar="NAME",
                        help="the experiment to run in (created if missing; default nb2pipe)")
    submit.add_argument("--run-name", metavar="NAME", help="the run's name (default: DIR's)")
    submit.add_argument("-p", "--parameter", action="append", default=[], metavar="NAME=VALUE",
                        help="a parameter value; NAME=A,B sends one run per value")
    submit.add_argument("-f", "--parameters-file", metavar="FILE",
                        help="parameter values (YAML or JSON)")
    submit.add_argument("--schedule", metavar="CRON",
                        help='a recurring run instead, e.g. "0 3 * * *" (03:00 every day)')
    submit.add_argument("--dry-run", action="store_true",
                        help="print what would be sent, as JSON, and send nothing")
    submit.add_argument("--timeout", type=float, default=30, metavar="SECONDS",
                        help="how long to wait for the cluster (default 30)")


def run(args) -> int:
    import json

    from nb2pipe.run.params import ParameterError
    from nb2pipe.run.source import RunError
    from nb2pipe.submit import SubmitError, dry_run, plan, submit

    try:
        package, sets = plan(args.source, args.parameter, args.parameters_file)
        if not args.host and not args.dry_run:
            raise UsageError("submit needs --host URL (the Kubeflow Pipelines API), or "
                             "--dry-run to see what it would send")
        if args.dry_run:
            print(json.dumps(dry_run(args.host, package, sets, args.experiment, args.run_name,
                                     args.schedule), indent=2))
            return EXIT_OK
        results = submit(args.host, package, sets, args.experiment, args.run_name,
                         args.schedule, args.timeout)
    except (SubmitError, RunError, ParameterError) as error:
        raise UsageError(str(error)) from None
    for result in results:
        print(f"{result.kind} {result.identifier}: {result.url}")
    return EXIT_OK
