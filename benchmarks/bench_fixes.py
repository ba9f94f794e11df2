"""Are the fixes safe? Every corpus notebook that runs top to bottom here is run, fixed with
`nb2pipe check --fix`, and run again (issue G):

- a safe fix must never add an exception: the fixed notebook runs to the end too;
- where the fix seeded something (`SEED`, `random_state=SEED`, `np.random.seed`), two runs of
  the fixed notebook must show the same outputs;
- unsafe fixes (`--fix --unsafe-fixes`) are measured the same way, on another copy.

    python benchmarks/bench_fixes.py [--corpus ../shared/corpus] [--limit N] [--timeout S]
                                     [--jobs N] [--only NOTEBOOK…]

Each notebook runs in a scratch copy of its folder (its data beside it), with papermill and
the `python3` kernel of this environment. Notebooks the fixes do not change are counted and
not run. Results: benchmarks/results/fixes.json and a summary line:
"N executable notebooks, N fixed, N broken".
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_fidelity import _key, _text, scratch_copy  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
NB2PIPE = [sys.executable, "-m", "nb2pipe"]


def execute(notebook: Path, timeout: float) -> tuple[bool, str, dict[str, str]]:
    """Run ``notebook`` top to bottom in its folder: (ran to the end, the first error, the
    outputs by cell source)."""
    out = notebook.with_suffix(".out.ipynb")
    try:
        done = subprocess.run([sys.executable, "-m", "papermill", str(notebook), str(out),
                               "-k", "python3", "--cwd", str(notebook.parent),
                               "--no-progress-bar"],
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"timed out after {timeout:.0f} s", {}
    outputs: dict[str, str] = {}
    error = ""
    if out.exists():
        data = json.loads(out.read_text(encoding="utf-8"))
        for number, cell in enumerate(data.get("cells", []), 1):
            if cell.get("cell_type") != "code":
                continue
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error" and not error:
                    error = f"cell {number}: {output.get('ename')}: {output.get('evalue', '')[:160]}"
            outputs[_key("".join(cell.get("source", "")))] = _text(cell.get("outputs", []))
        out.unlink()
    if done.returncode != 0 and not error:
        error = (done.stderr.strip().splitlines() or ["failed"])[-1][:200]
    return done.returncode == 0, error, outputs


def fix(notebook: Path, unsafe: bool) -> bool:
    """``nb2pipe check --fix`` (and ``--unsafe-fixes``) on ``notebook``; whether it changed."""
    before = notebook.read_bytes()
    subprocess.run(NB2PIPE + ["check", str(notebook), "--fix", "--exit-zero", "-s"] +
                   (["--unsafe-fixes"] if unsafe else []), capture_output=True)
    return notebook.read_bytes() != before


def seeds(notebook: Path) -> int:
    """How many seeds the notebook's code passes or sets with a seed parameter."""
    text = notebook.read_text(encoding="utf-8")
    return sum(text.count(s) for s in ("random_state=SEED", "seed(SEED)", "seed=SEED"))


