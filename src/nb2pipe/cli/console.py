"""What every command shares: exit codes, the usage error, and small printing helpers."""

from __future__ import annotations

import os
import sys

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
#: ``nb2pipe run`` only: the run succeeded but the model gate kept its model out of the
#: registry; a frame failed data validation (the steps after it did not run).
EXIT_REJECTED, EXIT_INVALID_DATA = 3, 4


class UsageError(Exception):
    """A problem with what the user asked for: printed as ``error: …``, exit code 2."""


def csv(value: str) -> list[str]:
    """An option's comma-separated values (``--select NB1,NB2``)."""
    return [part.strip() for part in value.split(",") if part.strip()]


def counted(things, noun: str) -> str:
    """``1 step``, ``3 steps``."""
    return f"{len(things)} {noun}{'' if len(things) == 1 else 's'}"


def progress_bar(total: int):
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
