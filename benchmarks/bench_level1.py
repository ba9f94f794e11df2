"""Level 1's costs, measured in one run (DESIGN.md §10 budgets):

1. validating and profiling a 1,000,000-row × 20-column frame (budget 1.5 s), the way a step
   does it: a baseline recorded, then the frame validated against it (pandera imported first);
2. a run of the churn sample with validation, the gate and registration, against the same
   run with `--no-validate --no-register` (budget 1.2×), each after one warm-up run;
3. `nb2pipe run --if-changed` deciding "up to date", cold, as a new process (budget 0.5 s).

    python benchmarks/bench_level1.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NB2PIPE = [sys.executable, "-m", "nb2pipe"]


def frame(rows: int = 1_000_000):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    columns = {f"x{i}": rng.normal(size=rows) for i in range(15)}
    columns.update({f"n{i}": rng.integers(0, 100, size=rows) for i in range(2)})
    columns.update({f"c{i}": rng.choice(["a", "b", "c", "d"], size=rows) for i in range(3)})
    return pd.DataFrame(columns)


def validation(repeat: int) -> dict:
    import pandera.pandas  # noqa: F401  (a step's kernel imports it once)

    from nb2pipe.validation import ValidationSettings, validate_value

    data = frame()
    folder = tempfile.mkdtemp()
    started = time.perf_counter()
    validate_value("load", "frame", data, ValidationSettings(folder))
    record = time.perf_counter() - started
    baseline = {"load.frame": {
        "schema": Path(folder, "load.frame.schema.yaml").read_text(),
        "profile": json.loads(Path(folder, "load.frame.profile.json").read_text())}}
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        validate_value("load", "frame", data, ValidationSettings(folder, baseline))
        times.append(time.perf_counter() - started)
    shutil.rmtree(folder)
    return {"rows": len(data), "columns": data.shape[1], "record_s": round(record, 3),
            "validate_median_s": round(statistics.median(times), 3), "budget_s": 1.5}


def timed(args: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    result = subprocess.run(NB2PIPE + args, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode not in (0, 3):
        raise SystemExit(f"{' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return elapsed


def runs(repeat: int) -> dict:
    work = Path(tempfile.mkdtemp())
    shutil.copy(ROOT / "sample_notebooks" / "churn_level0.ipynb", work)
    shutil.copytree(ROOT / "sample_notebooks" / "data", work / "data")
    for args in (["check", "churn_level0.ipynb", "--fix", "-s"],
                 ["convert", "--auto", "churn_level0.ipynb", "-o", "churn-pipeline", "--gate",
                  "accuracy>=0.7", "--gate", "f1>=champion-1"]):
        subprocess.run(NB2PIPE + args, cwd=work, capture_output=True)
    timed(["run", "churn-pipeline"], work)  # warm-up: baselines, store, version 1
    full, bare = [], []
    for _ in range(repeat):  # alternated, so that the machine's load hits both alike
        full.append(timed(["run", "churn-pipeline", "--no-html"], work))
        bare.append(timed(["run", "churn-pipeline", "--no-html", "--no-validate",
                           "--no-register"], work))
    started = time.perf_counter()
    for _ in range(repeat):
        subprocess.run(NB2PIPE + ["run", "churn-pipeline", "--if-changed"], cwd=work,
                       capture_output=True)
    decide = (time.perf_counter() - started) / repeat
    shutil.rmtree(work)
    return {"with_level1_s": round(statistics.median(full), 2),
            "without_s": round(statistics.median(bare), 2),
            "ratio": round(statistics.median(full) / statistics.median(bare), 2),
            "budget_ratio": 1.2, "if_changed_up_to_date_s": round(decide, 3),
            "if_changed_budget_s": 0.5}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    result = {"validation": validation(args.repeat), "runs": runs(args.repeat)}
    print(json.dumps(result, indent=2))
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "level1.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
