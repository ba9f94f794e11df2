"""``nb2pipe promote``: make a registered version the champion, by hand."""

from __future__ import annotations

from nb2pipe.cli.console import EXIT_OK, UsageError


def add_parser(commands) -> None:
    promote = commands.add_parser(
        "promote", help="make a registered version of the model the champion",
        description="Move the alias `champion` to VERSION; the version it leaves becomes "
                    "`previous`.")
    promote.add_argument("source", metavar="DIR", help="a folder written by nb2pipe convert")
    promote.add_argument("version", type=int, metavar="VERSION", help="a version number")


def run(args) -> int:
    from nb2pipe.cli.models import registry_for
    from nb2pipe.tracking import TrackingError

    registry = registry_for(args.source)
    try:
        old = registry.promote(args.version)
    except TrackingError as error:
        raise UsageError(str(error)) from None
    was = f" (was version {old}, now `previous`)" if old and old != args.version else ""
    print(f"{registry.name}: `champion` is version {args.version}{was}")
    return EXIT_OK
