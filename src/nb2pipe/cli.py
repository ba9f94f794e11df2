"""The ``nb2pipe`` command: parse arguments, load settings, call the library, print, exit.

Every subcommand imports what it needs inside its function, so ``nb2pipe --version`` and
``nb2pipe check`` start without loading anything heavy.
"""

from __future__ import annotations

import argparse
import os
import sys

from nb2pipe import __version__

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class UsageError(Exception):
    """A problem with what the user asked for: printed as ``error: …``, exit code 2."""


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nb2pipe",
        description="Lint notebooks for level-0 MLOps habits and turn them into pipelines.")
    parser.add_argument("--version", action="version", version=f"nb2pipe {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = commands.add_parser(
        "check", help="check notebooks for level-0 anti-patterns",
        description="Check notebooks (folders are walked) and print diagnostics.")
    check.add_argument("paths", nargs="*", default=["."], metavar="PATH",
                       help="notebooks or folders (default: the current folder)")
    check.add_argument("--select", type=_csv, metavar="CODES",
                       help="rules to enable: codes, prefixes (NB1) or ALL")
    check.add_argument("--extend-select", type=_csv, default=[], metavar="CODES",
                       help="rules to enable on top of the selection")
    check.add_argument("--ignore", type=_csv, default=[], metavar="CODES",
                       help="rules to disable")
    check.add_argument("--exclude", type=_csv, metavar="PATTERNS",
                       help="files and folders to leave out when walking folders, instead of "
                            "the configured or default list (names, paths, globs)")
    check.add_argument("--extend-exclude", type=_csv, default=[], metavar="PATTERNS",
                       help="files and folders to leave out, on top of the configured list")
    check.add_argument("--output-format", choices=("full", "concise", "json", "sarif", "github"),
                       help="how to print diagnostics (default: full)")
    check.add_argument("--fix", action="store_true", help="apply safe fixes to the notebooks")
    check.add_argument("--unsafe-fixes", action="store_true",
                       help="also apply unsafe fixes (with --fix or --diff)")
    check.add_argument("--diff", action="store_true",
                       help="show what --fix would change, without writing")
    check.add_argument("--maturity", action="store_true",
                       help="print the level 0 → level 1 checklist per notebook and folder")
    check.add_argument("--add-noqa", action="store_true",
                       help="suppress every current finding in the notebooks (cell tags "
                            "nb2pipe:ignore=…, notebook metadata), to adopt the rules on old "
                            "notebooks")
    check.add_argument("--stdin-filename", metavar="PATH",
                       help="with `-` as the path: the notebook read from standard input is "
                            "reported, configured and looked up as this file")
    check.add_argument("--statistics", action="store_true",
                       help="print how many times each rule fired instead of each diagnostic")
    check.add_argument("--exit-zero", action="store_true",
                       help="exit with 0 even when there are diagnostics")
    check.add_argument("--output-file", "-o", metavar="PATH",
                       help="write the report to this file instead of standard output (for CI: "
                            "`--output-format sarif -o nb2pipe.sarif`)")
    check.add_argument("--quiet", "-q", action="store_true",
                       help="print the diagnostics and nothing else (no summary)")
    check.add_argument("--silent", "-s", action="store_true",
                       help="print nothing; the exit code still says whether there were "
                            "diagnostics")
    check.add_argument("--show-files", action="store_true",
                       help="list the notebooks that would be checked, and stop")
    check.add_argument("--show-settings", action="store_true",
                       help="print the settings in force (configuration file, rules, "
                            "exclusions…), and stop")
    check.add_argument("--config", metavar="PYPROJECT",
                       help="read [tool.nb2pipe] from this file instead of the nearest one")
    check.add_argument("--jobs", "-j", type=int, metavar="N",
                       help="processes to use for many files (default: one per core)")
    check.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    check.add_argument("--no-cache", action="store_true",
                       help="check every notebook, even unchanged ones (no .nb2pipe_cache/)")
    check.add_argument("--cache-dir", metavar="DIR",
                       help="where results are kept between runs (default: .nb2pipe_cache/ "
                            "in the project; or $NB2PIPE_CACHE_DIR)")

    convert = commands.add_parser(
        "convert", help="turn a tagged notebook (or, with --auto, any notebook) into a pipeline",
        description="Convert a tagged notebook into a folder of pipeline files.")
    convert.add_argument("notebook", help="the tagged notebook (.ipynb)")
    convert.add_argument("-o", "--output", metavar="DIR",
                         help="the folder to write (default: NOTEBOOK's name + '-pipeline')")
    convert.add_argument("--target", type=_csv, metavar="NAMES",
                         help="targets to write (default: components,papermill,project,kfp)")
    convert.add_argument("--force", action="store_true",
                         help="replace DIR even if nb2pipe did not write it")
    convert.add_argument("--auto", action="store_true",
                         help="propose steps for an untagged notebook, write the tags into "
                              "NOTEBOOK.tagged.ipynb and convert that")
    convert.add_argument("--in-place", action="store_true",
                         help="with --auto: write the tags into NOTEBOOK itself")

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

    submit = commands.add_parser(
        "submit", help="send a converted pipeline to a Kubeflow Pipelines cluster",
        description="Upload and start kfp/pipeline.yaml with kfp.Client.")
    submit.add_argument("source", metavar="DIR", help="a folder written by nb2pipe convert")
    submit.add_argument("--host", required=True, metavar="URL",
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

    rule = commands.add_parser("rule", help="explain a rule",
                               description="Print a rule's documentation.")
    rule.add_argument("code", nargs="?", help="a rule code or name, e.g. NB105")
    rule.add_argument("--all", action="store_true", help="list every rule")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            return run_check(args)
        if args.command == "rule":
            return run_rule(args)
        if args.command == "convert":
            return run_convert(args)
        if args.command == "run":
            return run_run(args)
        if args.command == "submit":
            return run_submit(args)
        parser.print_help(sys.stderr)
        return EXIT_ERROR
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except OSError as error:  # a folder that cannot be written, a disk that is full…
        where = error.filename or ""
        print(f"error: {where + ': ' if where else ''}{error.strerror or error}; check that "
              f"the folder exists and can be written", file=sys.stderr)
        return EXIT_ERROR


# -- nb2pipe rule ---------------------------------------------------------------------------

def run_rule(args) -> int:
    from nb2pipe.lint.registry import RULES, SelectionError, rule_for

    if args.all or not args.code:
        width = max(len(r.name) for r in RULES.values())
        for code, rule in sorted(RULES.items()):
            fix = "fix" if rule.fix_safety else "   "
            print(f"{code}  {rule.name:<{width}}  {fix}  {rule.summary()}")
        return EXIT_OK
    try:
        rule = rule_for(args.code)
    except SelectionError as error:
        raise UsageError(str(error)) from None
    print(rule.markdown(), end="")
    return EXIT_OK


# -- nb2pipe convert -------------------------------------------------------------------------

def run_convert(args) -> int:
    from nb2pipe.convert import ConvertError, convert, convert_auto
    from nb2pipe.notebook.reader import NotebookError
    from nb2pipe.pipeline.auto import AutoTagError
    from nb2pipe.output.text import headline, use_colour
    from nb2pipe.pipeline.build import PipelineError
    from nb2pipe.targets import DEFAULT_TARGETS

    output = args.output or os.path.splitext(args.notebook)[0] + "-pipeline"
    targets = tuple(args.target) if args.target else DEFAULT_TARGETS
    if "project" not in targets:
        targets = ("project",) + targets  # pipeline.json is what every target stands on
    if args.in_place and not args.auto:
        raise UsageError("--in-place goes with --auto (it writes the proposed tags back)")
    proposal = tagged = None
    try:
        if args.auto:
            proposal, conversion, tagged = convert_auto(args.notebook, output, targets,
                                                        force=args.force, in_place=args.in_place)
        else:
            conversion = convert(args.notebook, output, targets, force=args.force)
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
    except (ConvertError, KeyError) as error:
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
    print(f"Wrote {output}/ ({len(conversion.files)} files): {_count(pipeline.steps, 'step')} "
          f"({steps}), {_count(pipeline.parameters, 'parameter')}.", file=sys.stderr)
    print(f"Run it: nb2pipe run {output}", file=sys.stderr)
    return EXIT_OK


# -- nb2pipe run -----------------------------------------------------------------------------

def run_run(args) -> int:
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


# -- nb2pipe submit --------------------------------------------------------------------------

def run_submit(args) -> int:
    import json

    from nb2pipe.run.engine import RunError
    from nb2pipe.run.params import ParameterError
    from nb2pipe.submit import SubmitError, dry_run, plan, submit

    try:
        package, sets = plan(args.source, args.parameter, args.parameters_file)
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


# -- nb2pipe check --------------------------------------------------------------------------

def run_check(args) -> int:
    from nb2pipe.lint.config import ConfigError, load_settings
    from nb2pipe.lint.registry import SelectionError, resolve
    from nb2pipe.lint.runner import collect_notebooks

    stdin = "-" in args.paths
    if stdin and (args.paths != ["-"] or args.fix or args.diff or args.add_noqa):
        raise UsageError("`-` reads one notebook from standard input: give it alone, and "
                         "without --fix, --diff or --add-noqa (they change files)")
    start = (args.stdin_filename or ".") if stdin else (args.paths[0] if args.paths else ".")
    try:
        settings = load_settings(start, args.config)
    except ConfigError as error:
        raise UsageError(str(error)) from None
    try:
        codes = resolve(args.select if args.select is not None else settings.select,
                        list(settings.extend_select) + list(args.extend_select),
                        list(settings.ignore) + list(args.ignore))
    except SelectionError as error:
        raise UsageError(str(error)) from None
    output_format = args.output_format or settings.output_format or "full"
    if output_format not in ("full", "concise", "json", "sarif", "github"):
        raise UsageError(f"unknown output format `{output_format}` in {settings.source}")
    try:
        if args.exclude is not None:
            settings.exclude = list(args.exclude)
        settings.extend_exclude = settings.extend_exclude + list(args.extend_exclude)
        files = [args.stdin_filename or "-"] if stdin else \
            collect_notebooks(args.paths, settings.excluded)
    except FileNotFoundError as error:
        raise UsageError(f"{error.args[0]}: no such file or folder") from None
    if args.show_settings:
        sys.stdout.write(_settings_text(settings, codes, output_format, args))
        return EXIT_OK
    if args.show_files:
        sys.stdout.write("".join(f"{path}\n" for path in files))
        return EXIT_OK
    if not files:
        if not (args.quiet or args.silent):
            print("warning: no notebooks (.ipynb) found in " + ", ".join(args.paths),
                  file=sys.stderr)
        return EXIT_OK
    if args.silent:
        import contextlib

        args.quiet = True
        with open(os.devnull, "w") as nowhere, contextlib.redirect_stdout(nowhere):
            return _check(args, settings, codes, output_format, files, stdin)
    return _check(args, settings, codes, output_format, files, stdin)


def _check(args, settings, codes: set[str], output_format: str, files: list[str],
           stdin: bool) -> int:
    from nb2pipe.lint.runner import lint_file, lint_files

    suppressed = (0, 0)
    if args.add_noqa and (args.fix or args.diff):
        raise UsageError("--add-noqa suppresses findings and --fix/--diff fixes them: "
                         "use one at a time (--fix first, then --add-noqa for the rest)")
    if stdin:
        results = [lint_file(files[0], codes, settings, data=sys.stdin.buffer.read())]
        fixed = 0
    elif args.add_noqa:
        results, suppressed = _add_noqa(files, codes, settings, args)
        fixed = 0
    elif args.fix or args.diff:
        results, fixed = _fix_files(files, codes, settings, args)
    else:
        progress = _progress_bar(len(files)) if not args.no_progress else None
        cache = None
        if not args.no_cache:
            from nb2pipe.lint.cache import FOLDER, ResultCache

            folder = args.cache_dir or os.environ.get("NB2PIPE_CACHE_DIR") or \
                os.path.join(settings.root, FOLDER)
            cache = ResultCache(folder, codes, settings)
        results = _with_folder_rules(lint_files(files, codes, settings, args.jobs, progress,
                                                cache), codes, args)
        fixed = 0
    crashed = [r for r in results if r.crashed]
    maturity = None
    if args.maturity or output_format == "json":
        maturity = _maturity(results)

    from nb2pipe.output import formatter
    from nb2pipe.output.text import use_colour

    colour = use_colour() and not args.output_file
    report = None
    if args.statistics and not args.diff:
        report = _statistics(results, output_format == "json")
    elif not args.diff:
        report = formatter(output_format)(results, maturity=maturity, colour=colour)
        if args.maturity and output_format in ("full", "concise"):
            project = [d for r in results if r.is_folder for d in r.diagnostics]
            report += _maturity_text(maturity, colour, project)
    if report is not None and args.output_file:
        try:
            with open(args.output_file, "w", encoding="utf-8") as handle:
                handle.write(report)
        except OSError as error:
            raise UsageError(f"cannot write {args.output_file}: "
                             f"{error.strerror or error}") from None
    elif report is not None:
        sys.stdout.write(report)
    for result in crashed:
        print(f"error: {result.path}: nb2pipe failed on this notebook ({result.crashed}); "
              f"please report it with the notebook attached", file=sys.stderr)
    count = sum(len(r.diagnostics) for r in results)
    if args.add_noqa and not args.quiet:
        added, notebooks = suppressed
        print(f"Suppressed {added} diagnostic{'s' if added != 1 else ''} in {notebooks} "
              f"notebook{'s' if notebooks != 1 else ''} (cell tags `nb2pipe:ignore=…` and "
              f"notebook metadata `nb2pipe.ignore`; remove them to see the findings again).",
              file=sys.stderr)
        if any(r.is_folder and r.diagnostics for r in results):
            print("Findings about the project (NB7xx) are not in a notebook: fix them, or "
                  "ignore them in [tool.nb2pipe].", file=sys.stderr)
    if not args.quiet:
        _summary(results, count, fixed, args)
    if crashed:
        return EXIT_ERROR
    if args.diff:
        return EXIT_FINDINGS if fixed and not args.exit_zero else EXIT_OK
    return EXIT_FINDINGS if count and not args.exit_zero else EXIT_OK


def _settings_text(settings, codes, output_format: str, args) -> str:
    """What `check --show-settings` prints: where each setting comes from, resolved."""
    from nb2pipe.lint.registry import RULES

    lines = [
        f"configuration: {settings.source or '(none: no pyproject.toml with [tool.nb2pipe])'}",
        f"project root:  {settings.root}",
        f"rules ({len(codes)} of {len(RULES)}): {', '.join(sorted(codes))}",
        f"not selected:  {', '.join(sorted(set(RULES) - set(codes))) or '(none)'}",
        f"exclude:       {', '.join(settings.excluded) or '(nothing)'}",
        "per-file-ignores: " + ("; ".join(f"{pattern} = {', '.join(selectors)}"
                                          for pattern, selectors in
                                          settings.per_file_ignores.items()) or "(none)"),
        f"output format: {output_format}",
    ]
    if not args.no_cache:
        from nb2pipe.lint.cache import FOLDER

        lines.append("cache:         " + (args.cache_dir or os.environ.get("NB2PIPE_CACHE_DIR")
                                          or os.path.join(settings.root, FOLDER)))
    else:
        lines.append("cache:         (off)")
    return "\n".join(lines) + "\n"


def _add_noqa(files, codes, settings, args):
    """Suppress the findings of every file; several processes for many files."""
    from nb2pipe.lint.noqa import add_noqa_file

    outcomes = _each_file(add_noqa_file, [(path, frozenset(codes), settings) for path in files],
                          args.jobs)
    results = _with_folder_rules([outcome.result for outcome in outcomes], codes, args)
    return results, (sum(o.added for o in outcomes), sum(1 for o in outcomes if o.added))


def _each_file(function, work: list, jobs: int | None) -> list:
    """``function`` applied to each job, in order; several processes for many files."""
    from nb2pipe.lint.runner import PARALLEL_THRESHOLD, process_pool

    jobs = jobs or os.cpu_count() or 1
    if jobs > 1 and len(work) >= PARALLEL_THRESHOLD:
        with process_pool(jobs) as pool:
            return list(pool.map(function, work, chunksize=4))
    return [function(job) for job in work]


def _with_folder_rules(results: list, codes, args) -> list:
    """``results`` and, when folder rules are selected, their findings for the folders given."""
    from nb2pipe.lint.registry import RULES
    from nb2pipe.lint.runner import lint_folder

    if any(RULES[code].scope == "folder" for code in codes):
        folders = [path for path in args.paths if os.path.isdir(path)]
        results = results + [lint_folder(folder, results, codes) for folder in folders]
    return results


def _statistics(results, as_json: bool) -> str:
    """Per rule, how many diagnostics, most frequent first (``[*]``: --fix fixes some,
    ``[-]``: only --unsafe-fixes does)."""
    counts: dict[str, list] = {}
    for result in results:
        for d in result.diagnostics:
            entry = counts.setdefault(d.code, [d.code, d.name, 0, 0, 0])
            entry[2] += 1
            if d.fix:
                entry[3 if d.fix_safety == "safe" else 4] += 1
    rows = sorted(counts.values(), key=lambda row: (-row[2], row[0]))
    if as_json:
        import json

        return json.dumps([{"code": code, "name": name, "count": count, "fixable": safe,
                            "unsafe_fixable": unsafe}
                           for code, name, count, safe, unsafe in rows], indent=2) + "\n"
    width = len(str(rows[0][2])) if rows else 1
    return "".join(f"{count:>{width}}  {code}  {'[*]' if safe else '[-]' if unsafe else '   '} "
                   f"{name}\n" for code, name, count, safe, unsafe in rows)


def _fix_files(files, codes, settings, args):
    """Fix (or, with --diff, preview) every file; several processes for many files. Diffs
    and warnings are printed in the files' order."""
    from nb2pipe.lint.fix import fix_file

    outcomes = _each_file(fix_file, [(path, frozenset(codes), settings, args.unsafe_fixes,
                                      args.diff) for path in files], args.jobs)
    results = []
    fixed_total = 0
    for outcome in outcomes:
        if outcome.warning and not args.quiet:
            print(f"warning: {outcome.warning}", file=sys.stderr)
        if outcome.diff:
            sys.stdout.write(outcome.diff)
        fixed_total += outcome.fixed
        results.append(outcome.result)
    return _with_folder_rules(results, codes, args), fixed_total


def _maturity(results):
    from nb2pipe.lint.maturity import assess, has_step_tags

    return [assess(r.path, r.diagnostics, r.has_steps or has_step_tags(r.notebook))
            for r in results if not r.is_folder]


def _maturity_text(maturity, colour: bool, project=()) -> str:
    """The checklist per notebook, then for the folder (with the folder rules' findings)."""
    from nb2pipe.lint.maturity import ITEMS
    from nb2pipe.output.text import paint

    lines = []
    for report in maturity:
        lines.append(paint(f"{report.path}: level {report.level} "
                           f"({report.met}/{len(report.items)} level-1 items met)", "bold", colour))
        for status in report.items:
            mark = paint("✓", "info", colour) if status.met else paint("✗", "error", colour)
            detail = ""
            if status.codes:
                detail = ", ".join(f"{code} ×{n}" for code, n in sorted(status.codes.items()))
            elif status.note:
                detail = status.note
            lines.append(f"  {mark} {status.item.title:<20} {detail}".rstrip())
            if not status.met:
                lines.append(f"      → {status.item.clears}")
        lines.append("")
    if len(maturity) > 1 or project:
        lines.append(paint(f"Folder: {len(maturity)} notebooks, "
                           f"{sum(r.level for r in maturity)} at level 1", "bold", colour))
        for index, item in enumerate(ITEMS):
            met = sum(r.items[index].met for r in maturity)
            lines.append(f"  {item.title:<20} {met}/{len(maturity)} notebooks")
        for diagnostic in project:
            lines.append(f"  {paint('✗', 'error', colour)} project: {diagnostic.code} "
                         f"{diagnostic.name}: {diagnostic.message}")
        lines.append("")
    return "\n".join(lines)


def _count(things, noun: str) -> str:
    return f"{len(things)} {noun}{'' if len(things) == 1 else 's'}"


def _summary(results, count: int, fixed: int, args) -> None:
    folders = [r for r in results if r.is_folder]
    results = [r for r in results if not r.is_folder]
    count -= sum(len(r.diagnostics) for r in folders)
    notebooks = len(results)
    # `nb2pipe check README.md` checked a file, not a notebook (its NB901 says so)
    noun = "notebook" if all(r.path.lower().endswith(".ipynb") or r.path == "-" or
                             getattr(args, "stdin_filename", None) for r in results) else "file"
    noun += "" if notebooks == 1 else "s"
    parts = []
    if fixed:
        verb = "would fix" if args.diff else "fixed"
        parts.append(f"{verb} {fixed} diagnostic{'s' if fixed != 1 else ''}")
    if count:
        flagged = sum(1 for r in results if r.diagnostics)
        fixable = sum(1 for r in results for d in r.diagnostics
                      if d.fix and (d.fix_safety == "safe" or args.unsafe_fixes))
        hidden = sum(1 for r in results for d in r.diagnostics
                     if d.fix and d.fix_safety == "unsafe" and not args.unsafe_fixes)
        text = f"found {count} diagnostic{'s' if count != 1 else ''} in {flagged} of " \
               f"{notebooks} {noun}"
        if (fixable or hidden) and not args.fix:
            flag = "--fix --unsafe-fixes" if args.unsafe_fixes else "--fix"
            fixes = [f"{fixable} fixable with `nb2pipe check {flag}`"] if fixable else []
            if hidden:
                fixes.append(f"{hidden} more with `--unsafe-fixes`")
            text += f" ({', '.join(fixes)})"
        parts.append(text)
    around = sum(len(r.diagnostics) for r in folders)
    if not count and not args.diff:
        parts.append(f"no findings in the {notebooks} {noun}" if around else
                     f"all checks passed ({notebooks} {noun})")
    if around:
        parts.append(f"{around} about the project around the notebooks (NB7xx)")
    message = "; ".join(parts)
    print(message[0].upper() + message[1:] + ".", file=sys.stderr)
    if fixed and not args.diff:
        print("Run the fixed notebooks again (Restart Kernel and Run All Cells) and save: their "
              "outputs are from before the fixes.", file=sys.stderr)


def _progress_bar(total: int):
    if total < 2 or not sys.stderr.isatty() or os.environ.get("CI"):
        return None
    width = 30

    def show(done: int, total: int = total) -> None:
        filled = width * done // total
        end = "\n" if done == total else ""
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} notebooks"
                         f"{end}")
        if done == total:
            sys.stderr.write("\x1b[1A\x1b[2K\r")
        sys.stderr.flush()

    return show
