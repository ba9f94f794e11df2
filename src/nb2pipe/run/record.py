"""The run record: ``runs/<run-id>/run.json``, rewritten after every step so that a run
killed at any point leaves an accurate record (and can be resumed)."""

from __future__ import annotations

import datetime
import json
import os
import secrets
from dataclasses import asdict, dataclass, field


def new_run_id() -> str:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{secrets.token_hex(2)}"


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


@dataclass
class StepRecord:
    status: str = "pending"  # pending, running, succeeded, failed, skipped, interrupted
    started: str | None = None
    finished: str | None = None
    seconds: float | None = None
    notebook: str | None = None  # the executed notebook, relative to the run folder
    html: str | None = None
    error: dict | None = None  # cell, line, ename, evalue
    tracking_run_id: str | None = None
    cell: int | None = None  # while it runs: the notebook cell (as the user numbers it) running
    cached_from: str | None = None  # the run whose results were reused (the step cache)


@dataclass
class RunRecord:
    run_id: str
    pipeline: str
    source: str  # the converted folder or the notebook that was run
    parameters: dict
    engine: str = "papermill"
    status: str = "running"  # running, succeeded, failed, interrupted
    started: str = field(default_factory=now)
    finished: str | None = None
    seconds: float | None = None
    steps: dict[str, StepRecord] = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    tracking: dict = field(default_factory=dict)  # uri, experiment, run_id
    nb2pipe: str = ""
    #: what the run ran on: data hashes, code, parameters, git; and their fingerprint
    lineage: dict = field(default_factory=dict)
    #: data validation's verdict, per frame (``runs/ID/validation.json`` has the details)
    validation: dict = field(default_factory=dict)
    #: the model gate's decision: passed, reasons, champion compared with, version registered
    gate: dict = field(default_factory=dict)
    #: after the steps, what the run is doing: {"name": "registering the model", "started": …}
    phase: dict | None = None

    def enter(self, folder: str, name: str | None) -> None:
        """Say (in run.json) what the run does after its steps, or that it is done."""
        self.phase = {"name": name, "started": now()} if name else None
        self.write(folder)

    def write(self, folder: str) -> None:
        path = os.path.join(folder, "run.json")
        temporary = path + ".tmp"
        data = asdict(self)
        from nb2pipe.pipeline.literals import literal_text, plain_json

        exact = {k: literal_text(v) for k, v in self.parameters.items() if not plain_json(v)}
        if exact:  # a tuple, a set, None…: their text gives them back (read)
            data["literals"] = exact
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, default=str)
            handle.write("\n")
        os.replace(temporary, path)

    @classmethod
    def read(cls, folder: str) -> RunRecord:
        with open(os.path.join(folder, "run.json"), encoding="utf-8") as handle:
            data = json.load(handle)
        data["steps"] = {k: StepRecord(**v) for k, v in data.get("steps", {}).items()}
        literals = data.pop("literals", None)
        if literals:
            from nb2pipe.pipeline.literals import parse_literal

            data["parameters"] = {**data.get("parameters", {}),
                                  **{k: parse_literal(v) for k, v in literals.items()}}
        return cls(**data)
