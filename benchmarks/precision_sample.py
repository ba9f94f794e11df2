"""Precision of `nb2pipe check`, read by hand (issue S, point 6): a stratified sample of the
findings on the corpus repositories added in 2026-12 (at least 3 per rule, fewer only where a
rule fires less), drawn with a fixed seed, each shown with its cell's code for a reader to
judge; the judgements live in benchmarks/precision-verdicts.tsv (key, verdict, why).

    python benchmarks/precision_sample.py --show          # the sample, with code, to read
    python benchmarks/precision_sample.py                 # the table from the verdicts

A verdict is `tp` (the finding is right and worth fixing), `fp` (wrong, or not a problem the
rule's page describes). Strict precision is tp / (tp + fp) over the sample; weighted, each
rule's precision weighs as much as its share of all findings. A finding the verdicts do not
cover yet is listed as unread; the check's own JSON output is the only input (`nb2pipe check
REPO --output-format json`, per repository: project rules apply per repository).
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import random
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NEW_REPOSITORIES = ("DAT8", "Data-Analysis", "pydata-book", "zero-to-mastery-ml")
VERDICTS = ROOT / "benchmarks" / "precision-verdicts.tsv"


def findings(corpus: Path, repositories) -> list[dict]:
    found = []
    for repository in repositories:
        done = subprocess.run([sys.executable, "-m", "nb2pipe", "check", str(corpus / repository),
                               "--output-format", "json", "--no-cache"],
                              capture_output=True, text=True)
        for finding in json.loads(done.stdout)["diagnostics"]:
            finding["path"] = str(Path(finding["path"]).resolve().relative_to(corpus.resolve()))
            found.append(finding)
    return found


def key(finding: dict) -> str:
    text = f"{finding['code']}|{finding['path']}|{_number(finding)}|" \
           f"{finding['location']['row']}|{finding['message']}"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _number(finding: dict):
    return (finding.get("cell") or {}).get("number")


def sample(found: list[dict], seed: int, per_rule: int) -> list[dict]:
    by_rule = collections.defaultdict(list)
    for finding in sorted(found, key=lambda f: (f["code"], f["path"], _number(f) or 0,
                                                 f["location"]["row"], f["message"])):
        by_rule[finding["code"]].append(finding)
    chosen = []
    rng = random.Random(seed)
    for code in sorted(by_rule):
        rows = by_rule[code]
        chosen += rng.sample(rows, min(per_rule, len(rows)))
    return chosen


def context(corpus: Path, finding: dict, around: int = 4) -> str:
    if finding.get("cell") is None:
        return "(whole notebook or project)"
    notebook = json.loads((corpus / finding["path"]).read_text(encoding="utf-8"))
    cells = notebook.get("cells") or [c for ws in notebook.get("worksheets", [])
                                      for c in ws.get("cells", [])]
    index = finding["cell"]["index"]
    cell = cells[index] if index < len(cells) else None
    if cell is None:
        return "(cell not found)"
    source = cell.get("source") or cell.get("input") or ""
    lines = ("".join(source) if isinstance(source, list) else source).splitlines()
    row = finding["location"]["row"]
    start = max(0, row - 1 - around)
    return "\n".join(f"{'>' if n + 1 == row else ' '}{n + 1:4} {lines[n]}"
                     for n in range(start, min(len(lines), row + around)))


def read_verdicts() -> dict[str, tuple[str, str]]:
    verdicts = {}
    if VERDICTS.exists():
        for line in VERDICTS.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                parts = line.split("\t")
                verdicts[parts[0]] = (parts[1], parts[2] if len(parts) > 2 else "")
    return verdicts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=str(ROOT.parent / "shared" / "corpus"))
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--per-rule", type=int, default=3)
    parser.add_argument("--show", action="store_true", help="print the sample with its code")
    parser.add_argument("--repos", nargs="*", default=list(NEW_REPOSITORIES),
                        help="the corpus repositories to sample (default: the four added in "
                             "2026-12, all in the dev part of bench_journey's split)")
    args = parser.parse_args()
    corpus = Path(args.corpus)
    found = findings(corpus, args.repos)
    chosen = sample(found, args.seed, args.per_rule)
    verdicts = read_verdicts()
    if args.show:
        for finding in chosen:
            said = verdicts.get(key(finding), ("unread", ""))[0]
            print(f"=== {key(finding)} [{said}] {finding['code']} {finding['path']} cell "
                  f"{_number(finding)} line {finding['location']['row']}\n    "
                  f"{finding['message']}\n    help: {finding.get('help')}\n"
                  f"{context(corpus, finding)}\n")
        return 0
    counts = collections.Counter(f["code"] for f in found)
    rows = collections.defaultdict(lambda: {"tp": 0, "fp": 0, "unread": 0})
    for finding in chosen:
        rows[finding["code"]][verdicts.get(key(finding), ("unread",))[0]] += 1
    print(f"seed {args.seed}, {args.per_rule} per rule, {len(chosen)} findings of {len(found)} "
          f"({', '.join(args.repos)})\n")
    print("| rule | findings | read | right | precision |\n|---|---|---|---|---|")
    tp = fp = 0
    weighted = 0.0
    for code in sorted(rows):
        row = rows[code]
        tp, fp = tp + row["tp"], fp + row["fp"]
        judged = row["tp"] + row["fp"]
        share = counts[code] / len(found)
        precision = row["tp"] / judged if judged else 1.0
        weighted += share * precision
        print(f"| {code} | {counts[code]} | {judged} | {row['tp']} | {precision:.0%} |")
    unread = sum(r["unread"] for r in rows.values())
    print(f"\nstrict precision {tp}/{tp + fp} = {tp / max(1, tp + fp):.1%}; weighted by how "
          f"often each rule fires {weighted:.1%}; unread {unread}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
