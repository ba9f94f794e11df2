"""``nb2pipe convert``: a tagged notebook (or, with ``--auto``, any notebook) into a folder of
pipeline files."""

from __future__ import annotations

import os
import shlex
import sys

from nb2pipe.cli.console import EXIT_FINDINGS, EXIT_OK, UsageError, counted, csv


def add_parser(commands) -> None:
    convert = commands.add_parser(
        "convert", help="turn a tagged notebook (or, with --auto, any notebook) into a pipeline",
        description="Convert a tagged notebook into a folder of pipeline files.")
    convert.add_argument("notebook", help="the tagged notebook (.ipynb)")
    convert.add_argument("-o", "--output", metavar="DIR",
                         help="the folder to write (default: NOTEBOOK's name + '-pipeline')")
    convert.add_argument("--target", type=csv, metavar="NAMES",
                         help="targets to write (default: components,papermill,project,kfp; "
                              "also airflow; all: every one)")
    convert.add_argument("--force", action="store_true",
                         help="replace DIR even if nb2pipe did not write it")
    convert.add_argument("--auto", action="store_true",
                         help="propose steps for an untagged notebook, write the tags into "
                              "NOTEBOOK.tagged.ipynb and convert that")
    convert.add_argument("--gate", action="append", default=[], metavar="CONDITION",
                         help='a condition the model must meet to be registered and become '
                              'the champion, e.g. "accuracy>=0.9" or "f1>=champion-0.01" '
                              '(repeat for more; docs/level1.md)')
    convert.add_argument("--image", metavar="IMAGE",
                         help="the Kubeflow components' image, built from kfp/Dockerfile: they "
                              "install nothing when they start (default: python:3.11-slim, "
                              "installing what they need); the Airflow pods' image with "
                              "--airflow-tasks pod")
    convert.add_argument("--airflow-tasks", choices=("python", "pod"), default="python",
                         help="where the Airflow DAG's tasks run: in the worker's Python "
                              "(default), or each in a Kubernetes pod of --image "
                              "(KubernetesPodOperator; docs/airflow.md)")
    convert.add_argument("--schedule", metavar="CRON",
                         help='the Airflow DAG\'s schedule, e.g. "0 3 * * *" or "@daily" '
                              "(default: the data files it reads, as Airflow assets)")
    convert.add_argument("--in-place", action="store_true",
                         help="with --auto: write the tags into NOTEBOOK itself")


