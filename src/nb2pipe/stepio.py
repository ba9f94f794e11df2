"""What a step touched outside its artifacts, recorded in its kernel for the step cache.

``nb2pipe run`` may reuse a step's results from an earlier run (:mod:`nb2pipe.run.cache`) only
when nothing the step depends on has changed. Its code, parameters and input artifacts are
known before it runs; the files it reads are not: a helper module, a path computed at run
time, a ``glob`` over a folder. So the step's kernel records them with a Python audit hook
(:func:`sys.addaudithook`), from ``start_step`` to ``end_step``:

- every file opened for reading, and every file opened for writing that still exists when the
  step ends (a later run must find it again);
- every folder listed (``os.listdir``, ``os.scandir``, ``glob``): a new file in it is a change;
- every path whose existence it asked about (``os.path.exists``, ``isfile``, ``Path.exists``,
  ``getsize``: ``os.stat`` and ``os.lstat``, which raise no audit event, are wrapped while it
  records): whether it was there, a file or a folder, and a file's size;
- the local modules loaded in the kernel (an import done by an earlier step in a shared kernel
  opens nothing);
- anything the cache cannot see through: a subprocess or a shell command, a network
  connection other than to the MLflow server. Such a step is *opaque*: it is never cached.

Files of the Python installation, the run's own folder and the usual caches (fonts,
matplotlib's, IPython's) are left out. What native code opens without Python's ``open``
(a C library reading a path itself) is not seen: a step that does so on a file that no
other record names can be kept out of the cache with the tag ``cache:disabled``.

Nothing here is imported until a step records; the hook itself does no I/O.
"""

from __future__ import annotations

import os
import sys

_IO: dict = {"on": False}
_HOOKED = False

#: Flags of ``os.open`` that make an open a write.
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
#: The packages nb2pipe's tracking runs in a step's kernel (their files are not the step's).
_TOOLING = tuple(f"{sep}{package}{os.sep}" for sep in ("site-packages" + os.sep,
                                                      "dist-packages" + os.sep)
                 for package in ("mlflow", "git", "sqlalchemy", "alembic"))
#: Audit events of a process started from the step.
_PROCESS_EVENTS = frozenset({"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn",
                             "os.spawn", "os.fork", "pty.spawn"})
_EVENTS = _PROCESS_EVENTS | {"open", "os.listdir", "os.scandir", "socket.connect"}


def _ignored_prefixes(run_folder: str) -> tuple[str, ...]:
    home = os.path.expanduser("~")
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, run_folder, "/usr/", "/proc/",
                "/sys/", "/dev/", "/etc/", "/lib/", "/lib64/", "/var/lib/", "/run/"}
    prefixes |= {os.path.join(home, name) for name in (
        ".cache", ".config", ".ipython", ".jupyter", ".local", ".matplotlib", ".mlflow")}
    try:
        import tempfile

        prefixes.add(os.path.join(tempfile.gettempdir(), "matplotlib-"))
    except Exception:  # noqa: BLE001 (no temp folder: nothing to leave out)
        pass
    return tuple(sorted(os.path.join(os.path.realpath(p), "") if not p.endswith(("/", "-"))
                        else p for p in prefixes if p))


def _wanted(path: str) -> bool:
    return not path.startswith(_IO["ignored"]) and "site-packages" not in path \
        and "dist-packages" not in path


def _absolute(path) -> str | None:
    if isinstance(path, int):
        return None  # an open file descriptor: its opening was seen
    try:
        path = os.fsdecode(path)
    except TypeError:
        return None
    return os.path.abspath(path)


def _by_tooling(imports: bool, depth: int) -> bool:
    """Whether the event comes from nb2pipe's own tracking (MLflow writing its artifacts,
    asking git for the commit) or, with ``imports``, from Python's import system (which lists
    the folders of ``sys.path`` to find modules): not the step's own reading. ``depth``: the
    first frame to look at, above this module's own (which is nb2pipe's too)."""
    frame = sys._getframe(depth)
    while frame is not None:
        name = frame.f_code.co_filename
        if name.startswith(_IO["tooling"]) or any(t in name for t in _TOOLING) or \
                (imports and name.startswith("<frozen importlib")):
            return True
        frame = frame.f_back
    return False


def _hook(event: str, args: tuple) -> None:
    if not _IO.get("on") or event not in _EVENTS:
        return
    try:
        _record(event, args)
    except Exception:  # noqa: BLE001 - an audit hook that raises fails the operation
        _IO.setdefault("opaque", f"its {event} could not be recorded")


