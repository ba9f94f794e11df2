"""``nb2pipe check``: lint notebooks, fix them, suppress their findings, or show the settings."""

from __future__ import annotations

import os
import sys

from nb2pipe.cli import check_report
from nb2pipe.cli.console import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, UsageError, csv, progress_bar


def add_parser(commands) -> None:
    check = commands.add_parser(
        "check", help="check notebooks for level-0 anti-patterns",
        description="Check notebooks (folders are walked) and print diagnostics.")
    check.add_argument("paths", nargs="*", default=["."], metavar="PATH",
                       help="notebooks or folders (default: the current folder)")
    check.add_argument("--select", type=csv, metavar="CODES",
                       help="rules to enable: codes, prefixes (NB1) or ALL")
    check.add_argument("--extend-select", type=csv, default=[], metavar="CODES",
                       help="rules to enable on top of the selection")
    check.add_argument("--ignore", type=csv, default=[], metavar="CODES",
                       help="rules to disable")
    check.add_argument("--exclude", type=csv, metavar="PATTERNS",
                       help="files and folders to leave out when walking folders, instead of "
                            "the configured or default list (names, paths, globs)")
    check.add_argument("--extend-exclude", type=csv, default=[], metavar="PATTERNS",
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


def run(args) -> int:
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
    from nb2pipe.diagnostic import set_docs_url

    set_docs_url(settings.docs_url)
    try:
        codes = resolve(args.select if args.select is not None else settings.select,
                        list(settings.extend_select) + list(args.extend_select),
                        list(settings.ignore) + list(args.ignore))
    except SelectionError as error:
        raise UsageError(str(error)) from None
    output_format = args.output_format or settings.output_format or "full"
    if output_format not in ("full", "concise", "json", "sarif", "github"):
        raise UsageError(f"unknown output format `{output_format}` in {settings.source}")
    args.output_format = output_format  # (the summary's last line depends on it)
    try:
        if args.exclude is not None:
            settings.exclude = list(args.exclude)
        settings.extend_exclude = settings.extend_exclude + list(args.extend_exclude)
        files = [args.stdin_filename or "-"] if stdin else \
            collect_notebooks(args.paths, settings.excluded)
    except FileNotFoundError as error:
        raise UsageError(f"{error.args[0]}: no such file or folder") from None
    if args.show_settings:
        sys.stdout.write(check_report.settings_text(settings, codes, output_format, args))
        return EXIT_OK
    if args.show_files:
        sys.stdout.write("".join(f"{path}\n" for path in files))
        return EXIT_OK
    if not files:
        if args.maturity and not stdin:
            from nb2pipe.lint.runner import collect_pipelines

            pipelines = collect_pipelines(args.paths)
            if pipelines:  # converted folders: their level-1 checklist alone
                return check_report.pipelines_only(pipelines, output_format)
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
        progress = progress_bar(len(files)) if not args.no_progress else None
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
        from nb2pipe.lint.runner import collect_pipelines

        maturity = check_report.maturity(results, collect_pipelines(args.paths)
                                         if args.maturity and not stdin else ())

    from nb2pipe.output import formatter
    from nb2pipe.output.text import use_colour

    colour = use_colour() and not args.output_file
    report = None
    if args.statistics and not args.diff:
        report = check_report.statistics(results, output_format == "json")
    elif not args.diff:
        report = formatter(output_format)(results, maturity=maturity, colour=colour)
        if args.maturity and output_format in ("full", "concise"):
            project = [d for r in results if r.is_folder for d in r.diagnostics]
            report += check_report.maturity_text(maturity, colour, project)
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
        check_report.summary(results, count, fixed, args)
    if crashed:
        return EXIT_ERROR
    if args.diff:
        return EXIT_FINDINGS if fixed and not args.exit_zero else EXIT_OK
    return EXIT_FINDINGS if count and not args.exit_zero else EXIT_OK


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
        from nb2pipe.lint.folder import project_folders

        notebooks = [r.path for r in results]
        folders = [place for path in args.paths if os.path.isdir(path)
                   for place in project_folders(path, notebooks)]
        results = results + [lint_folder(folder, results, codes, left_out)
                             for folder, left_out in folders]
    return results


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

