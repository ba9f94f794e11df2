"""The ``nb2pipe`` command: parse arguments, load settings, call the library, print, exit.

One module per command (``check``, ``convert``, ``run``, ``baseline``, ``models``,
``promote``, ``rollback``, ``submit``, ``rule``), each with its
``add_parser`` and its ``run``; :mod:`.console` holds what they share. Every command imports
what it needs inside ``run``, so ``nb2pipe --version`` and ``nb2pipe check`` start without
loading anything heavy.
"""

from __future__ import annotations

import argparse
import os
import sys

from nb2pipe import __version__
from nb2pipe.cli import (
    baseline,
    check,
    convert,
    models,
    promote,
    rollback,
    rule,
    run,
    submit,
)
from nb2pipe.cli.console import EXIT_ERROR, EXIT_OK, UsageError

#: The commands, in the order ``nb2pipe --help`` lists them.
COMMANDS = {"check": check, "convert": convert, "run": run, "baseline": baseline,
            "models": models, "promote": promote, "rollback": rollback, "submit": submit,
            "rule": rule}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nb2pipe",
        description="Lint notebooks for level-0 MLOps habits and turn them into pipelines.")
    parser.add_argument("--version", action="version", version=f"nb2pipe {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS.values():
        command.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    # jsonschema (imported by nbformat, so by every command that reads or writes notebooks)
    # compiles an RFC 3987 grammar at import when the optional `rfc3987-syntax` is installed,
    # as Jupyter's own dependencies make it: 1.2 s of every `convert` and `run`. nb2pipe
    # validates no IRIs; in its own process jsonschema goes without that one format check.
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[assignment]
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command in COMMANDS:
            return COMMANDS[args.command].run(args)
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
    except Exception as error:  # a bug of nb2pipe's: say so in a few lines, keep the rest
        if os.environ.get("NB2PIPE_DEBUG") == "1":
            raise
        print(internal_error(args.command or "nb2pipe", error), file=sys.stderr)
        return EXIT_ERROR


def internal_error(command: str, error: BaseException) -> str:
    """What a user reads when nb2pipe itself fails (not their notebook, not their input):
    what failed and where in nb2pipe, where the whole traceback was written, and what to do.
    Whatever the command writes is written whole or not at all (convert's staging folder,
    run's records), and input notebooks are never modified, so nothing needs cleaning up."""
    import tempfile
    import traceback

    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if f"{os.sep}nb2pipe{os.sep}" in f.filename] or frames
    place = f" ({os.path.basename(ours[-1].filename)}:{ours[-1].lineno})" if ours else ""
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    try:
        handle, path = tempfile.mkstemp(prefix="nb2pipe-error-", suffix=".txt")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(f"nb2pipe {__version__}, command `{command}`, argv {sys.argv!r}\n\n{text}")
        kept = f"the whole traceback is in {path}"
    except OSError:
        kept = "run it again with NB2PIPE_DEBUG=1 to see the whole traceback"
    return (f"error: nb2pipe {command} failed inside nb2pipe: {type(error).__name__}: "
            f"{error}{place}.\n"
            f"  This is a bug in nb2pipe, not in your notebook; {kept}.\n"
            f"  Please report it with that file (and the notebook if you can share it); "
            f"your notebooks were not modified.")
