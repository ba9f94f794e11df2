"""Data validation, the runner's side (the steps' side is :mod:`nb2pipe.validation`).

Before a run: the settings (``pipeline.json``, then ``[tool.nb2pipe.validation]``, then the
command line) and the baselines of the pipeline folder's ``validation/``, handed to every
step. After it: the steps' reports gathered into ``runs/ID/validation.json``, and, when the
run succeeded, a baseline recorded for each frame that had none (the first successful run
records them all). ``nb2pipe baseline`` accepts a later run's data after review.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass

#: The baselines' folder, in the pipeline folder (``convert`` never touches it).
BASELINES = "validation"
#: The reports' folder, in the run folder.
REPORTS = "validation"


class ValidationConfigError(ValueError):
    """Validation cannot be set up (a damaged baseline file, a bad setting); the message says
    which file and how to fix it."""


@dataclass
class ValidationOptions:
    enabled: bool = True
    drift_threshold: float = 0.2
    strict: bool = False


def options_for(pipeline, folder: str, enabled: bool | None = None,
                strict: bool | None = None) -> ValidationOptions:
    """The validation settings of a run: ``pipeline.json``'s, then those of the nearest
    ``[tool.nb2pipe.validation]`` above ``folder``, then the command line's."""
    from nb2pipe.lint.config import ConfigError, load_settings

    merged = {"enabled": True, "drift_threshold": 0.2, "strict": False}
    merged.update({k: v for k, v in (pipeline.validation or {}).items() if k in merged})
    try:
        merged.update(load_settings(folder).validation)
    except ConfigError as error:
        raise ValidationConfigError(str(error)) from None
    if enabled is not None:
        merged["enabled"] = enabled
    if strict is not None:
        merged["strict"] = strict
    return ValidationOptions(bool(merged["enabled"]), float(merged["drift_threshold"]),
                             bool(merged["strict"]))


def load_baselines(folder: str) -> dict[str, dict]:
    """``STEP.NAME`` → ``{"schema": YAML text, "profile": dict}`` from ``folder/validation/``.

    Raises:
        ValidationConfigError: a baseline file is damaged (the schemas are only read as YAML
            here; pandera reads them in the steps).
    """
    import yaml

    directory = os.path.join(folder, BASELINES)
    baselines: dict[str, dict] = {}
    if not os.path.isdir(directory):
        return baselines
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if name.endswith(".schema.yaml"):
            key = name[:-len(".schema.yaml")]
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError as error:
                line = getattr(getattr(error, "problem_mark", None), "line", None)
                raise ValidationConfigError(
                    f"{path}{f':{line + 1}' if line is not None else ''} is not valid YAML; "
                    f"restore it from git, or accept a run's data as the new baseline with "
                    f"`nb2pipe baseline {folder}`") from None
            if not isinstance(data, dict) or data.get("schema_type") != "dataframe" or \
                    not isinstance(data.get("columns"), dict):
                raise ValidationConfigError(
                    f"{path} is not a pandera DataFrame schema (no `schema_type: dataframe` "
                    f"with `columns`); restore it from git, or accept a run's data as the "
                    f"new baseline with `nb2pipe baseline {folder}`")
            baselines.setdefault(key, {})["schema"] = text
        elif name.endswith(".profile.json"):
            key = name[:-len(".profile.json")]
            try:
                with open(path, encoding="utf-8") as handle:
                    profile = json.load(handle)
            except ValueError as error:
                raise ValidationConfigError(
                    f"{path} is not valid JSON ({error}); restore it from git, or accept a "
                    f"run's data again with `nb2pipe baseline {folder}`") from None
            baselines.setdefault(key, {})["profile"] = profile
    return baselines


def step_settings(options: ValidationOptions, baselines: dict, run_folder: str,
                  hint: str) -> dict:
    """What each step's kernel gets (``nb2pipe.validation.ValidationSettings``)."""
    return {"report_dir": os.path.join(run_folder, REPORTS), "baselines": baselines,
            "drift_threshold": options.drift_threshold, "strict": options.strict,
            "hint": hint}


