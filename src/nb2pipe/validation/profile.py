"""Statistics profiles of frames, and drift between a baseline profile and new data.

A profile holds, per column: ``count`` and ``nulls``; for numbers ``min``, ``max``, ``mean``,
``std``, the deciles (``edges``) and the share of rows in each of the ten bins they make
(``shares``); for text, categorical and boolean columns the frequencies of the 20 most
frequent values (``top``), the share of the rest (``other``) and the number of values
(``unique``). Drift is the population stability index (PSI) of each column: on the
baseline's decile bins for numbers, on its frequent values for categories:

    PSI = Σ (new share − baseline share) × ln(new share / baseline share)

0 is no change; 0.1 a small shift; 0.2 (the default threshold) and above a shift worth a
look. Shares below 0.0001 count as 0.0001, so that an empty bin does not make it infinite.
"""

from __future__ import annotations

import math
from typing import Any

#: Shares below this count as this (an empty bin would make the PSI infinite).
EPSILON = 1e-4
#: How many of a category column's most frequent values a profile keeps.
TOP = 20
#: Deciles: ten bins.
QUANTILES = [i / 10 for i in range(11)]
#: Deciles and bin shares of columns longer than this are estimated on every k-th row, about
#: this many (a share's standard error is then under 0.1 %); count, nulls, min, max, mean and
#: std always use every row.
SAMPLE = 200_000


def is_number(series) -> bool:
    from pandas.api import types

    return types.is_numeric_dtype(series.dtype) and not types.is_bool_dtype(series.dtype)


def is_category(series) -> bool:
    from pandas import CategoricalDtype
    from pandas.api import types

    dtype = series.dtype
    return types.is_bool_dtype(dtype) or isinstance(dtype, CategoricalDtype) or \
        types.is_string_dtype(dtype) or types.is_object_dtype(dtype)


def profile(frame, kind: str = "DataFrame", shape=None, dtype: str | None = None) -> dict:
    """The profile of ``frame`` (a DataFrame with text column names)."""
    columns = {}
    for name in frame.columns:
        columns[str(name)] = _column(frame[name])
    result: dict[str, Any] = {"kind": kind, "rows": int(len(frame)), "columns": columns}
    if shape is not None:
        result["shape"] = list(shape)
        result["dtype"] = dtype
    return result


def _column(series) -> dict:
    import numpy

    nulls = int(series.isna().sum())
    entry: dict[str, Any] = {"dtype": str(series.dtype), "count": int(len(series) - nulls),
                             "nulls": nulls}
    if is_number(series):
        values = series.to_numpy(dtype="float64", na_value=numpy.nan)
        values = values[numpy.isfinite(values)]
        if len(values):
            sample = _sample(values)
            edges = numpy.quantile(sample, QUANTILES)
            entry.update(min=float(values.min()), max=float(values.max()),
                         mean=float(values.mean()), std=float(values.std()),
                         edges=[float(e) for e in edges],
                         shares=_shares(sample, edges))
    elif is_category(series):
        counts = series.value_counts(dropna=True)
        total = int(counts.sum())
        top = counts.iloc[:TOP]
        entry["unique"] = int(len(counts))
        entry["top"] = {str(k): float(v) / total for k, v in top.items()} if total else {}
        entry["other"] = float(total - int(top.sum())) / total if total else 0.0
    return entry


def _sample(values):
    return values if len(values) <= SAMPLE else values[:: len(values) // SAMPLE]


def _shares(values, edges) -> list[float]:
    """The share of ``values`` in each bin the deciles ``edges`` make (the first and last
    bins open-ended, so that new data outside the baseline's range still counts)."""
    import numpy

    inner = numpy.asarray(edges[1:-1])
    bins = numpy.searchsorted(inner, values, side="left")
    counts = numpy.bincount(bins, minlength=len(inner) + 1)
    total = counts.sum()
    return [float(c) / total if total else 0.0 for c in counts]


def psi(expected: list[float], actual: list[float]) -> float:
    """The population stability index between two lists of shares."""
    total = 0.0
    for e, a in zip(expected, actual):
        e, a = max(e, EPSILON), max(a, EPSILON)
        total += (a - e) * math.log(a / e)
    return total


def drift_bins(baseline: dict, frame) -> dict[str, dict]:
    """Column → ``{"psi", "labels", "baseline", "current"}``: the PSI and the shares it was
    computed from, bin by bin (the decile bins of the baseline for numbers, its frequent
    values and "other" for categories) — what the drift report draws."""
    import numpy

    found = {}
    for name, base in baseline.get("columns", {}).items():
        if name not in frame.columns:
            continue
        series = frame[name]
        if "edges" in base and is_number(series):
            values = series.to_numpy(dtype="float64", na_value=numpy.nan)
            values = values[numpy.isfinite(values)]
            if not len(values):
                continue
            expected = list(base["shares"])
            actual = _shares(_sample(values), base["edges"])
            edges = base["edges"]
            labels = [f"< {edges[1]:.4g}"] + \
                [f"{edges[i]:.4g} – {edges[i + 1]:.4g}" for i in range(1, len(edges) - 2)] + \
                [f"≥ {edges[-2]:.4g}"]
        elif "top" in base and is_category(series):
            counts = series.value_counts(dropna=True)
            total = int(counts.sum())
            if not total:
                continue
            shares = {str(k): float(v) / total for k, v in counts.items()}
            labels = list(base["top"])
            expected = [base["top"][k] for k in labels] + [base.get("other", 0.0)]
            actual = [shares.get(k, 0.0) for k in labels]
            actual.append(max(0.0, 1.0 - sum(actual)))
            labels.append("(other values)")
        else:
            continue
        found[name] = {"psi": psi(expected, actual), "labels": labels,
                       "baseline": [round(e, 6) for e in expected],
                       "current": [round(a, 6) for a in actual]}
    return found
