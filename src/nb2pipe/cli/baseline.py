"""``nb2pipe baseline``: accept a run's data as the new baseline of data validation."""

from __future__ import annotations

import os
import shlex
import sys

from nb2pipe.cli.console import EXIT_OK, UsageError


def add_parser(commands) -> None:
    baseline = commands.add_parser(
        "baseline", help="accept a run's data as the new validation baseline",
        description="Copy the schemas and profiles a run recorded for its frames into "
                    "DIR/validation/, after review: later runs are validated against them.")
    baseline.add_argument("source", metavar="DIR", help="a folder written by nb2pipe convert")
    baseline.add_argument("run_id", nargs="?", metavar="RUN_ID",
                          help="the run whose data to accept (default: the latest that "
                               "validated data)")
    baseline.add_argument("--runs-dir", metavar="DIR", help="where runs are (default: DIR/runs)")


def run(args) -> int:
    from nb2pipe.run.source import RunError, load_source, runs_dir_for
    from nb2pipe.run.validation import ValidationConfigError, accept

    try:
        source = load_source(args.source)
        if source.notebook is not None:
            raise UsageError("baselines belong to a converted pipeline: give its folder")
        run_id, frames, dropped = accept(source.folder, runs_dir_for(source, args.runs_dir),
                                         args.run_id)
    except (RunError, ValidationConfigError) as error:
        raise UsageError(str(error)) from None
    target = os.path.join(args.source, "validation")
    print(f"Accepted the data of run {run_id} as the baseline of {len(frames)} frame"
          f"{'s' if len(frames) != 1 else ''} in {target}/: {', '.join(frames)}",
          file=sys.stderr)
    if dropped:
        print(f"Dropped the baselines of {len(dropped)} frame{'s' if len(dropped) != 1 else ''} "
              f"the run did not reach ({', '.join(dropped)}): the next successful run records "
              f"them from the accepted data.", file=sys.stderr)
    print(f"Review the change (git diff {shlex.quote(target)}) and commit it; the next "
          f"`nb2pipe run {shlex.quote(args.source)}` validates against it.", file=sys.stderr)
    return EXIT_OK