def reports(run_folder: str) -> list[dict]:
    """The steps' reports in ``run_folder/validation/``, by frame."""
    directory = os.path.join(run_folder, REPORTS)
    found = []
    if not os.path.isdir(directory):
        return found
    for name in sorted(os.listdir(directory)):
        if name.endswith(".json") and not name.endswith(".profile.json"):
            try:
                with open(os.path.join(directory, name), encoding="utf-8") as handle:
                    found.append(json.load(handle))
            except (OSError, ValueError):
                continue
    return found


def summary(run_folder: str) -> dict:
    """``runs/ID/validation.json``: the run's verdict and each frame's."""
    frames = reports(run_folder)
    statuses = {report.get("status") for report in frames}
    status = "failed" if "failed" in statuses else "drifted" if "drifted" in statuses else \
        "passed" if "passed" in statuses else "recorded" if frames else "none"
    result = {"status": status, "frames": frames}
    with open(os.path.join(run_folder, "validation.json"), "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=1, default=str)
        handle.write("\n")
    return result


def record_new_baselines(folder: str, run_folder: str, frames: list[dict]) -> list[str]:
    """Copy the candidates of the frames that have no baseline yet into ``folder``'s
    ``validation/``; return their names."""
    new = [f["frame"] for f in frames if f.get("status") == "new"]
    return _copy_candidates(folder, run_folder, new)


def accept(folder: str, runs_dir: str, run_id: str | None = None) \
        -> tuple[str, list[str], list[str]]:
    """``nb2pipe baseline``: make the data of run ``run_id`` (the latest run with validation
    reports when ``None``) the baseline of every frame it validated.

    A run stopped by a failed frame never reached the frames after it, whose baselines were
    made from the old data: those are dropped, and the next successful run records them
    afresh (from the accepted data).

    Returns:
        The run's id, the frames accepted, the frames whose baselines were dropped.

    Raises:
        ValidationConfigError: no such run, or it has no candidates.
    """
    if run_id is None:
        candidates = sorted(r for r in (os.listdir(runs_dir) if os.path.isdir(runs_dir) else [])
                            if os.path.isdir(os.path.join(runs_dir, r, REPORTS)))
        if not candidates:
            raise ValidationConfigError(f"no run in {runs_dir} has validated data yet: run the "
                                        f"pipeline first (nb2pipe run {folder})")
        run_id = candidates[-1]
    run_folder = os.path.join(runs_dir, run_id)
    if not os.path.isdir(run_folder):
        known = sorted(os.listdir(runs_dir))[-5:] if os.path.isdir(runs_dir) else []
        raise ValidationConfigError(f"no run `{run_id}` in {runs_dir}" +
                                    (f" (runs: {', '.join(known)})" if known else ""))
    frames = [r["frame"] for r in reports(run_folder) if r.get("frame")]
    if not frames:
        raise ValidationConfigError(f"run {run_id} validated no data (it ran with "
                                    f"--no-validate, or failed before any frame)")
    accepted = _copy_candidates(folder, run_folder, frames)
    dropped = []
    if _status(run_folder) != "succeeded":
        directory = os.path.join(folder, BASELINES)
        for name in sorted(os.listdir(directory)):
            key = name.rsplit(".", 2)[0] if name.endswith((".schema.yaml", ".profile.json")) \
                else None
            if key and key not in frames:
                os.unlink(os.path.join(directory, name))
                if key not in dropped:
                    dropped.append(key)
    return run_id, accepted, dropped


def _status(run_folder: str) -> str | None:
    try:
        with open(os.path.join(run_folder, "run.json"), encoding="utf-8") as handle:
            return json.load(handle).get("status")
    except (OSError, ValueError):
        return None


def _copy_candidates(folder: str, run_folder: str, frames: list[str]) -> list[str]:
    target = os.path.join(folder, BASELINES)
    copied = []
    for frame in frames:
        sources = [os.path.join(run_folder, REPORTS, f"{frame}{suffix}")
                   for suffix in (".schema.yaml", ".profile.json")]
        if not os.path.exists(sources[1]):
            continue
        os.makedirs(target, exist_ok=True)
        for source in sources:
            if os.path.exists(source):
                shutil.copyfile(source, os.path.join(target, os.path.basename(source)))
        copied.append(frame)
    return copied