def _record(event: str, args: tuple) -> None:
    if _by_tooling(imports=event in ("os.listdir", "os.scandir"), depth=3):
        return
    if event == "open":
        path = _absolute(args[0])
        if path is None or not _wanted(path):
            return
        mode, flags = args[1], args[2] if len(args) > 2 else 0
        writes = any(c in mode for c in "wax+") if isinstance(mode, str) else \
            bool((flags or 0) & _WRITE_FLAGS)
        (_IO["writes"] if writes else _IO["reads"]).add(path)
    elif event in ("os.listdir", "os.scandir"):
        path = _absolute(args[0] if args and args[0] is not None else ".")
        if path is not None and _wanted(path):
            _IO["folders"].add(path)
    elif event in _PROCESS_EVENTS:
        _IO.setdefault("opaque", f"it starts a process ({event})")
    elif event == "socket.connect":
        address = args[1] if len(args) > 1 else None
        if isinstance(address, tuple) and address[:2] not in _IO["servers"]:
            _IO.setdefault("opaque", f"it connects to {address[0]}:{address[1]}")


def _signature(path: str) -> list | None:
    """What a stat tells about ``path``: None when it is not there, else whether it is a
    folder and, for a file, its size."""
    try:
        result = _REAL["stat"](path)
    except OSError:
        return None
    import stat as kinds

    folder = kinds.S_ISDIR(result.st_mode)
    return [folder, None if folder else result.st_size]


def _probed(path) -> None:
    absolute = _absolute(path)
    if absolute is None or absolute in _IO["probes"] or not _wanted(absolute) or \
            _by_tooling(imports=True, depth=3):
        return
    _IO["probes"][absolute] = _signature(absolute)


def _wrap(name: str):
    real = _REAL[name]

    def wrapper(*args, **kwargs):
        if _IO.get("on"):
            try:
                _probed(args[0] if args else kwargs.get("path"))
            except Exception:  # noqa: BLE001 - recording must never break the step
                _IO.setdefault("opaque", "its file checks could not be recorded")
        return real(*args, **kwargs)

    wrapper.__name__ = wrapper.__qualname__ = name
    wrapper.__doc__ = real.__doc__
    return wrapper


_REAL: dict = {"stat": os.stat, "lstat": os.lstat}


def start(record_to: str, run_folder: str, tracking_uri: str | None = None) -> None:
    """Record from now until :func:`finish`, which writes the record to ``record_to``."""
    global _HOOKED
    servers = set()
    if tracking_uri and tracking_uri.startswith(("http://", "https://")):
        import urllib.parse

        parsed = urllib.parse.urlparse(tracking_uri)
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        servers = {(parsed.hostname, port), ("127.0.0.1", port), ("::1", port)}
    _IO.clear()
    _IO.update(on=False, path=record_to, reads=set(), writes=set(), folders=set(), probes={},
               servers=servers, ignored=_ignored_prefixes(os.path.realpath(run_folder)),
               tooling=os.path.join(os.path.dirname(os.path.abspath(__file__)), ""))
    if not _HOOKED:
        sys.addaudithook(_hook)  # (a hook cannot be removed: it idles when recording is off)
        os.stat, os.lstat = _wrap("stat"), _wrap("lstat")  # (idle too when not recording)
        _HOOKED = True
    _IO["on"] = True


def finish(random_used: bool = True) -> None:
    """Stop recording and write what the step touched (JSON, sorted paths), and whether it
    changed the global random generators it continued from (``random_used``)."""
    if not _IO.get("on"):
        return
    _IO["on"] = False
    import json

    modules = set()
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        name = getattr(module, "__name__", "") or ""
        if path and not name.startswith("nb2pipe") and os.path.isfile(path):
            path = os.path.abspath(path)
            if _wanted(path) and not path.endswith((".so", ".pyd")):
                modules.add(path)
    writes = {p for p in _IO["writes"] if os.path.isfile(p)}
    rewritten = sorted(_IO["reads"] & writes)
    if rewritten:  # running it again would not give the same file: never reused
        _IO.setdefault("opaque", f"it reads and rewrites {rewritten[0]}")
    record = {
        "reads": sorted(p for p in (_IO["reads"] | modules) - writes if os.path.isfile(p)),
        "writes": sorted(writes),
        "folders": sorted(p for p in _IO["folders"] if os.path.isdir(p)),
        "probes": {p: sig for p, sig in sorted(_IO["probes"].items()) if p not in writes},
        "random_used": random_used,
    }
    if _IO.get("opaque"):
        record["opaque"] = _IO["opaque"]
    os.makedirs(os.path.dirname(_IO["path"]), exist_ok=True)
    with open(_IO["path"], "w", encoding="utf-8") as handle:
        json.dump(record, handle, indent=1)
