"""Runs started from JupyterLab: ``nb2pipe run`` as a background process of the server, one
per pipeline at a time, its state on disk so that a page reload (or another browser) finds
it again.

The process is the command line's own (``python -m nb2pipe run DIR -p …``), started in the
notebook's folder, with its output in ``DIR/runs/.lab/JOB.log``; ``DIR/runs/.lab/active.json``
names the process while it lives. The runs it makes are the command line's runs
(``DIR/runs/RUN_ID/run.json``, rewritten after every step), which is what the panel reads.
Stop sends the process SIGINT, as Ctrl-C does: the run is recorded as interrupted and can be
resumed. Nothing here blocks the server: starting is a ``Popen`` and stopping a signal, both
in the server's process (which reaps the processes it started: :func:`reap`); reading the
runs happens in the worker pool.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from nb2pipe.server.work import Refused, _answer, local_path, parse, text_field

LAB = ".lab"


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
    try:
        os.replace(path, path + ".done")  # it ended: keep the record of the last one
    except OSError:
        pass  # another request moved it first
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
        return 409, {"message": f"a run of {relative} is going (started {going['started']}): "
                                f"stop it first", "active": going}
    job = time.strftime("%Y%m%d-%H%M%S")
    log = os.path.join(_lab_dir(folder), f"{job}.log")
    command = [sys.executable, "-m", "nb2pipe", "run", folder, *_arguments(data)]
    with open(log, "w", encoding="utf-8") as output:
        process = subprocess.Popen(command, cwd=os.path.dirname(folder), stdout=output,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    _children[process.pid] = process
    record = {"pid": process.pid, "job": job, "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
              "command": " ".join(command[2:]), "log": os.path.relpath(log, root)}
    with open(os.path.join(_lab_dir(folder), "active.json"), "w", encoding="utf-8") as handle:
        json.dump(record, handle)
    return 200, {"active": record}


@_answer
def stop(body: bytes, root: str) -> tuple[int, dict]:
    data = parse(body)
    folder, relative = _pipeline_folder(data, root)
    going = active(folder)
    if not going:
        return 409, {"message": f"no run of {relative} is going"}
    os.kill(going["pid"], signal.SIGINT)  # as Ctrl-C: recorded as interrupted, resumable
    return 200, {"stopping": going}


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
    from nb2pipe.pipeline.model import Pipeline
    from nb2pipe.server.work import pipeline_summary

    with open(os.path.join(folder, "pipeline.json"), encoding="utf-8") as handle:
        summary = pipeline_summary(Pipeline.from_json(handle.read()),
                                   os.path.relpath(folder, root).replace(os.sep, "/"))
    reply: dict = {"pipeline": relative, "active": going, "runs": runs, "summary": summary,
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
