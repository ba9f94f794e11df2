"""Runs started from JupyterLab: ``nb2pipe run`` as a background process of the server, one
per pipeline at a time, its state on disk so that a page reload (or another browser) finds
it again.

The process is the command line's own (``python -m nb2pipe run DIR -p …``), started in the
notebook's folder, with its output in ``DIR/runs/.lab/JOB.log``; ``DIR/runs/.lab/active.json``
names the process while it lives. The runs it makes are the command line's runs
(``DIR/runs/RUN_ID/run.json``, rewritten after every step), which is what the panel reads.
Stop sends the process SIGINT, as Ctrl-C does: the run is recorded as interrupted and can be
resumed. A process that ignores it (started with ``nohup``, stuck in a library) gets SIGTERM
after :data:`GRACE` seconds, then its whole process group SIGKILL after as many again;
``active.json`` says which signal went when, and the record of the ended process
(``active.json.done``) how it ended. Nothing here blocks the server: starting is a ``Popen``,
stopping a signal and two timers, all in the server's process (which reaps the processes it
started: :func:`reap`); reading the runs happens in the worker pool.
"""

from __future__ import annotations

import json
import os
import signal
import shlex
import subprocess
import sys
import threading
import time

from nb2pipe.server.work import Refused, _answer, local_path, parse, text_field

LAB = ".lab"
#: seconds between the signals of a stop: SIGINT, then SIGTERM, then SIGKILL
GRACE = 10.0


def _now() -> str:
    """UTC, as run.json's times are (the panel computes elapsed times from them)."""
    import datetime

    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _pipeline_folder(data: dict, root: str) -> tuple[str, str]:
    relative = text_field(data, "pipeline")
    if not relative:
        raise Refused(400, "`pipeline` must be the converted folder (server-relative)")
    folder = local_path(root, relative)
    if not os.path.isfile(os.path.join(folder, "pipeline.json")):
        raise Refused(404, f"`{relative}` is not a folder written by nb2pipe convert "
                           f"(no pipeline.json)")
    return folder, relative


def _lab_dir(folder: str) -> str:
    path = os.path.join(folder, "runs", LAB)
    os.makedirs(path, exist_ok=True)
    return path


#: The run processes this server started (pid → Popen), reaped by :func:`reap`.
_children: dict = {}


def reap() -> None:
    """Collect the run processes that ended (else they linger as zombies, which look alive)."""
    for pid, process in list(_children.items()):
        if process.poll() is not None:
            del _children[pid]


def _alive(pid: int) -> bool:
    if pid in _children:
        return _children[pid].poll() is None
    try:  # started by an earlier server, or reaped already
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def active(folder: str) -> dict | None:
    """The run process of this pipeline that is still going, if any."""
    path = os.path.join(folder, "runs", LAB, "active.json")
    try:
        with open(path, encoding="utf-8") as handle:
            job = json.load(handle)
    except (OSError, ValueError):
        return None
    if isinstance(job.get("pid"), int) and _alive(job["pid"]):
        return job
    job["ended"] = _now()
    process = _children.get(job.get("pid"))
    if process is not None and process.returncode is not None:
        job["returncode"] = process.returncode
    try:
        _write_json(path + ".done", job)  # it ended: keep the record of the last one
        os.remove(path)
    except OSError:
        pass  # another request moved it first
    return None


def _write_json(path: str, data: dict) -> None:
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    os.replace(temporary, path)


def last(folder: str) -> dict | None:
    """The record of the last run process that ended (how and when), if any."""
    try:
        with open(os.path.join(folder, "runs", LAB, "active.json.done"), encoding="utf-8") as h:
            return json.load(h)
    except (OSError, ValueError):
        return None


def _arguments(data: dict) -> list[str]:
    """``-p NAME=VALUE`` for each parameter the form sent (text as typed: the command line
    types it from the default; ``A,B`` sweeps), and the run's options."""
    args: list[str] = []
    parameters = data.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise Refused(400, "`parameters` must be an object of NAME: VALUE")
    for name, value in parameters.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise Refused(400, f"`{name}` is not a parameter name")
        text = value if isinstance(value, str) else json.dumps(value)
        if "\x00" in text or len(text) > 4096:
            raise Refused(400, f"the value of `{name}` is not a parameter value")
        args += ["-p", f"{name}={text}"]
    tracking = data.get("tracking", "mlflow")
    if tracking not in ("mlflow", "none"):
        raise Refused(400, "`tracking` must be \"mlflow\" or \"none\"")
    args += ["--tracking", tracking]
    resume = text_field(data, "resume")
    if resume:
        if args[:-2]:
            raise Refused(400, "a resumed run keeps its own parameters: send no `parameters`")
        if not all(c.isalnum() or c == "-" for c in resume):
            raise Refused(400, "`resume` must be a run id")
        args += ["--resume", resume]
    return args


