"""One frame, where its step produces it: validated against its baseline, its drift measured,
and its own schema and profile kept as the candidates ``nb2pipe baseline`` can accept.

:class:`ValidationSettings` comes from ``nb2pipe run`` (through the step's run information);
:func:`validate_value` writes ``STEP.NAME.json`` (the report), ``STEP.NAME.schema.yaml`` and
``STEP.NAME.profile.json`` (the candidates) into the run's ``validation/`` folder.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from nb2pipe.validation.schema import Failure


class DataValidationError(Exception):
    """A frame failed its baseline's checks (or drifted, when strict): the steps that consume
    it must not run. The message names the frame, each column and check, how many rows fail
    and a few of their values."""

    def __init__(self, frame: str, failures: list[Failure], drifted: dict[str, float],
                 hint: str = "") -> None:
        parts = [failure.describe() for failure in failures]
        parts += [f"column `{column}` drifted (PSI {value:.2f})"
                  for column, value in drifted.items()]
        super().__init__(f"data validation failed for `{frame}`: " + "; ".join(parts) +
                         (f". {hint}" if hint else ""))
        self.frame, self.failures, self.drifted = frame, failures, drifted


@dataclass
class ValidationSettings:
    """What ``nb2pipe run`` asks of the steps.

    Attributes:
        report_dir: where reports and candidate baselines go (the run's ``validation/``).
        baselines: ``STEP.NAME`` → ``{"schema": YAML text, "profile": dict}``; a frame
            without one is only profiled (its first successful run records it).
        drift_threshold: a column whose PSI is above this has drifted.
        strict: drift fails the step instead of warning.
        hint: how to accept new data (``nb2pipe baseline DIR RUN``), for the messages.
    """

    report_dir: str
    baselines: dict[str, dict] = field(default_factory=dict)
    drift_threshold: float = 0.2
    strict: bool = False
    hint: str = ""

    def to_json(self) -> str:
        return json.dumps({"report_dir": self.report_dir, "baselines": self.baselines,
                           "drift_threshold": self.drift_threshold, "strict": self.strict,
                           "hint": self.hint})

    @classmethod
    def from_dict(cls, data: dict) -> ValidationSettings:
        return cls(report_dir=data.get("report_dir", ""), baselines=data.get("baselines") or {},
                   drift_threshold=float(data.get("drift_threshold", 0.2)),
                   strict=bool(data.get("strict", False)), hint=data.get("hint", ""))


def is_frame(value: Any) -> bool:
    """Whether ``value`` is tabular data a baseline can describe."""
    module = type(value).__module__.partition(".")[0]
    kind = type(value).__name__
    return (module == "pandas" and kind in ("DataFrame", "Series")) or \
        (module == "numpy" and kind == "ndarray" and getattr(value, "dtype", None) is not None
         # numbers, booleans, times, text: not objects, nor structured records (`void`),
         # which have no columns a schema could describe
         and value.dtype.kind in "biufcmMSU" and value.dtype.names is None
         and value.size > 0)


def frame_of(value: Any):
    """``(frame, kind, shape, dtype)``: ``value`` as a DataFrame with text column names (a
    Series is one column; a 1-D or 2-D array one column per position), or ``None`` for an
    array of more dimensions, which is checked by dtype and shape only."""
    import pandas

    kind = type(value).__name__
    if kind == "Series":
        return value.to_frame(name="value" if value.name is None else str(value.name)), \
            kind, None, None
    if kind == "DataFrame":
        frame = value if all(isinstance(c, str) for c in value.columns) else \
            value.rename(columns=str)
        return frame, kind, None, None
    shape, dtype = list(value.shape), str(value.dtype)
    if value.ndim == 1:
        return pandas.DataFrame({"0": value}), kind, shape, dtype
    if value.ndim == 2:
        return pandas.DataFrame(value, columns=[str(i) for i in range(value.shape[1])]), \
            kind, shape, dtype
    return None, kind, shape, dtype


def validate_value(step: str, name: str, value: Any,
                   settings: ValidationSettings) -> dict | None:
    """Validate the frame ``value`` that ``step`` passes on as ``name``; ``None`` when it is
    not a frame.

    Raises:
        DataValidationError: it fails its baseline's checks, or drifted with ``strict``.
    """
    if not is_frame(value):
        return None
    from nb2pipe.validation import profile as profiles
    from nb2pipe.validation import schema as schemas

    key = f"{step}.{name}"
    frame, kind, shape, dtype = frame_of(value)
    if not settings.report_dir:  # a cluster's component: the reports go to its own disk
        import tempfile

        settings.report_dir = tempfile.mkdtemp(prefix="nb2pipe-validation-")
    os.makedirs(settings.report_dir, exist_ok=True)
    candidate = profiles.profile(frame, kind, shape, dtype) if frame is not None else \
        {"kind": kind, "rows": int(shape[0]), "columns": {}, "shape": shape, "dtype": dtype}
    _write(settings.report_dir, f"{key}.profile.json", json.dumps(candidate, indent=1,
                                                                  sort_keys=True) + "\n")
    if frame is not None:
        _write(settings.report_dir, f"{key}.schema.yaml", schemas.to_yaml(schemas.infer(frame)))
    baseline = settings.baselines.get(key)
    report: dict[str, Any] = {"frame": key, "step": step, "name": name, "kind": kind,
                              "rows": candidate["rows"], "threshold": settings.drift_threshold}
    if baseline is None:
        report.update(status="new", failures=[], drift={}, drifted=[])
        _write(settings.report_dir, f"{key}.json", json.dumps(report, indent=1) + "\n")
        return report
    failures = _shape_failures(baseline.get("profile") or {}, kind, shape, dtype)
    if frame is not None and baseline.get("schema"):
        schema = schemas.from_yaml(baseline["schema"], f"validation/{key}.schema.yaml")
        failures += schemas.validate(schema, frame)
    bins = profiles.drift_bins(baseline.get("profile") or {}, frame) \
        if frame is not None else {}
    drift = {column: entry.pop("psi") for column, entry in bins.items()}
    drifted = {c: v for c, v in drift.items() if v > settings.drift_threshold}
    report.update(status="failed" if failures or (drifted and settings.strict) else
                  "drifted" if drifted else "passed",
                  failures=[f.to_dict() for f in failures],
                  drift={c: round(v, 6) for c, v in drift.items()}, drifted=sorted(drifted),
                  bins=bins)
    _write(settings.report_dir, f"{key}.json", json.dumps(report, indent=1, default=str) + "\n")
    if failures or (drifted and settings.strict):
        raise DataValidationError(key, failures, drifted if settings.strict else {},
                                  settings.hint)
    return report


def _shape_failures(baseline: dict, kind: str, shape, dtype) -> list[Failure]:
    if baseline.get("kind") != kind:
        return [Failure(None, f"is a {kind}, the baseline a {baseline.get('kind')}", 0, [])] \
            if baseline.get("kind") else []
    if shape is None or "shape" not in baseline:
        return []
    failures = []
    if baseline.get("dtype") != dtype:
        failures.append(Failure(None, f"dtype {baseline.get('dtype')} expected, got {dtype}",
                                0, []))
    expected = baseline["shape"]
    if len(expected) != len(shape) or expected[1:] != shape[1:]:
        failures.append(Failure(None, f"shape (…, {', '.join(map(str, expected[1:]))}) "
                                      f"expected, got {tuple(shape)}", 0, []))
    return failures


def _write(folder: str, name: str, text: str) -> None:
    with open(os.path.join(folder, name), "w", encoding="utf-8") as handle:
        handle.write(text)
