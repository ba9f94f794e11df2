"""``runs/ID/validation.html``: the data-validation and drift report of a run, one page a
person can open (no script, no network): per frame its verdict and failures, then each
column's PSI against the threshold, with the baseline's shares and the run's side by side,
bin by bin. The numbers come from the steps' reports (``validation.json``)."""

from __future__ import annotations

import html
import os

#: The report's file name, in the run folder.
NAME = "validation.html"

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1f2328;max-width:1100px}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:28px 0 6px}
.muted{color:#636c76} code{font:12px ui-monospace,monospace;background:#f3f4f6;padding:1px 4px;border-radius:4px}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff}
.passed{background:#1a7f37}.drifted{background:#bf8700}.failed{background:#cf222e}.new{background:#0969da}
table{border-collapse:collapse;margin-top:6px} td,th{padding:4px 10px 4px 0;text-align:left;vertical-align:middle}
th{font-weight:600;border-bottom:1px solid #d0d7de;font-size:12px;color:#636c76}
tr.over td.psi{color:#cf222e;font-weight:600}
ul.failures{margin:4px 0;padding-left:20px;color:#cf222e}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px;vertical-align:-1px}
"""
_BASE, _NOW, _OVER = "#afb8c1", "#0969da", "#cf222e"


def write(run_folder: str, result: dict, threshold: float, run_id: str) -> str | None:
    """Write the report of ``result`` (:func:`nb2pipe.run.validation.summary`'s) into
    ``run_folder``; return its path, or ``None`` when no frame was compared with a
    baseline (a first run only records)."""
    frames = [f for f in result.get("frames", []) if f.get("status") != "new"]
    if not frames:
        return None
    parts = [f"<!doctype html><meta charset=utf-8><title>Data validation · {html.escape(run_id)}"
             f"</title><style>{_STYLE}</style>",
             f"<h1>Data validation of run <code>{html.escape(run_id)}</code> "
             f"{_badge(result.get('status', ''))}</h1>",
             f"<p class=muted>{_frames(len(frames))} compared with "
             f"{'its baseline' if len(frames) == 1 else 'their baselines'} (the pipeline "
             f"folder's <code>validation/</code>). Drift is the population stability index "
             f"(PSI) of each column; above {threshold:g} (the dashed line) a column has "
             f"drifted.<br><span class=legend><span style='background:{_BASE};margin-left:0'>"
             f"</span>baseline<span style='background:{_NOW}'></span>this run</span> "
             f"(hover a bar for its bin and shares)</p>"]
    order = {"failed": 0, "drifted": 1, "passed": 2}
    for frame in sorted(frames, key=lambda f: (order.get(f.get("status"), 3), f["frame"])):
        parts.append(_frame(frame, threshold))
    path = os.path.join(run_folder, NAME)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(parts) + "\n")
    return path


def _frames(count: int) -> str:
    return f"{count} frame{'s' if count != 1 else ''}"


def _badge(status: str) -> str:
    return f"<span class='badge {html.escape(status)}'>{html.escape(status)}</span>"


def _frame(frame: dict, threshold: float) -> str:
    out = [f"<h2><code>{html.escape(frame['frame'])}</code> {_badge(frame.get('status', ''))}"
           f" <span class=muted>{frame.get('rows', '?')} rows</span></h2>"]
    failures = frame.get("failures") or []
    if failures:
        items = []
        for failure in failures:
            column = failure.get("column")
            where = f"column <code>{html.escape(str(column))}</code> " if column else ""
            rows = failure.get("rows")
            examples = failure.get("examples") or []
            items.append(f"<li>{where}{html.escape(str(failure.get('check', '')))}"
                         f"{f', {rows} rows' if rows else ''}"
                         f"{' (e.g. ' + html.escape(', '.join(map(repr, examples[:3]))) + ')' if examples else ''}"
                         f"</li>")
        out.append(f"<ul class=failures>{''.join(items)}</ul>")
    drift = frame.get("drift") or {}
    bins = frame.get("bins") or {}
    if not drift:
        out.append("<p class=muted>No column to measure drift on.</p>")
        return "\n".join(out)
    top = max(max(drift.values()), threshold) or 1.0
    rows = ["<table><tr><th>column</th><th>PSI</th><th></th><th>baseline and this run, "
            "bin by bin</th></tr>"]
    for column, value in sorted(drift.items(), key=lambda item: -item[1]):
        over = value > threshold
        width = 160
        bar = (f"<svg width={width} height=12><rect width={width} height=12 fill=#f3f4f6 />"
               f"<rect width={width * min(value / top, 1):.1f} height=12 "
               f"fill={_OVER if over else _NOW} />"
               f"<line x1={width * threshold / top:.1f} x2={width * threshold / top:.1f} y1=0 "
               f"y2=12 stroke=#1f2328 stroke-dasharray=2,2 /></svg>")
        rows.append(f"<tr class={'over' if over else 'ok'}><td><code>{html.escape(column)}"
                    f"</code></td><td class=psi>{value:.3f}</td><td>{bar}</td>"
                    f"<td>{_bins(bins.get(column))}</td></tr>")
    rows.append("</table>")
    out.append("".join(rows))
    return "\n".join(out)


def _bins(entry: dict | None) -> str:
    """Paired bars, baseline then this run, one pair a bin; the label on hover."""
    if not entry:
        return ""
    labels, base, now = entry["labels"], entry["baseline"], entry["current"]
    tallest = max(base + now + [1e-9])
    height, pair = 40, 14
    bars = []
    for i, label in enumerate(labels):
        x = i * (pair + 4)
        for offset, share, colour in ((0, base[i], _BASE), (pair / 2, now[i], _NOW)):
            h = height * share / tallest
            bars.append(f"<rect x={x + offset:.1f} y={height - h:.1f} width={pair / 2 - 1} "
                        f"height={h:.1f} fill={colour}><title>{html.escape(label)}: baseline "
                        f"{base[i]:.1%}, this run {now[i]:.1%}</title></rect>")
    width = len(labels) * (pair + 4)
    return f"<svg width={width} height={height}>{''.join(bars)}</svg>"