@_answer
def start(body: bytes, root: str) -> tuple[int, dict]:
    data = parse(body)
    folder, relative = _pipeline_folder(data, root)
    going = active(folder)
    if going:
        return 409, {"message": f"a run of {relative} is going, started {going['started']} "
                                f"(pid {going['pid']}: {going['command']}): stop it first, or "
                                f"wait for it", "active": going}
    job = time.strftime("%Y%m%d-%H%M%S")
    log = os.path.join(_lab_dir(folder), f"{job}.log")
    command = [sys.executable, "-m", "nb2pipe", "run", folder, *_arguments(data)]
    with open(log, "w", encoding="utf-8") as output:
        process = subprocess.Popen(command, cwd=os.path.dirname(folder), stdout=output,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    _children[process.pid] = process
    shown = ["nb2pipe", "run", os.path.relpath(folder, root), *command[5:]]
    record = {"pid": process.pid, "job": job, "started": _now(),
              "command": shlex.join(shown), "log": os.path.relpath(log, root)}
    _write_json(os.path.join(_lab_dir(folder), "active.json"), record)
    return 200, {"active": record}


@_answer
def stop(body: bytes, root: str) -> tuple[int, dict]:
    data = parse(body)
    folder, relative = _pipeline_folder(data, root)
    going = active(folder)
    if not going:
        return 409, {"message": f"no run of {relative} is going"}
    if going.get("stopping"):  # asked again: the timers are on their way
        return 200, {"stopping": going}
    _signal(folder, going, signal.SIGINT)  # as Ctrl-C: recorded as interrupted, resumable
    pid = going["pid"]
    for delay, sent in ((GRACE, signal.SIGTERM), (2 * GRACE, signal.SIGKILL)):
        timer = threading.Timer(delay, _escalate, (folder, pid, sent))
        timer.daemon = True
        timer.start()
    return 200, {"stopping": going}


def _signal(folder: str, job: dict, sent: signal.Signals) -> None:
    """Send ``sent`` (SIGKILL to the whole process group: the kernels too) and say so in
    active.json."""
    try:
        if sent == signal.SIGKILL:
            os.killpg(job["pid"], sent)
        else:
            os.kill(job["pid"], sent)
    except (ProcessLookupError, PermissionError):
        return
    job.setdefault("signals", []).append({"signal": sent.name,
                                          "at": _now()})
    job["stopping"] = sent.name
    try:
        _write_json(os.path.join(folder, "runs", LAB, "active.json"), job)
    except OSError:
        pass


def _escalate(folder: str, pid: int, sent: signal.Signals) -> None:
    reap()
    going = active(folder)
    if going and going.get("pid") == pid:
        _signal(folder, going, sent)


@_answer
def status(body: bytes, root: str) -> tuple[int, dict]:
    """The pipeline's runs, newest first (status, parameters, metrics, steps, tracking), and
    the process going, if any, with the end of its output."""
    data = parse(body)
    folder, relative = _pipeline_folder(data, root)
    runs_dir = os.path.join(folder, "runs")
    runs = []
    for name in sorted(os.listdir(runs_dir) if os.path.isdir(runs_dir) else [], reverse=True):
        try:
            with open(os.path.join(runs_dir, name, "run.json"), encoding="utf-8") as handle:
                record = json.load(handle)
        except (OSError, ValueError):
            continue
        for step in (record.get("steps") or {}).values():
            if step.get("notebook"):  # server-relative, for the panel to open
                step["notebook"] = os.path.relpath(
                    os.path.join(runs_dir, name, step["notebook"]), root)
        runs.append(record)
        if len(runs) >= 50:
            break
    going = active(folder)
    ended = None if going else last(folder)
    if ended and ended.get("signals"):
        for record in runs:  # killed before it could say so: it is not running any more
            if record.get("status") == "running" and record.get("started", "") and \
                    record["started"][:19] >= ended.get("started", "")[:19]:
                record["status"] = "interrupted"
                for step in (record.get("steps") or {}).values():
                    if step.get("status") == "running":
                        step["status"] = "interrupted"
    from nb2pipe.pipeline.model import Pipeline
    from nb2pipe.server.work import pipeline_summary

    with open(os.path.join(folder, "pipeline.json"), encoding="utf-8") as handle:
        summary = pipeline_summary(Pipeline.from_json(handle.read()),
                                   os.path.relpath(folder, root).replace(os.sep, "/"))
    from nb2pipe.convert import read_manifest

    reply: dict = {"pipeline": relative, "active": going, "last": ended,
                   "runs": runs, "summary": summary,
                   "files": sorted(read_manifest(folder)),  # (after a reload, as after Convert)
                   "mlflow_ui": os.environ.get("NB2PIPE_MLFLOW_UI") or None}
    log = going["log"] if going else _last_log(folder, root)
    if log:
        try:
            with open(os.path.join(root, log), encoding="utf-8", errors="replace") as handle:
                reply["output"] = handle.read()[-4000:]
        except OSError:
            pass
    return 200, reply


def _last_log(folder: str, root: str) -> str | None:
    lab = os.path.join(folder, "runs", LAB)
    logs = sorted(f for f in os.listdir(lab) if f.endswith(".log")) if os.path.isdir(lab) \
        else []
    return os.path.relpath(os.path.join(lab, logs[-1]), root) if logs else None
