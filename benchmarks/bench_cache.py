"""The step cache (issue Q, point 6): after an edit to the last step of the sample, how long
`nb2pipe run` takes against a full run of the same pipeline (goal ≤ 0.35×).

The sample `classifier_pipeline.ipynb` is converted, run twice (the first records the data
baselines, the second validates against them and fills the cache), then, for each pair:

- a full run: `nb2pipe run DIR --no-cache` (MLflow, validation, the gate and the registry);
- an edit to the last step (a new line in its cell), `convert` again, then `nb2pipe run DIR`,
  which reuses the four unchanged steps and runs the last one.

Paired runs in one session, medians; with `--cores 1` under `taskset -c 0`.

    python benchmarks/bench_cache.py [--pairs 3] [--cores 1]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = "classifier_pipeline.ipynb"


def _command(args: list[str], cores: int | None) -> list[str]:
    prefix = ["taskset", "-c", ",".join(str(c) for c in range(cores))] if cores else []
    return prefix + [sys.executable, "-m", "nb2pipe", *args]


def timed(args: list[str], cwd: Path, cores: int | None) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(_command(args, cores), cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode not in (0, 3):
        raise SystemExit(f"{' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return elapsed, result.stderr


def edit_last_step(notebook: Path, number: int) -> None:
    import nbformat

    document = nbformat.read(notebook, as_version=4)
    last = [c for c in document.cells if c.cell_type == "code"][-1]
    last.source += f"\nedits = {number}"
    nbformat.write(document, notebook)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--cores", type=int, default=0, help="run under taskset on N cores")
    args = parser.parse_args()
    cores = args.cores or None
    work = Path(tempfile.mkdtemp(prefix="nb2pipe-bench-cache-"))
    shutil.copy(ROOT / "sample_notebooks" / NOTEBOOK, work)
    convert = ["convert", NOTEBOOK, "-o", "pipeline"]
    subprocess.run(_command(convert, None), cwd=work, check=True, capture_output=True)
    for _ in range(2):  # baselines, then a validated run that fills the cache
        timed(["run", "pipeline"], work, cores)
    full, cached, reused = [], [], []
    for number in range(args.pairs):
        full.append(timed(["run", "pipeline", "--no-cache"], work, cores)[0])
        edit_last_step(work / NOTEBOOK, number)
        subprocess.run(_command(convert, None), cwd=work, check=True, capture_output=True)
        seconds, log = timed(["run", "pipeline"], work, cores)
        cached.append(seconds)
        reused.append(log.count("(cached from"))
    shutil.rmtree(work, ignore_errors=True)
    result = {"cores": cores or "all", "pairs": args.pairs,
              "full_median_s": round(statistics.median(full), 2),
              "after_last_step_edit_median_s": round(statistics.median(cached), 2),
              "ratio": round(statistics.median(c / f for c, f in zip(cached, full)), 3),
              "steps_reused": reused, "goal": 0.35}
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
