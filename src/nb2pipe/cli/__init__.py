"""The ``nb2pipe`` command: parse arguments, load settings, call the library, print, exit.

One module per command (``check``, ``convert``, ``run``, ``baseline``, ``models``,
``promote``, ``rollback``, ``submit``, ``rule``), each with its
``add_parser`` and its ``run``; :mod:`.console` holds what they share. Every command imports
what it needs inside ``run``, so ``nb2pipe --version`` and ``nb2pipe check`` start without
loading anything heavy.
"""

from __future__ import annotations

import argparse
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
