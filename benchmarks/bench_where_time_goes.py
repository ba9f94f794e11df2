"""Where a level-1 run's time goes (issue Q, point 5): each part measured alone, in fresh
processes, the medians of a few repeats, on this machine.

Each part is a small Python program run in a new interpreter; what it costs is its time
minus the time of the same program without the part (the interpreter's start, the imports the
part needs anyway). The parts:

- MLflow's import (the runner's, and a step kernel's to autolog);
- the SQLite store: opening it (SQLAlchemy, the schema check) and making a new one (the
  migrations);
- what the runner logs for one run of the sample (a parent run, five step runs, their
  parameters, metrics, notebooks);
- autologging's work at `fit` (scikit-learn), beside the same fit unlogged;
- `log_model`: with `pip_requirements` given, and inferring them (a subprocess);
  `infer_signature`;
- pandera's import (validation);
- a kernel's start; one step through papermill in a kernel already running.

    python benchmarks/bench_where_time_goes.py [--repeat 3] [--cores 1] [--only TEXT]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: a fitted model and an MLflow run to log it in
A_RUN_WITH_A_MODEL = (
    "import mlflow, mlflow.sklearn\n"
    "from sklearn.datasets import load_iris\n"
    "from sklearn.linear_model import LogisticRegression\n"
    "X, y = load_iris(return_X_y=True, as_frame=True)\n"
    "model = LogisticRegression(max_iter=500).fit(X, y)\n"
    "mlflow.set_tracking_uri(URI)\n"
    "experiment = mlflow.MlflowClient().get_experiment_by_name('x').experiment_id\n"
    "run = mlflow.start_run(experiment_id=experiment)")

#: name → (setup, part): the part's cost is time(setup + part) − time(setup).
PARTS: dict[str, tuple[str, str]] = {
    "import mlflow": ("", "import mlflow"),
    "import mlflow (a step kernel that autologs scikit-learn)": (
        "import sklearn.linear_model",
        "import mlflow, mlflow.sklearn\n"
        "mlflow.sklearn.autolog(log_models=False, silent=True)"),
    "open the SQLite store (existing)": (
        "import mlflow", "mlflow.MlflowClient(tracking_uri=URI).get_experiment_by_name('x')"),
    "make a new SQLite store (migrations)": (
        "import mlflow", "mlflow.MlflowClient(tracking_uri=FRESH).get_experiment_by_name('x')"),
    "log one run: a parent, 5 steps, params, metrics, notebooks": (
        "import mlflow\nclient = mlflow.MlflowClient(tracking_uri=URI)\n"
        "experiment = client.get_experiment_by_name('x').experiment_id",
        "from mlflow.entities import Metric, Param\n"
        "parent = client.create_run(experiment, run_name='run').info.run_id\n"
        "client.log_batch(parent, params=[Param(f'p{i}', str(i)) for i in range(5)])\n"
        "for step in range(5):\n"
        "    child = client.create_run(experiment, run_name=f's{step}',\n"
        "        tags={'mlflow.parentRunId': parent}).info.run_id\n"
        "    client.log_batch(child, metrics=[Metric('m', 1.0, 0, 0)])\n"
        "    client.log_artifact(child, NOTEBOOK, 'notebooks')\n"
        "    client.set_terminated(child)\n"
        "client.set_terminated(parent)"),
    "autolog's work at fit (scikit-learn, iris)": (
        "import mlflow, mlflow.sklearn\n"
        "from sklearn.datasets import load_iris\n"
        "from sklearn.ensemble import RandomForestClassifier\n"
        "X, y = load_iris(return_X_y=True, as_frame=True)\n"
        "mlflow.set_tracking_uri(URI)\n"
        "mlflow.sklearn.autolog(log_models=False, silent=True, disable=not PART)\n"
        "with mlflow.start_run(experiment_id=mlflow.MlflowClient().get_experiment_by_name("
        "'x').experiment_id):\n"
        "    RandomForestClassifier(50, random_state=0).fit(X, y)", ""),
    "log_model, pip_requirements inferred (a subprocess)": (
        A_RUN_WITH_A_MODEL,
        "mlflow.sklearn.log_model(model, name='model', serialization_format='cloudpickle')"),
    "log_model, pip_requirements given": (
        A_RUN_WITH_A_MODEL,
        "mlflow.sklearn.log_model(model, name='model', serialization_format='cloudpickle',\n"
        "                         pip_requirements=['scikit-learn'])"),
    "infer_signature": (
        "import mlflow\nfrom mlflow.models import infer_signature\n"
        "from sklearn.datasets import load_iris\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "X, y = load_iris(return_X_y=True, as_frame=True)\n"
        "model = LogisticRegression(max_iter=500).fit(X, y)",
        "infer_signature(X.head(5), model.predict(X.head(5)))"),
    "import pandera (validation)": ("import pandas", "import pandera.pandas"),
    "start a kernel": (
        "from jupyter_client.manager import KernelManager",
        "manager = KernelManager(kernel_name='python3')\nmanager.start_kernel()\n"
        "client = manager.client()\nclient.start_channels()\n"
        "client.wait_for_ready(timeout=60)\nmanager.shutdown_kernel(now=True)"),
    "one step through papermill, kernel running": (
        "import papermill\nfrom nb2pipe.run.kernel import SharedKernel, register_engine\n"
        "kernel = SharedKernel('.')\nkernel.ensure()\nengine = register_engine()\n"
        "def step(n):\n"
        "    papermill.execute_notebook(NOTEBOOK, f'out{n}.ipynb', kernel_name='python3',\n"
        "        engine_name=engine, km=kernel.manager, progress_bar=False, log_output=False)\n"
        "step(0)",
        "for n in range(1, 21):\n    step(n)"),
}
#: parts whose figure is per unit of work (the papermill one runs twenty steps)
PER = {"one step through papermill, kernel running": 20}


def program(setup: str, part: str, with_part: bool) -> str:
    head = textwrap.dedent("""
        import os, sys
        os.environ['MLFLOW_DISABLE_TELEMETRY'] = 'true'
        import logging; logging.disable(logging.WARNING)
        import warnings; warnings.simplefilter('ignore')
        URI = sys.argv[1]; FRESH = sys.argv[2]; NOTEBOOK = sys.argv[3]
        PART = {with_part}
        """).format(with_part=with_part)
    return head + setup + "\n" + (part if with_part else "") + "\n"


def timed(code: str, work: Path, fresh: Path, prefix: list[str]) -> float:
    if fresh.exists():
        fresh.unlink()
    started = time.perf_counter()
    done = subprocess.run(prefix + [sys.executable, "-c", code, f"sqlite:///{work / 'mlflow.db'}",
                             f"sqlite:///{fresh}", str(work / "step.ipynb")],
                   cwd=work, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"a part failed:\n{code}\n{done.stderr[-1500:]}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cores", type=int, default=0)
    parser.add_argument("--only", default="", help="the parts whose name contains this")
    args = parser.parse_args()
    prefix = ["taskset", "-c", ",".join(map(str, range(args.cores)))] if args.cores else []
    work = Path(tempfile.mkdtemp(prefix="nb2pipe-bench-where-"))
    fresh = work / "fresh.db"
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("x = sum(range(1000))")]
    notebook.metadata["kernelspec"] = {"name": "python3", "language": "python",
                                       "display_name": "Python 3"}
    nbformat.write(notebook, work / "step.ipynb")
    subprocess.run([sys.executable, "-c", "import mlflow; mlflow.MlflowClient(tracking_uri="
                    f"'sqlite:///{work / 'mlflow.db'}').create_experiment('x')"],
                   cwd=work, check=True, capture_output=True,
                   env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"})
    rows = []
    for name, (setup, part) in PARTS.items():
        if args.only not in name:
            continue
        with_times, without_times = [], []
        for _ in range(args.repeat):  # paired: with and without, one after the other
            without_times.append(timed(program(setup, part, False), work, fresh, prefix))
            with_times.append(timed(program(setup, part, True), work, fresh, prefix))
        cost = (statistics.median(with_times) - statistics.median(without_times)) / \
            PER.get(name, 1)
        rows.append({"part": name, "seconds": round(cost, 3),
                     "with": round(statistics.median(with_times), 3),
                     "without": round(statistics.median(without_times), 3)})
        print(f"{cost:7.2f} s  {name}", flush=True)
    start = [timed("pass", work, fresh, prefix) for _ in range(args.repeat)]
    print(f"{statistics.median(start):7.2f} s  (an interpreter's start, for scale)")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    label = (f"{args.cores}core" if args.cores else "all") + ("_some" if args.only else "")
    (out / f"where_time_goes_{label}.json").write_text(json.dumps(
        {"cores": args.cores or os.cpu_count(), "repeat": args.repeat, "parts": rows,
         "interpreter": statistics.median(start)}, indent=2))


if __name__ == "__main__":
    main()
