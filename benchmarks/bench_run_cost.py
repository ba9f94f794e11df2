"""What level 1 costs a run (issue Q, point 5), paired runs of the sample in one session:

1. papermill, the whole notebook once (the reference: what a user runs today);
2. `nb2pipe run --tracking none --no-validate --no-cache` (goal ≤ 1.15× papermill);
3. `nb2pipe run --no-validate --no-register --no-cache` (MLflow tracking alone; goal ≤ 1.3×
   untracked);
4. `nb2pipe run --no-validate --no-cache` (tracking and the registry: a model registered every
   run, as the sample declares no gate);
5. `nb2pipe run --no-cache` (MLflow, validation, the gate, the registry; goal ≤ 1.6×
   untracked);
6. 3. again with `NB2PIPE_MLFLOW_CLIENT=1`: the runner writes through MLflow's client, as
   before nb2pipe.tracking.sqlite (what the direct writer saves);
7. 3. again with `--autolog-plots`: scikit-learn's autologging draws its three training plots,
   as it did before the eighth session.

Every round runs the four in a rotated order (no configuration always goes first on a warm
cache); the medians and their ratios are printed. `--cores 1` runs everything under
`taskset -c 0`: a cost a second idle core hides is still a cost.

    python benchmarks/bench_run_cost.py [--rounds 3] [--cores 1] [--only NAME …]
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
CONFIGS = {
    "papermill": None,
    "untracked": ["--tracking", "none", "--no-validate"],
    "tracked": ["--no-validate", "--no-register"],
    "tracked + registry": ["--no-validate"],
    "level 1": [],
    "tracked, through MLflow's client": ["--no-validate", "--no-register"],
    "tracked, with autologging's plots": ["--no-validate", "--no-register", "--autolog-plots"],
}
#: Environment for a configuration, on top of this process's.
ENVIRONMENT = {"tracked, through MLflow's client": {"NB2PIPE_MLFLOW_CLIENT": "1"}}


def _prefix(cores: int | None) -> list[str]:
    return ["taskset", "-c", ",".join(str(c) for c in range(cores))] if cores else []


def timed(command: list[str], cwd: Path, env: dict | None = None) -> float:
    import os

    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})
    if done.returncode not in (0, 3):
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cores", type=int, default=0)
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=list(CONFIGS),
                        help="these configurations only (untracked is always measured)")
    args = parser.parse_args()
    cores = args.cores or None
    # Bytecode as an installed package has it (as in bench_check.py)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src" / "nb2pipe")],
                   check=True, capture_output=True)
    work = Path(tempfile.mkdtemp(prefix="nb2pipe-bench-cost-"))
    shutil.copy(ROOT / "sample_notebooks" / NOTEBOOK, work)
    nb2pipe = [sys.executable, "-m", "nb2pipe"]
    subprocess.run(nb2pipe + ["convert", NOTEBOOK, "-o", "pipeline"], cwd=work, check=True,
                   capture_output=True)
    subprocess.run(nb2pipe + ["run", "pipeline", "--no-html"], cwd=work, check=True,
                   capture_output=True)  # baselines recorded, store made, version 1
    names = [n for n in CONFIGS if not args.only or n in args.only or n == "untracked"]
    commands = {
        name: _prefix(cores) + ([sys.executable, "-m", "papermill", NOTEBOOK, "out.ipynb",
                                 "--no-progress-bar", "-k", "python3"] if extra is None else
                                nb2pipe + ["run", "pipeline", "--no-html", "--no-cache",
                                           *extra])
        for name, extra in CONFIGS.items() if name in names}
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(args.rounds):
        order = names[round_ % len(names):] + names[:round_ % len(names)]
        for name in order:
            times[name].append(timed(commands[name], work, ENVIRONMENT.get(name)))
    shutil.rmtree(work, ignore_errors=True)
    median = {name: statistics.median(values) for name, values in times.items()}
    result = {"cores": cores or "all", "rounds": args.rounds,
              "median_s": {k: round(v, 2) for k, v in median.items()},
              "times_s": {k: [round(v, 2) for v in values] for k, values in times.items()}}
    for name in names:  # every ratio to the untracked run; untracked's to papermill's
        if name == "untracked" and "papermill" in median:
            result["untracked / papermill"] = round(median[name] / median["papermill"], 2)
        elif name not in ("untracked", "papermill"):
            result[f"{name} / untracked"] = round(median[name] / median["untracked"], 2)
    if "papermill" in median and "level 1" in median:
        result["level 1 / papermill"] = round(median["level 1"] / median["papermill"], 2)
    result["goals"] = {"untracked / papermill": 1.15, "tracked / untracked": 1.3,
                       "level 1 / untracked": 1.6}
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
