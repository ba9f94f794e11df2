"""What ``nb2pipe check`` prints besides the findings: the settings in force, statistics per
rule, the level-1 checklist, and the closing summary."""

from __future__ import annotations

import os
import sys


def settings_text(settings, codes, output_format: str, args) -> str:
    """What `check --show-settings` prints: where each setting comes from, resolved."""
    from nb2pipe.lint.registry import RULES

    lines = [
        f"configuration: {settings.source or '(none: no pyproject.toml with [tool.nb2pipe])'}",
        f"project root:  {settings.root}",
        f"rules ({len(codes)} of {len(RULES)}): {', '.join(sorted(codes))}",
        f"not selected:  {', '.join(sorted(set(RULES) - set(codes))) or '(none)'}",
        f"exclude:       {', '.join(settings.excluded) or '(nothing)'}",
        "per-file-ignores: " + ("; ".join(f"{pattern} = {', '.join(selectors)}"
                                          for pattern, selectors in
                                          settings.per_file_ignores.items()) or "(none)"),
        f"output format: {output_format}",
    ]
    if not args.no_cache:
        from nb2pipe.lint.cache import FOLDER

        lines.append("cache:         " + (args.cache_dir or os.environ.get("NB2PIPE_CACHE_DIR")
                                          or os.path.join(settings.root, FOLDER)))
    else:
        lines.append("cache:         (off)")
    return "\n".join(lines) + "\n"


def statistics(results, as_json: bool) -> str:
    """Per rule, how many diagnostics, most frequent first (``[*]``: --fix fixes some,
    ``[-]``: only --unsafe-fixes does)."""
    counts: dict[str, list] = {}
    for result in results:
        for d in result.diagnostics:
            entry = counts.setdefault(d.code, [d.code, d.name, 0, 0, 0])
            entry[2] += 1
            if d.fix:
                entry[3 if d.fix_safety == "safe" else 4] += 1
    rows = sorted(counts.values(), key=lambda row: (-row[2], row[0]))
    if as_json:
        import json

        return json.dumps([{"code": code, "name": name, "count": count, "fixable": safe,
                            "unsafe_fixable": unsafe}
                           for code, name, count, safe, unsafe in rows], indent=2) + "\n"
    width = len(str(rows[0][2])) if rows else 1
    return "".join(f"{count:>{width}}  {code}  {'[*]' if safe else '[-]' if unsafe else '   '} "
                   f"{name}\n" for code, name, count, safe, unsafe in rows)


def maturity(results, pipelines=()):
    """The checklist of each notebook ("ready for a pipeline"), then of each converted
    pipeline folder (level 1)."""
    from nb2pipe.lint.maturity import assess, assess_pipeline, has_step_tags

    found = [assess(r.path, r.diagnostics, r.has_steps or has_step_tags(r.notebook))
             for r in results if not r.is_folder]
    for folder in pipelines:
        try:
            found.append(assess_pipeline(folder))
        except (OSError, ValueError, KeyError, TypeError):  # a damaged pipeline.json
            continue
    return found


