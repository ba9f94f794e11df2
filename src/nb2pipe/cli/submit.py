"""``nb2pipe submit``: a converted pipeline sent to a Kubeflow Pipelines cluster."""

from __future__ import annotations

from nb2pipe.cli.console import EXIT_OK, UsageError


def add_parser(commands) -> None:
    submit = commands.add_parser(
        "submit", help="send a converted pipeline to a Kubeflow Pipelines cluster or an "
                       "Airflow DAGs folder",
        description="Upload and start kfp/pipeline.yaml with kfp.Client, or copy the Airflow "
                    "DAG and what it needs into a DAGs folder (--to airflow).")
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
    submit.add_argument("--upload", metavar="URI",
                        help="upload the notebook's data files to URI (s3://BUCKET/PREFIX, "
                             "gs://…, MinIO through s3:// and AWS_ENDPOINT_URL) and have the "
                             "steps read them there")
    submit.add_argument("--data-dir", metavar="URI",
                        help="the steps read the notebook's data files from URI, where they "
                             "already are (laid out as `--upload` does)")
    submit.add_argument("--dry-run", action="store_true",
                        help="print what would be sent (and uploaded) and send nothing; needs "
                             "no --host; the whole request with --output-format json")
    submit.add_argument("--output-format", choices=("text", "json"), default="text",
                        help="--dry-run's output: a summary (text) or the whole request (json)")
    submit.add_argument("--timeout", type=float, default=30, metavar="SECONDS",
                        help="how long to wait for the cluster (default 30)")
    submit.add_argument("--to", choices=("kubeflow", "airflow"), default="kubeflow",
                        help="kubeflow (default): a Kubeflow Pipelines cluster; airflow: copy "
                             "the Airflow DAG and what it needs into --dags-folder")
    submit.add_argument("--dags-folder", metavar="PATH",
                        help="with --to airflow: Airflow's DAGs folder")


def run(args) -> int:
    import json

    if args.to == "airflow":
        return _to_airflow(args)
    if args.dags_folder:
        raise UsageError("--dags-folder goes with --to airflow")
    from nb2pipe.run.params import ParameterError
    from nb2pipe.run.source import RunError
    from nb2pipe.submit import SubmitError, data_plan, data_summary, dry_run, plan, submit

    if not args.data_dir:  # `-p DATA_DIR=s3://…`, when the notebook has no such parameter
        from nb2pipe.run.params import split_data_dir
        from nb2pipe.run.source import RunError as SourceError
        from nb2pipe.run.source import load_source

        try:
            parameters = load_source(args.source).pipeline.parameters
        except SourceError as error:
            raise UsageError(str(error)) from None
        args.parameter, args.data_dir = split_data_dir(parameters, args.parameter)
    if args.upload and args.data_dir:
        raise UsageError("--upload URI also has the steps read from URI: drop --data-dir")
    data_dir = args.upload or args.data_dir
    try:
        package, sets = plan(args.source, args.parameter, args.parameters_file, data_dir)
        if not args.host and not args.dry_run:
            raise UsageError("submit needs --host URL (the Kubeflow Pipelines API), or "
                             "--dry-run to see what it would send")
        files = data_plan(args.source, args.parameter, args.parameters_file)
        if args.dry_run:
            request = dry_run(args.host, package, sets, args.experiment, args.run_name,
                              args.schedule)
            request["data"] = data_summary(files, args.upload, args.data_dir)
            if args.output_format == "json":
                print(json.dumps(request, indent=2))
            else:
                print(_dry_run_summary(request))
            return EXIT_OK
        if files and not data_dir:
            raise UsageError(
                f"the steps read {', '.join(f.path for f in files[:3])}"
                f"{' …' if len(files) > 3 else ''}, which a pod does not have: add --upload "
                f"s3://BUCKET/PREFIX (uploads them first) or --data-dir URI (already there)")
        if args.upload and files:
            from nb2pipe.run.datadir import upload

            sent, seconds = upload(files, args.upload, print)
            print(f"uploaded {len(files)} data files ({sent / 1e6:.1f} MB) in {seconds:.1f} s")
        results = submit(args.host, package, sets, args.experiment, args.run_name,
                         args.schedule, args.timeout)
    except (SubmitError, RunError, ParameterError) as error:
        raise UsageError(str(error)) from None
    for result in results:
        print(f"{result.kind} {result.identifier}: {result.url}")
    return EXIT_OK


def _dry_run_summary(request: dict) -> str:
    """What a dry run would do, in a few lines a person reads (the request is in JSON with
    --output-format json)."""
    lines = [f"would send {request.get('package')} (sha256 "
             f"{str(request.get('package_sha256'))[:12]}…) to "
             f"{request.get('host') or 'a cluster (give --host URL)'}, experiment "
             f"`{request.get('experiment')}`"]
    runs = request.get("runs") or []
    for number, run_request in enumerate(runs, 1):
        arguments = {k: v for k, v in (run_request.get("arguments") or {}).items()
                     if not k.startswith("nb2pipe_")}
        shown = ", ".join(f"{k}={v!r}" for k, v in sorted(arguments.items())) or "defaults"
        lines.append(f"  run {number}/{len(runs)}: {shown}")
    if request.get("schedule"):
        lines.append(f"  as a recurring run: {request['schedule']}")
    level1 = request.get("level1") or {}
    frames = (level1.get("validation") or {}).get("frames") or []
    if frames:
        lines.append(f"  data validation of {len(frames)} frame"
                     f"{'s' if len(frames) != 1 else ''}: {', '.join(sorted(frames))}")
    gate = level1.get("gate") or {}
    if gate:
        lines.append(f"  model gate: {', '.join(gate.get('conditions') or []) or 'no conditions'}"
                     f"; registers `{gate.get('registered_model')}`")
    data = request.get("data") or {}
    files = data.get("files") or []
    if files:
        lines.append(f"  data files: {len(files)} ({', '.join(str(f) for f in files[:3])}"
                     f"{' …' if len(files) > 3 else ''})")
    lines.append("the whole request: add --output-format json")
    return "\n".join(lines)


def _to_airflow(args) -> int:
    from nb2pipe.run.airflow import deploy
    from nb2pipe.run.source import RunError

    if not args.dags_folder:
        raise UsageError("--to airflow needs --dags-folder PATH (Airflow's DAGs folder)")
    if args.host or args.upload or args.data_dir or args.schedule:
        raise UsageError("--to airflow copies the DAG: --host, --upload, --data-dir and "
                         "--schedule are for Kubeflow (convert --schedule sets the DAG's)")
    try:
        deploy(args.source, args.dags_folder)
    except RunError as error:
        raise UsageError(str(error)) from None
    return EXIT_OK