def run(args) -> int:
    from nb2pipe.auto import AutoTagError
    from nb2pipe.convert import ConvertError, convert, convert_auto
    from nb2pipe.notebook.reader import NotebookError
    from nb2pipe.output.text import headline, use_colour
    from nb2pipe.pipeline.build import PipelineError
    from nb2pipe.targets import DEFAULT_TARGETS, UnknownTarget

    output = args.output or os.path.splitext(args.notebook)[0] + "-pipeline"
    targets = tuple(args.target) if args.target else DEFAULT_TARGETS
    if "all" in targets:
        from nb2pipe.targets import available

        targets = tuple(dict.fromkeys([*DEFAULT_TARGETS, *available()]))
    if "project" not in targets:
        targets = ("project",) + targets  # pipeline.json is what every target stands on
    if args.in_place and not args.auto:
        raise UsageError("--in-place goes with --auto (it writes the proposed tags back)")
    proposal = tagged = None
    try:
        if args.auto and not args.in_place and _is_tagged(args.notebook):
            # tags are there already (a review, `check --fix --unsafe-fixes`): use them
            print(f"{args.notebook} already has pipeline tags: converting them as they are "
                  f"(as convert without --auto does; remove them to have new ones proposed)",
                  file=sys.stderr)
            conversion = convert(args.notebook, output, targets, force=args.force,
                                 gate=args.gate, image=args.image, schedule=args.schedule,
                                 airflow_tasks=args.airflow_tasks)
        elif args.auto:
            proposal, conversion, tagged = convert_auto(args.notebook, output, targets,
                                                        force=args.force, in_place=args.in_place,
                                                        gate=args.gate, image=args.image,
                                                        schedule=args.schedule,
                                                        airflow_tasks=args.airflow_tasks)
        else:
            conversion = convert(args.notebook, output, targets, force=args.force,
                                 gate=args.gate, image=args.image, schedule=args.schedule,
                                 airflow_tasks=args.airflow_tasks)
    except AutoTagError as error:
        for problem in error.problems:
            print(f"{args.notebook}: {problem}", file=sys.stderr)
        print(f"error: nb2pipe could not propose steps for {args.notebook} "
              f"({len(error.problems)} problem{'s' if len(error.problems) != 1 else ''}); "
              f"nothing was written", file=sys.stderr)
        return EXIT_FINDINGS
    except NotebookError as error:
        raise UsageError(f"{args.notebook}: {error.message}; {error.hint}") from None
    except PipelineError as error:
        colour = use_colour(sys.stderr)
        for diagnostic in error.diagnostics:
            print(headline(diagnostic, colour), file=sys.stderr)
            if diagnostic.help:
                print(f"  = help: {diagnostic.help}", file=sys.stderr)
        print(f"error: {args.notebook} cannot become a pipeline ({len(error.diagnostics)} "
              f"problem{'s' if len(error.diagnostics) != 1 else ''}); nothing was written",
              file=sys.stderr)
        return EXIT_FINDINGS
    except (ConvertError, UnknownTarget) as error:
        raise UsageError(str(error).strip("'\"")) from None
    pipeline = conversion.pipeline
    if proposal is not None:
        count = len(proposal.steps)
        print(f"Proposed {count} step{'s' if count != 1 else ''} for {args.notebook}:",
              file=sys.stderr)
        for line in proposal.summary():
            print(f"  {line}", file=sys.stderr)
        print(f"Wrote the tags into {tagged}: review them there, then convert it again "
              f"without --auto.", file=sys.stderr)
    for warning in conversion.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    steps = ", ".join(s.name for s in pipeline.steps)
    print(f"Wrote {output}/ ({len(conversion.files)} files): {counted(pipeline.steps, 'step')} "
          f"({steps}), {counted(pipeline.parameters, 'parameter')}.", file=sys.stderr)
    if conversion.local_modules:
        print(f"Local modules shipped inside the Kubeflow components (not in requirements.txt): "
              f"{', '.join(conversion.local_modules)}", file=sys.stderr)
    for line in _level1(pipeline, output):
        print(line, file=sys.stderr)
    print(f"Run it: nb2pipe run {shlex.quote(output)}", file=sys.stderr)
    return EXIT_OK


def _level1(pipeline, output: str) -> list[str]:
    """What the pipeline does for level 1, in the summary."""
    lines = ["Level 1:"]
    if pipeline.validation.get("enabled", True):
        lines.append(f"  data validation of the frames between steps (the first successful run "
                     f"records baselines in {os.path.join(output, 'validation')}/)")
    model = pipeline.model
    if model:
        gate = ", ".join(pipeline.gate) or "no conditions: every successful run"
        lines.append(f"  model `{model['name']}` (step `{model['step']}`) registered in MLflow "
                     f"as `{pipeline.name}` when the gate passes ({gate})")
    elif pipeline.gate:
        lines.append(f"  model gate: {', '.join(pipeline.gate)} (no trained model found to "
                     f"register)")
    from nb2pipe.analysis.inputs import Unresolved, resolve

    defaults = {p.name: p.default for p in pipeline.parameters}
    data = []
    for read in pipeline.data:
        try:
            data.append(resolve(read["path"], defaults))
        except Unresolved:
            data.append(f"{read['path']} (computed at run time: not hashed)")
    if data:
        lines.append(f"  lineage: hashes of {', '.join(data[:4])}"
                     f"{' …' if len(data) > 4 else ''} (nb2pipe run --if-changed)")
    return lines if len(lines) > 1 else []


def _is_tagged(path: str) -> bool:
    from nb2pipe.notebook import read_notebook
    from nb2pipe.notebook.reader import NotebookError
    from nb2pipe.pipeline.build import is_tagged

    try:
        return is_tagged(read_notebook(path))
    except (NotebookError, OSError):
        return False  # convert_auto says what is wrong with it
