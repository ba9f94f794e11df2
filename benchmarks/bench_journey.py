"""The whole journey, on notebooks nobody here wrote (issue J): how many executable training
notebooks of the corpus reach level 1 with no hand edit, and where the others stop.

For each corpus notebook that fits a model (found statically) and runs top to bottom here
(papermill, in a scratch copy of its folder, with its data beside it):

1. ``check --fix``;
2. ``convert --auto`` (the fixed notebook);
3. ``run --isolate`` (MLflow's SQLite store in the pipeline folder): a baseline recorded, a
   metric, a model version registered; the fidelity of this isolated run is compared with
   the reference run as bench_fidelity compares it (the notebook as written, run twice: the
   cells both runs agree on), and with two runs of the fixed notebook (what the conversion
   alone must reproduce: where ``check --fix`` seeded a draw, the notebook as written shows
   other values, or an estimator's repr without ``random_state``);
4. ``run --if-changed``: up to date, no new run;
5. the first data file the run read is changed (a tenth of its rows appended again, one
   numeric column shifted by three standard deviations), then ``run``: validation fails or
   drift is reported;
6. a workflow that runs ``nb2pipe run DIR --if-changed`` is added, then
   ``check --maturity DIR``: level 1?

A notebook *reaches level 1* when stage 6 says level 1 (a successful run, baselines, a gate
on a metric, a registered model, lineage, a trigger). Every loss is classed by the stage and
the first line of its reason.

The corpus is split by repository with a fixed seed (``--split dev|holdout|all``, ``--seed``):
develop on one part, report both.

    python benchmarks/bench_journey.py [--corpus ../shared/corpus] [--split all] [--jobs 2]
                                       [--timeout 60] [--limit N] [--only NOTEBOOK…]
    python benchmarks/bench_journey.py --summarize [RESULTS]

Results: benchmarks/results/journey.json and tables on stdout (never a timed test).
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import random
import re
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_fidelity import (  # noqa: E402
    BIN,
    _run_notebooks,
    compare,
    outputs_by_source,
    run,
    stable_and_seeded,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
STAGES = ["fix", "convert", "run", "up_to_date", "drift", "level1"]


def split(corpus: Path, seed: int) -> dict[str, list[str]]:
    """The corpus's repositories in two parts, by a fixed seed: two thirds to develop on."""
    repositories = sorted(p.name for p in corpus.iterdir() if p.is_dir())
    random.Random(seed).shuffle(repositories)
    cut = round(len(repositories) * 2 / 3)
    return {"dev": sorted(repositories[:cut]), "holdout": sorted(repositories[cut:])}


def fits_a_model(path: Path) -> bool:
    """Whether a notebook trains something, from its code: a top-level `.fit(…)` with
    arguments (or `.train(…)`), as bench_fixes and the linter see it."""
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = "".join(cell.get("source", []))
        source = "\n".join(line for line in source.splitlines()
                           if not line.lstrip().startswith(("%", "!")))
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                    node.func.attr in ("fit", "train", "fit_generator") and node.args:
                return True
    return False


