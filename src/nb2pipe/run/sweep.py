"""A sweep's summary: one row per run — its parameters, status and metrics — best first, as a
table on the terminal and as ``runs/SWEEP_ID/summary.csv``."""

from __future__ import annotations

import csv
import os

#: Metrics whose lower values are better, by a word of their name.
LOWER_IS_BETTER = ("loss", "error", "mse", "mae", "rmse", "mape", "logloss", "brier")


def lower_is_better(metric: str) -> bool:
    return any(word in metric.lower() for word in LOWER_IS_BETTER)


def summarize(records: list, runs_dir: str, metrics: list[str], sort: str | None) -> list[str]:
    """The summary's lines (the table, then where the CSV went); writes the CSV."""
    from nb2pipe.run.engine import sweep_columns
    from nb2pipe.run.record import new_run_id

    varying = sweep_columns([r.parameters for r in records])
    names = list(dict.fromkeys([*metrics, *(k for r in records for k in r.metrics)]))
    key = sort or (names[0] if names else None)
    lines = []
    if sort and sort not in names:
        lines.append(f"no metric `{sort}` in these runs (metrics: {', '.join(names) or 'none'}):"
                     f" in run order")
        key = None

    def order(record) -> tuple:
        value = record.metrics.get(key) if key else None
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return (1, 0.0)
        return (0, value if lower_is_better(key) else -value)

    ranked = sorted(records, key=order) if key else list(records)
    header = [*varying, "status", *names, "run"]
    rows = [[str(r.parameters.get(k)) for k in varying] + [r.status] +
            [_cell(r.metrics.get(m)) for m in names] + [r.run_id] for r in ranked]
    best = ranked[0] if key and order(ranked[0])[0] == 0 else None
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows)]
    title = f"sweep of {len(records)} runs"
    if key:
        title += f", best first by {key} ({'lower' if lower_is_better(key) else 'higher'} is " \
                 f"better)"
    lines.append(title + ":")
    lines.append(("  " + "  ".join(h.ljust(w) for h, w in zip(header, widths))).rstrip())
    for record, row in zip(ranked, rows):
        mark = "*" if record is best else " "
        lines.append((mark + " " + "  ".join(str(c).ljust(w) for c, w in zip(row, widths)))
                     .rstrip())
    folder = os.path.join(runs_dir, "sweep-" + new_run_id())
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "summary.csv")
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*varying, "status", *names, "run_id", "seconds"])
        for record in ranked:
            writer.writerow([record.parameters.get(k) for k in varying] + [record.status] +
                            [record.metrics.get(m, "") for m in names] +
                            [record.run_id, record.seconds])
    lines.append(f"(* best; the table is in {path})")
    return lines


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