def maturity_text(maturity, colour: bool, project=()) -> str:
    """The checklist per notebook, then for the folder (with the folder rules' findings)."""
    from nb2pipe.lint.maturity import ITEMS
    from nb2pipe.output.text import paint

    lines = []
    for report in maturity:
        what = "items ready for a pipeline" if report.kind == "notebook" else \
            "level-1 items met"
        lines.append(paint(f"{report.path}: {report.stage} "
                           f"({report.met}/{len(report.items)} {what})", "bold", colour))
        for status in report.items:
            mark = paint("✓", "info", colour) if status.met else paint("✗", "error", colour)
            detail = ""
            if status.codes:
                detail = ", ".join(f"{code} ×{n}" for code, n in sorted(status.codes.items()))
            elif status.note:
                detail = status.note
            lines.append(f"  {mark} {status.item.title:<20} {detail}".rstrip())
            if not status.met:
                lines.append(f"      → {status.item.clears}")
            if report.kind == "pipeline":
                lines.append(f"      ({status.item.source})")
        if report.kind == "notebook" and report.ready:
            lines.append("  A notebook alone stays at level 0: level 1 needs its converted "
                         "pipeline with data validation, a model gate and registry, lineage "
                         "and a trigger (nb2pipe convert; docs/level1.md).")
        lines.append("")
    notebooks = [r for r in maturity if r.kind == "notebook"]
    if len(notebooks) > 1 or project:
        lines.append(paint(f"Folder: {len(notebooks)} notebooks, "
                           f"{sum(r.ready for r in notebooks)} ready for level 1", "bold",
                           colour))
        for index, item in enumerate(ITEMS):
            met = sum(r.items[index].met for r in notebooks)
            lines.append(f"  {item.title:<20} {met}/{len(notebooks)} notebooks")
        for diagnostic in project:
            lines.append(f"  {paint('✗', 'error', colour)} project: {diagnostic.code} "
                         f"{diagnostic.name}: {diagnostic.message}")
        lines.append("")
    return "\n".join(lines)


def summary(results, count: int, fixed: int, args) -> None:
    folders = [r for r in results if r.is_folder]
    results = [r for r in results if not r.is_folder]
    count -= sum(len(r.diagnostics) for r in folders)
    notebooks = len(results)
    # `nb2pipe check README.md` checked a file, not a notebook (its NB901 says so)
    noun = "notebook" if all(r.path.lower().endswith(".ipynb") or r.path == "-" or
                             getattr(args, "stdin_filename", None) for r in results) else "file"
    noun += "" if notebooks == 1 else "s"
    parts = []
    if fixed:
        verb = "would fix" if args.diff else "fixed"
        parts.append(f"{verb} {fixed} diagnostic{'s' if fixed != 1 else ''}")
    if count:
        flagged = sum(1 for r in results if r.diagnostics)
        fixable = sum(1 for r in results for d in r.diagnostics
                      if d.fix and (d.fix_safety == "safe" or args.unsafe_fixes))
        hidden = sum(1 for r in results for d in r.diagnostics
                     if d.fix and d.fix_safety == "unsafe" and not args.unsafe_fixes)
        text = f"found {count} diagnostic{'s' if count != 1 else ''} in {flagged} of " \
               f"{notebooks} {noun}"
        if (fixable or hidden) and not args.fix:
            flag = "--fix --unsafe-fixes" if args.unsafe_fixes else "--fix"
            fixes = [f"{fixable} fixable with `nb2pipe check {flag}`"] if fixable else []
            if hidden:
                fixes.append(f"{hidden} more with `--unsafe-fixes`")
            text += f" ({', '.join(fixes)})"
        parts.append(text)
    around = sum(len(r.diagnostics) for r in folders)
    if not count and not args.diff:
        parts.append(f"no findings in the {notebooks} {noun}" if around else
                     f"all checks passed ({notebooks} {noun})")
    if around:
        parts.append(f"{around} about the project around the notebooks (NB7xx)")
    message = "; ".join(parts)
    print(message[0].upper() + message[1:] + ".", file=sys.stderr)
    if count and getattr(args, "output_format", "full") == "full":
        from nb2pipe.diagnostic import rule_url

        code = next(d.code for r in results for d in r.diagnostics)
        print(f"What a rule means and how to fix it: `nb2pipe rule {code}` (offline), or "
              f"{rule_url(code)}", file=sys.stderr)
    if fixed and not args.diff:
        print("Run the fixed notebooks again (Restart Kernel and Run All Cells) and save: their "
              "outputs are from before the fixes.", file=sys.stderr)


def pipelines_only(pipelines: list[str], output_format: str) -> int:
    """``check --maturity DIR`` on converted folders only: their level-1 checklist."""
    import json

    from nb2pipe.output.text import use_colour

    reports = maturity([], pipelines)
    if output_format == "json":
        sys.stdout.write(json.dumps({"diagnostics": [], "maturity": [m.to_dict() for m in
                                                                     reports]},
                                    indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(maturity_text(reports, use_colour()))
    return 0