def repository_copy(notebook: Path, corpus: Path, into: Path) -> Path:
    """A scratch copy of the notebook's whole repository (notebooks read `../data/…`); the
    path of the notebook's copy."""
    import shutil

    relative = notebook.relative_to(corpus)
    shutil.copytree(corpus / relative.parts[0], into / relative.parts[0], dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", ".git"))
    return into / relative


def reference(notebook: Path, corpus: Path, scratch: Path, timeout: float,
              text: str | None = None, name: str = "reference"):
    """Two top-to-bottom runs (papermill, kernel python3) in copies of the repository: their
    outputs by source, or why the notebook is not executable here. ``text``: the notebook
    to run in its place (the fixed notebook), in the same folder."""
    runs = []
    for attempt in ("a", "b"):
        copy = repository_copy(notebook, corpus, scratch / f"{name}-{attempt}")
        if text is not None:
            copy.write_text(text, encoding="utf-8")
        executed = copy.parent / "__executed.ipynb"
        ok = run([str(BIN / "papermill"), copy.name, executed.name, "--cwd", ".",
                  "--execution-timeout", str(int(timeout)), "-k", "python3",
                  "--no-progress-bar"], copy.parent, timeout * 3)
        if not ok:
            return ok.why or "failed"
        runs.append(outputs_by_source([executed]))
    return runs


def nb2pipe(*args: str) -> list[str]:
    return [str(BIN / "nb2pipe"), *args]


def _last_run(pipe: Path) -> dict | None:
    runs = sorted(p for p in (pipe / "runs").glob("*") if (p / "run.json").exists())
    return json.loads((runs[-1] / "run.json").read_text()) if runs else None


def change_data(work: Path, record: dict) -> str | None:
    """Append a tenth of the rows again and shift one numeric column of the first CSV file
    the run read; the file's name, or None when it read none."""
    import pandas as pd

    names = [entry.get("path") for entry in (record.get("lineage") or {}).get("data") or []
             if isinstance(entry, dict) and entry.get("path")]
    for name in names:
        path = Path(name) if Path(name).is_absolute() else work / name
        if path.suffix.lower() not in (".csv", ".txt", ".tsv") or not path.exists():
            continue
        separator = "\t" if path.suffix.lower() == ".tsv" else ","
        try:
            frame = pd.read_csv(path, sep=separator)
        except Exception:  # noqa: BLE001 - not a table pandas reads as written
            continue
        numeric = [c for c in frame.columns if pd.api.types.is_float_dtype(frame[c])] or \
            [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
        if not numeric or len(frame) < 10:
            continue
        extra = frame.sample(max(1, len(frame) // 10), random_state=0)
        frame = pd.concat([frame, extra], ignore_index=True)
        column = numeric[-1]
        frame[column] = frame[column] + 3 * (frame[column].std() or 1)
        frame.to_csv(path, sep=separator, index=False,
                     quoting=csv.QUOTE_MINIMAL)
        return name
    return None


WORKFLOW = """on:
  schedule: [{cron: "0 3 * * *"}]
jobs:
  retrain:
    runs-on: ubuntu-latest
    steps:
      - run: nb2pipe run pipe --if-changed
"""


def journey(notebook: Path, corpus: Path, timeout: float) -> dict:
    started = time.perf_counter()
    result: dict = {"notebook": str(notebook.relative_to(corpus)),
                    "repository": notebook.relative_to(corpus).parts[0]}
    with tempfile.TemporaryDirectory(prefix="nb2pipe-journey-") as scratch:
        scratch = Path(scratch)
        runs = reference(notebook, corpus, scratch, timeout)
        if isinstance(runs, str):
            result.update(executable=False, why=runs.splitlines()[-1][:200] if runs else "")
            return result
        stable, visible, seeded = stable_and_seeded(*runs)
        result.update(visible_cells=visible, seed_dependent=seeded)
        result["executable"] = True
        copy = repository_copy(notebook, corpus, scratch / "work")
        work = copy.parent
        root = scratch / "work" / notebook.relative_to(corpus).parts[0]
        (root / ".git").mkdir(exist_ok=True)  # the project's root, for the trigger search

        def stage(name: str, outcome, why: str = "") -> bool:
            result[name] = bool(outcome)
            if not outcome:
                result["lost_at"] = name
                result["why"] = (why or getattr(outcome, "why", "") or "").strip()[-300:]
            return bool(outcome)

        # 1. check --fix (exit 1 only says findings remain)
        fixed = run(nb2pipe("check", "--fix", "--exit-zero", "-q", copy.name), work, timeout)
        if not stage("fix", fixed):
            return result
        # The fixed notebook's own two runs: what the conversion alone must reproduce (the
        # notebook as written differs from it where check --fix seeded a random draw).
        fixed_runs = reference(notebook, corpus, scratch, timeout,
                               text=copy.read_text(encoding="utf-8"), name="fixed")
        fixed_stable = None
        if not isinstance(fixed_runs, str):
            fixed_stable, _, result["seed_dependent_fixed"] = stable_and_seeded(*fixed_runs)
        # 2. convert --auto
        converted = run(nb2pipe("convert", "--auto", copy.name, "-o", "pipe", "--force"),
                        work, timeout)
        if not stage("convert", converted):
            return result
        pipeline = json.loads((work / "pipe" / "pipeline.json").read_text())
        result["metrics"] = pipeline.get("metrics") or []
        result["model"] = bool(pipeline.get("model"))
        # 3. run --isolate: baseline, metric, version 1; fidelity
        before = {str(p) for p in (work / "pipe" / "runs").glob("*")}
        ran = run(nb2pipe("run", "pipe", "--isolate", "--no-html"), work, timeout * 6)
        record = _last_run(work / "pipe") or {}
        if ran:
            produced = outputs_by_source(_run_notebooks(work / "pipe", before))
            compared, equal, differs = compare(stable, produced)
            result.update(compared=compared, equal=equal,
                          reproduced=bool(compared and compared == equal),
                          differs=differs)
            if fixed_stable is not None:
                compared, equal, differs = compare(fixed_stable, produced)
                result.update(compared_fixed=compared, equal_fixed=equal,
                              reproduced_fixed=bool(compared and compared == equal),
                              differs_fixed=differs)
        registered = (record.get("gate") or {}).get("registered")
        result["registered"] = bool(registered)
        result["validated"] = bool((record.get("validation") or {}).get("recorded") or
                                   (work / "pipe" / "validation").exists())
        if not stage("run", ran):
            return result
        # 4. run --if-changed: up to date
        count = len(list((work / "pipe" / "runs").glob("*")))
        again = run(nb2pipe("run", "pipe", "--if-changed", "--no-html"), work, timeout * 6)
        stage("up_to_date", again and len(list((work / "pipe" / "runs").glob("*"))) == count,
              "" if again else again.why)
        # 5. the data changes: validation or drift reported
        changed = change_data(work, record)
        result["data_file"] = changed
        if changed:
            after = run(nb2pipe("run", "pipe", "--isolate", "--no-html"), work, timeout * 6)
            latest = _last_run(work / "pipe") or {}
            verdict = (latest.get("validation") or {}).get("status")
            result["verdict"] = verdict
            stage("drift", verdict in ("failed", "drifted"),  # (the verdict last: the reason)
                  ("" if after else f"{after.why.strip()}\n") + f"validation said {verdict!r}")
        else:
            result["drift"] = None  # the pipeline reads no data file: nothing to change
        # 6. a trigger, then the checklist
        workflows = root / ".github" / "workflows"
        workflows.mkdir(parents=True, exist_ok=True)
        folder = (work / "pipe").relative_to(root)
        (workflows / "retrain.yml").write_text(WORKFLOW.replace("nb2pipe run pipe",
                                                                f"nb2pipe run {folder}"))
        import subprocess

        level = None
        missing: list[str] = []
        done = subprocess.run(nb2pipe("check", "--maturity", "pipe", "--output-format", "json",
                                      "--exit-zero"), cwd=work, capture_output=True, text=True,
                              timeout=timeout)
        try:
            report = json.loads(done.stdout)["maturity"][0]
            level = report.get("level")
            missing = [i["key"] for i in report.get("items", []) if not i.get("met")]
        except (ValueError, KeyError, IndexError):
            missing = [f"check --maturity failed: {done.stderr.strip()[-200:]}"]
        result["missing"] = missing
        stage("level1", level == 1, "missing: " + ", ".join(missing))
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def summarize(results: list[dict], parts: dict[str, list[str]]) -> None:
    for part in ("dev", "holdout", "all"):
        rows = [r for r in results if part == "all" or r["repository"] in parts[part]]
        executable = [r for r in rows if r.get("executable")]
        if not rows:
            continue
        print(f"\n## {part}: {len(rows)} training notebooks, {len(executable)} run top to "
              f"bottom here")
        print("| stage | reached | of executable |")
        print("|---|---|---|")
        for stage in STAGES:
            reached = sum(1 for r in executable if r.get(stage))
            print(f"| {stage} | {reached} | {reached / max(1, len(executable)):.0%} |")
        compared = [r for r in executable if r.get("compared")]
        reproduced = sum(1 for r in compared if r.get("reproduced"))
        print(f"\nfidelity under --isolate: {reproduced}/{len(compared)} reproduced "
              f"({reproduced / max(1, len(compared)):.0%}) of the runs with visible output")
        compared = [r for r in executable if r.get("compared_fixed")]
        reproduced = sum(1 for r in compared if r.get("reproduced_fixed"))
        print(f"against the fixed notebook's own runs (the conversion alone): "
              f"{reproduced}/{len(compared)} ({reproduced / max(1, len(compared)):.0%})")
        for r in executable:
            if r.get("compared") and not r.get("reproduced"):
                print(f"  differs: {r['notebook']}: {r.get('differs')!r}; against the fixed "
                      f"notebook: {r.get('differs_fixed')!r}")
        with_metric = sum(1 for r in executable if r.get("metrics"))
        print(f"pipelines with a metric: {with_metric}/{sum(1 for r in executable if 'metrics' in r)}")
        losses = Counter((r.get("lost_at"), _reason(r.get("why", ""))) for r in executable
                         if r.get("lost_at"))
        if losses:
            print("\nlosses (stage: reason × count):")
            for (stage, reason), n in losses.most_common(25):
                print(f"- {stage}: {reason} × {n}")


def _reason(why: str) -> str:
    line = next((text for text in reversed(why.splitlines()) if text.strip()), "")
    line = re.sub(r"/[^\s:'\"]+", "…", line)
    line = re.sub(r"\d{8}-\d{6}-[0-9a-f]{4}", "RUN", line)
    return line.strip()[:140]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", default=str(ROOT.parent / "shared" / "corpus"))
    parser.add_argument("--split", choices=("dev", "holdout", "all"), default="all")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--only", nargs="+", default=[])
    parser.add_argument("--summarize", nargs="?", const=str(RESULTS / "journey.json"))
    args = parser.parse_args()
    corpus = Path(args.corpus).resolve()
    parts = split(corpus, args.seed)
    print(f"split (seed {args.seed}): dev = {', '.join(parts['dev'])}; holdout = "
          f"{', '.join(parts['holdout'])}", file=sys.stderr)
    if args.summarize:
        summarize(json.loads(Path(args.summarize).read_text()), parts)
        return 0
    notebooks = [Path(n).resolve() for n in args.only] or sorted(corpus.rglob("*.ipynb"))
    notebooks = [n for n in notebooks if ".ipynb_checkpoints" not in n.parts and
                 (args.split == "all" or n.relative_to(corpus).parts[0] in parts[args.split])]
    notebooks = [n for n in notebooks if fits_a_model(n)]
    if args.limit:
        notebooks = notebooks[:args.limit]
    print(f"{len(notebooks)} notebooks fit a model", file=sys.stderr)
    RESULTS.mkdir(parents=True, exist_ok=True)
    progress = (RESULTS / "journey.progress.jsonl").open("w")

    def one(notebook: Path) -> dict:
        try:
            result = journey(notebook, corpus, args.timeout)
        except Exception as error:  # noqa: BLE001 - a benchmark records, never stops
            result = {"notebook": str(notebook.relative_to(corpus)),
                      "repository": notebook.relative_to(corpus).parts[0],
                      "executable": None, "why": f"benchmark error: {error!r}"}
        progress.write(json.dumps(result) + "\n")
        progress.flush()
        print(f"  {result['notebook']}: {result.get('lost_at') or ('level 1' if result.get('level1') else 'not executable' if not result.get('executable') else '?')}",
              file=sys.stderr)
        return result

    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(one, notebooks))
    progress.close()
    (RESULTS / "journey.json").write_text(json.dumps(results, indent=1))
    summarize(results, parts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
