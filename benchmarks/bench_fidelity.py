"""Fidelity of `nb2pipe convert --auto` against soorgeon, over the corpus.

For each notebook of the corpus (in a scratch copy of its folder):

1. run it top to bottom with papermill, twice: notebooks that fail or time out are not
   *executable* here and leave the benchmark; cells whose outputs differ between the two runs
   (unseeded randomness, timings) are not compared;
2. nb2pipe: `nb2pipe convert --auto` then `nb2pipe run --tracking none --no-html`;
3. soorgeon (its own venv, made here): `soorgeon refactor` then `ploomber build`;
4. a pipeline *reproduces* the notebook when it runs to the end and every compared cell
   (at least one) shows the same outputs (text, values, frames as printed) in the pipeline's
   executed step notebooks as in the top-to-bottom run. Cells are matched by their source; a
   cell whose source the tool rewrote is not compared. Notebooks with no stable output at all
   (prose, shell lines) have nothing to reproduce and are left out of the fractions.

    python benchmarks/bench_fidelity.py [--corpus ../shared/corpus] [--limit N] [--timeout S]
                                        [--no-soorgeon] [--jobs N] [--rerun RESULTS]

Cells are matched by their source without imports and comments (both tools move imports);
standard error (warnings) is not compared. ``--rerun`` repeats only the notebooks an earlier
run found executable, with outputs to compare: the slow part of a full run is finding them.

Results: benchmarks/results/fidelity.json and a table on stdout.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
SOORGEON_VENV = ROOT / ".cache" / "bench-venvs" / "soorgeon"
#: What the soorgeon venv gets besides soorgeon: the data-science packages of the corpus.
DS_PACKAGES = ["numpy", "pandas", "scikit-learn", "matplotlib", "seaborn", "scipy", "ipykernel",
               "pyarrow"]  # (as nb2pipe's: without it pandas prints other string dtypes)
BIN = Path(sys.executable).parent
MAX_FOLDER_BYTES = 200 * 1024 * 1024
_NOISE = [
    # object addresses only (`at 0x7f3a5c2b1d90`): not sizes such as "600x400" or short hex
    (re.compile(r"0x[0-9a-fA-F]{8,}"), "0x…"),
    (re.compile(r"^(CPU times|Wall time|Elapsed|.*it/s\]|.*s/it\]).*$", re.M), ""),
    (re.compile(r"\d+(\.\d+)? ?(ms|µs|us|ns|s) ± .*$", re.M), ""),
]


def soorgeon_venv() -> Path:
    python = SOORGEON_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(SOORGEON_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "soorgeon==0.0.20",
                        "ploomber", *DS_PACKAGES], check=True)
    return SOORGEON_VENV / "bin"


class Outcome:
    """How a command ended: ``bool(outcome)`` is success; ``why`` the end of its complaint."""

    def __init__(self, ok: bool, why: str = "") -> None:
        self.ok, self.why = ok, why

    def __bool__(self) -> bool:
        return self.ok


def run(command: list[str], cwd: Path, timeout: float, env=None) -> Outcome:
    try:
        done = subprocess.run(command, cwd=cwd, timeout=timeout, capture_output=True,
                              env=env, text=True, errors="replace")
    except subprocess.TimeoutExpired:
        return Outcome(False, f"timed out after {timeout:.0f} s")
    if done.returncode == 0:
        return Outcome(True)
    lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
    return Outcome(False, "\n".join(lines[-3:])[-400:])


def outputs_by_source(paths: list[Path]) -> dict[str, list[str]]:
    """Cell source → the outputs, as text, of every cell with that source (a notebook may run
    `x1` several times, between changes), over executed notebooks."""
    found: dict[str, list[str]] = {}
    for path in paths:
        try:
            notebook = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for cell in notebook.get("cells", []):
            if cell.get("cell_type") != "code":
                continue
            source = _key("".join(cell.get("source", "")))
            if source:
                found.setdefault(source, []).append(_text(cell.get("outputs", [])))
    return found


def _key(source: str) -> str:
    """A cell's source without its imports, comments and blank lines: both tools move imports
    (nb2pipe to an imports cell, soorgeon to each task), and the rest is what ran."""
    kept = [line.rstrip() for line in source.splitlines()
            if line.strip() and not line.lstrip().startswith(("#", "import ", "from "))]
    return "\n".join(kept).strip()


def _text(outputs: list[dict]) -> str:
    parts = []
    for output in outputs:
        kind = output.get("output_type")
        if kind == "stream" and output.get("name") != "stderr":  # warnings are no results
            parts.append("".join(output.get("text", "")))
        elif kind in ("execute_result", "display_data"):
            parts.append("".join(output.get("data", {}).get("text/plain", "")))
        elif kind == "error":
            parts.append("ERROR " + output.get("ename", ""))
    text = "\n".join(parts)
    for pattern, replacement in _NOISE:
        text = pattern.sub(replacement, text)
    return text.strip()


def scratch_copy(notebook: Path, into: Path) -> Path | None:
    folder = notebook.parent
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    if size > MAX_FOLDER_BYTES:
        return None
    shutil.copytree(folder, into, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", ".git"))
    return into / notebook.name


def compare(expected: dict[str, list[str]], produced: dict[str, list[str]]) \
        -> tuple[int, int, str | None]:
    """(sources compared, sources equal, the start of the first that differs). The outputs of
    cells with one source are compared as a set: in any order (the step notebooks of a
    pipeline have no order between branches) and however often (a pipeline repeats its
    imports and function definitions in each step)."""
    compared = equal = 0
    differs = None
    for source, texts in expected.items():
        if source in produced:
            compared += 1
            same = set(produced[source]) == set(texts)
            equal += same
            if not same and differs is None:
                differs = source[:80]
    return compared, equal, differs


def _row(converted: Outcome, ran: Outcome, compared: int, equal: int, differs: str | None,
         started: float) -> dict:
    row = {"converted": bool(converted), "ran": bool(ran), "compared": compared, "equal": equal,
           "reproduced": bool(ran and compared and compared == equal),
           "seconds": round(time.perf_counter() - started, 1)}
    if not converted:
        row["why"] = converted.why
    elif not ran:
        row["why"] = ran.why
    elif differs:
        row["why"] = f"differs: {differs}"
    return row


def bench_one(notebook: Path, timeout: float, soorgeon: Path | None) -> dict:
    result: dict = {"notebook": str(notebook)}
    with tempfile.TemporaryDirectory(prefix="nb2pipe-fidelity-") as scratch:
        scratch = Path(scratch)
        runs = []
        for attempt in ("a", "b"):
            work = scratch / f"original-{attempt}"
            copy = scratch_copy(notebook, work)
            if copy is None:
                result["executable"] = False
                result["why"] = "folder too large to copy"
                return result
            executed = work / "__executed.ipynb"
            ok = run([str(BIN / "papermill"), copy.name, executed.name, "--cwd", ".",
                      "--execution-timeout", str(int(timeout)), "-k", "python3",
                      "--no-progress-bar"], work, timeout * 2)
            if not ok:
                result["executable"] = False
                result["why"] = ok.why
                return result
            runs.append(outputs_by_source([executed]))
        result["executable"] = True
        stable = {s: t for s, t in runs[0].items() if runs[1].get(s) == t}
        result["stable_cells"] = len(stable)

        work = scratch / "nb2pipe"
        copy = scratch_copy(notebook, work)
        started = time.perf_counter()
        converted = run([str(BIN / "nb2pipe"), "convert", "--auto", copy.name, "-o", "pipe"],
                        work, timeout)
        ran = converted and run([str(BIN / "nb2pipe"), "run", "pipe", "--tracking", "none",
                                 "--no-html"], work, timeout * 4)
        executed = [Path(p) for p in glob.glob(str(work / "pipe" / "runs" / "*" / "notebooks" /
                                                   "*.ipynb"))]
        found = compare(stable, outputs_by_source(executed)) if ran else (0, 0, None)
        result["nb2pipe"] = _row(converted, ran, *found, started)

        if soorgeon is not None:
            work = scratch / "soorgeon"
            copy = scratch_copy(notebook, work)
            env = dict(os.environ, PATH=f"{soorgeon}:{os.environ['PATH']}",
                       VIRTUAL_ENV=str(soorgeon.parent))
            started = time.perf_counter()
            refactored = run([str(soorgeon / "soorgeon"), "refactor", copy.name], work, timeout,
                             env)
            built = refactored and run([str(soorgeon / "ploomber"), "build", "--force"], work,
                                       timeout * 4, env)
            executed = [Path(p) for p in glob.glob(str(work / "**" / "*.ipynb"), recursive=True)
                        if "/products/" in p or "/output/" in p]
            found = compare(stable, outputs_by_source(executed)) if built else (0, 0, None)
            result["soorgeon"] = _row(refactored, built, *found, started)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", default=str(ROOT.parent / "shared" / "corpus"))
    parser.add_argument("--limit", type=int, default=0, help="at most N notebooks (0: all)")
    parser.add_argument("--timeout", type=float, default=60, help="seconds per cell and step")
    parser.add_argument("--no-soorgeon", action="store_true")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--rerun", metavar="RESULTS",
                        help="only the notebooks that ran with outputs to compare in RESULTS "
                             "(a fidelity.json or fidelity.progress.jsonl of an earlier run)")
    parser.add_argument("--skip", metavar="RESULTS", action="append", default=[],
                        help="leave out the notebooks already in RESULTS (to finish a run)")
    parser.add_argument("--progress", default=str(RESULTS / "fidelity.progress.jsonl"),
                        help="where each notebook's result goes as soon as it is known")
    parser.add_argument("--summarize", nargs="*", metavar="RESULTS",
                        help="only summarise earlier results (default: the last fidelity.json); "
                             "with several files, a notebook's last result counts")
    args = parser.parse_args()
    if args.summarize is not None:
        merged = {}
        for path in args.summarize or [str(RESULTS / "fidelity.json")]:
            for result in _load(path):
                merged[result["notebook"]] = result
        results = list(merged.values())
        for result in results:
            for tool in ("nb2pipe", "soorgeon"):
                if tool in result:
                    row = result[tool]
                    row["reproduced"] = bool(row["ran"] and row["compared"] and
                                             row["compared"] == row["equal"])
        return report(results)

    notebooks = sorted(Path(args.corpus).rglob("*.ipynb"))
    notebooks = [n for n in notebooks if ".ipynb_checkpoints" not in n.parts]
    if args.rerun:
        wanted = {r["notebook"] for r in _load(args.rerun)
                  if r.get("executable") and r.get("stable_cells")}
        notebooks = [n for n in notebooks if str(n) in wanted]
    done = {r["notebook"] for path in args.skip for r in _load(path)}
    notebooks = [n for n in notebooks if str(n) not in done]
    if args.limit:
        notebooks = notebooks[:: max(1, len(notebooks) // args.limit)][:args.limit]
    soorgeon = None if args.no_soorgeon else soorgeon_venv()
    print(f"{len(notebooks)} notebooks; running each top to bottom first…", file=sys.stderr)
    RESULTS.mkdir(parents=True, exist_ok=True)
    progress = Path(args.progress).open("w")

    def one(notebook: Path) -> dict:
        result = bench_one(notebook, args.timeout, soorgeon)
        progress.write(json.dumps(result) + "\n")
        progress.flush()
        return result

    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(one, notebooks))
    progress.close()

    return report(results)


def _load(path: str) -> list[dict]:
    """The results in a fidelity.json, or in a progress file (one JSON object a line)."""
    text = Path(path).read_text()
    if path.endswith(".json"):
        return json.loads(text)["results"]
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def report(results: list[dict]) -> int:
    executable = [r for r in results if r.get("executable") and r.get("stable_cells")]
    summary = {"notebooks": len(results), "executable": len(executable),
               "nothing_to_reproduce": sum(1 for r in results if r.get("executable") and
                                           not r.get("stable_cells"))}
    for tool in ("nb2pipe", "soorgeon"):
        rows = [r[tool] for r in executable if tool in r]
        if not rows:
            continue
        summary[tool] = {key: sum(1 for r in rows if r[key])
                         for key in ("converted", "ran", "reproduced")}
        summary[tool]["fraction_reproduced"] = round(summary[tool]["reproduced"] /
                                                     len(executable), 3) if executable else 0
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "fidelity.json").write_text(json.dumps({"summary": summary, "results": results},
                                                      indent=1))
    print(f"\n{summary['executable']} of {summary['notebooks']} notebooks run top to bottom "
          f"here and show outputs to reproduce ({summary['nothing_to_reproduce']} more run but "
          f"show none).\n")
    print("| tool | converted | pipeline ran | reproduced | fraction |")
    print("|---|---|---|---|---|")
    for tool in ("nb2pipe", "soorgeon"):
        if tool in summary:
            s = summary[tool]
            print(f"| {tool} | {s['converted']} | {s['ran']} | {s['reproduced']} | "
                  f"{s['fraction_reproduced']:.0%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
