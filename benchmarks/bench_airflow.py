"""The Airflow target's costs (issue W): how long Airflow's own DagBag takes to parse the DAG
`convert --target airflow` writes (budget 0.5 s), and a run of the sample with
`--engine airflow` (`airflow dags test`) against the papermill engine, shared kernel and
`--isolate`, measured in one session, alternated.

    python benchmarks/bench_airflow.py [--repeat 3]

Needs Airflow in .cache/airflow (scripts/airflow_venv.sh). Never a timed test.
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
AIRFLOW = ROOT / ".cache" / "airflow" / "bin" / "airflow"
SAMPLE = ROOT / "sample_notebooks" / "classifier_pipeline.ipynb"
BIN = Path(sys.executable).parent

PARSE = """
import json, time
from airflow.dag_processing.dagbag import DagBag
times = []
for _ in range({repeat}):
    started = time.perf_counter()
    bag = DagBag(dag_folder={folder!r})
    times.append(time.perf_counter() - started)
    assert not bag.import_errors, bag.import_errors
print(json.dumps(times))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not AIRFLOW.exists():
        subprocess.run([str(ROOT / "scripts" / "airflow_venv.sh")], check=True)
    work = Path(tempfile.mkdtemp(prefix="nb2pipe-bench-airflow-"))
    shutil.copy(SAMPLE, work / SAMPLE.name)
    subprocess.run([str(BIN / "nb2pipe"), "convert", SAMPLE.name, "-o", "pipe", "--target",
                    "airflow"], cwd=work, check=True, capture_output=True)
    env = {**os.environ, "AIRFLOW_HOME": str(work / "parse-home"),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    parsed = subprocess.run([str(AIRFLOW.parent / "python"), "-c",
                             PARSE.format(repeat=5, folder=str(work / "pipe" / "airflow"))],
                            env=env, capture_output=True, text=True, check=True)
    parse_times = json.loads(parsed.stdout.strip().splitlines()[-1])
    # the pod variant's DAG (KubernetesPodOperator): its first parse imports the provider
    subprocess.run([str(BIN / "nb2pipe"), "convert", SAMPLE.name, "-o", "pods", "--target",
                    "airflow", "--airflow-tasks", "pod", "--image", "registry.example/x:1"],
                   cwd=work, check=True, capture_output=True)
    pods = subprocess.run([str(AIRFLOW.parent / "python"), "-c",
                           PARSE.format(repeat=5, folder=str(work / "pods" / "airflow"))],
                          env=env, capture_output=True, text=True, check=True)
    pod_times = json.loads(pods.stdout.strip().splitlines()[-1])
    engines = {"papermill": [], "papermill --isolate": ["--isolate"],
               "airflow (dags test)": ["--engine", "airflow"]}
    seconds: dict[str, list[float]] = {name: [] for name in engines}
    run_env = {**os.environ, "NB2PIPE_AIRFLOW": str(AIRFLOW)}
    subprocess.run([str(BIN / "nb2pipe"), "run", "pipe", "--engine", "airflow", "--tracking",
                    "none", "--no-html"], cwd=work, env=run_env, check=True,
                   capture_output=True)  # (Airflow's database made once, not measured)
    for _ in range(args.repeat):
        for name, extra in engines.items():
            started = time.perf_counter()
            subprocess.run([str(BIN / "nb2pipe"), "run", "pipe", "--tracking", "none",
                            "--no-html", *extra], cwd=work, env=run_env, check=True,
                           capture_output=True)
            seconds[name].append(time.perf_counter() - started)
    base = statistics.median(seconds["papermill"])
    print(f"DAG parse (Airflow's DagBag, the sample's DAG): median "
          f"{statistics.median(parse_times):.3f} s of {len(parse_times)}, the first (with "
          f"airflow.sdk's import) {parse_times[0]:.3f} s (budget 0.5 s)")
    print(f"the pod variant's DAG: median {statistics.median(pod_times):.3f} s, the first "
          f"(with the Kubernetes provider's import) {pod_times[0]:.3f} s")
    print("| engine | run of the sample, median of "
          f"{args.repeat} | against papermill |\n|---|---|---|")
    for name, values in seconds.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.1f} s | {median / base:.2f}× |")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