def bench_one(notebook: Path, timeout: float) -> dict:
    result: dict = {"notebook": str(notebook)}
    with tempfile.TemporaryDirectory() as scratch:
        probe = scratch_copy(notebook, Path(scratch) / "probe")
        if probe is None:
            return {**result, "skipped": "folder too large"}
        safe_changes = fix(probe, unsafe=False)
        unsafe_changes = fix(probe, unsafe=True) or safe_changes
        if not unsafe_changes:
            return {**result, "unchanged": True}  # nothing to prove: not run
        original = scratch_copy(notebook, Path(scratch) / "original")
        ran, error, reference = execute(original, timeout)
        result["executable"] = ran
        if not ran:
            result["why"] = error
            return result
        for mode in ("safe", "unsafe"):
            if mode == "safe" and not safe_changes:
                result[mode] = {"changed": False}
                continue
            copy = scratch_copy(notebook, Path(scratch) / mode)
            if not fix(copy, unsafe=mode == "unsafe"):
                result[mode] = {"changed": False}
                continue
            ran, error, first = execute(copy, timeout)
            if not ran and (error.startswith("timed out") or "Kernel died before" in error):
                # a busy machine (a slow run, a kernel that did not start), or the fix?
                ran, error, first = execute(copy, timeout * 3)
            entry = {"changed": True, "runs": ran, "error": error}
            if ran and seeds(copy) > seeds(original):  # the fix seeded something
                _, _, second = execute(copy, timeout)
                differing = [k for k in first if k in second and first[k] != second[k]]
                entry["seeded"] = True
                entry["deterministic"] = not differing
                if differing:
                    entry["differs"] = differing[0][:160]
            result[mode] = entry
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=str(ROOT.parent / "shared" / "corpus"))
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=40)
    parser.add_argument("--jobs", type=int, default=1,
                        help="notebooks at a time (each runs in its own kernel)")
    parser.add_argument("--only", nargs="*", default=None,
                        help="these notebooks (paths relative to the corpus) only")
    args = parser.parse_args()
    notebooks = sorted(p for p in Path(args.corpus).rglob("*.ipynb")
                       if ".ipynb_checkpoints" not in p.parts)
    if args.only:
        notebooks = [p for p in notebooks if str(p.relative_to(args.corpus)) in args.only]
    if args.limit:
        notebooks = notebooks[:args.limit]
    RESULTS.mkdir(parents=True, exist_ok=True)
    results = []
    started = time.perf_counter()
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=args.jobs)
    outcomes = pool.map(lambda notebook: bench_one(notebook, args.timeout), notebooks)
    for number, (notebook, last) in enumerate(zip(notebooks, outcomes), 1):
        results.append(last)
        state = "no fix applies" if last.get("unchanged") else \
            "not executable" if not last.get("executable") else ", ".join(
            f"{mode}: {'unchanged' if not last[mode].get('changed') else 'runs' if last[mode].get('runs') else 'BROKEN ' + last[mode].get('error', '')}"
            for mode in ("safe", "unsafe") if mode in last)
        print(f"[{number}/{len(notebooks)}] {notebook.relative_to(args.corpus)}: {state}",
              flush=True)
        (RESULTS / "fixes.json").write_text(json.dumps(results, indent=1) + "\n")
    executable = [r for r in results if r.get("executable")]
    summary = {"notebooks": len(results), "executable": len(executable),
               "no_fix_applies": sum(1 for r in results if r.get("unchanged")),
               "seconds": round(time.perf_counter() - started)}
    for mode in ("safe", "unsafe"):
        changed = [r[mode] for r in executable if r.get(mode, {}).get("changed")]
        summary[mode] = {"fixed": len(changed),
                         "broken": sum(1 for e in changed if not e["runs"]),
                         "seeded": sum(1 for e in changed if e.get("seeded")),
                         "seeded_not_deterministic": sum(1 for e in changed
                                                         if e.get("seeded") and
                                                         not e.get("deterministic"))}
    summary["by_part"] = _by_part(results, Path(args.corpus))
    print(json.dumps(summary, indent=2))
    print(f"{summary['executable']} executable notebooks, {summary['safe']['fixed']} fixed, "
          f"{summary['safe']['broken']} broken (unsafe fixes: {summary['unsafe']['fixed']} "
          f"fixed, {summary['unsafe']['broken']} broken)")
    (RESULTS / "fixes-summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    return 1 if summary["safe"]["broken"] else 0


def _by_part(results: list[dict], corpus: Path) -> dict:
    """The summary line's counts in each part of bench_journey's split of the corpus by
    repository (seed 7): the part developed on, and the hold-out."""
    from bench_journey import split

    found: dict = {}
    for part, repositories in split(corpus, 7).items():
        rows = [r for r in results if r.get("executable") and
                Path(r["notebook"]).resolve().relative_to(corpus.resolve()).parts[0]
                in repositories]
        found[part] = {"executable": len(rows)}
        for mode in ("safe", "unsafe"):
            changed = [r[mode] for r in rows if r.get(mode, {}).get("changed")]
            found[part][mode] = {"fixed": len(changed),
                                 "broken": sum(1 for e in changed if not e["runs"])}
    return found


if __name__ == "__main__":
    sys.exit(main())
