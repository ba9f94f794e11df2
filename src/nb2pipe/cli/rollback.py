"""``nb2pipe rollback``: the champion back to the previous version."""

from __future__ import annotations

from nb2pipe.cli.console import EXIT_OK, UsageError


def add_parser(commands) -> None:
    rollback = commands.add_parser(
        "rollback", help="move the champion back to the previous version",
        description="Move the alias `champion` back to the version at `previous`; the version "
                    "rolled back from becomes `previous` (a second rollback undoes the first).")
    rollback.add_argument("source", metavar="DIR", help="a folder written by nb2pipe convert")


def run(args) -> int:
    from nb2pipe.cli.models import registry_for
    from nb2pipe.tracking import TrackingError

    registry = registry_for(args.source)
    try:
        left, back = registry.rollback()
    except TrackingError as error:
        raise UsageError(str(error)) from None
    print(f"{registry.name}: `champion` is back to version {back}"
          + (f" (version {left} is `previous`)" if left else ""))
    return EXIT_OK
