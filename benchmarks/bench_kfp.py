"""`nb2pipe convert` to Kubeflow YAML, side by side with Kale 2.3.0 (`kale --nb`).

    python benchmarks/bench_kfp.py

Kale is installed into its own virtual environment (`.cache/bench-venvs/kale`, made here) and
run on the same Kale-tagged notebooks (Kale fails on any `%`/`!` line, so the notebooks have
none). Both are timed as cold commands, each notebook three times, median; nb2pipe both with
all its targets (the default) and with `--target kfp` (what Kale writes). Goal: nb2pipe ≥ 4×
faster. Results go to ``benchmarks/results/kfp.json``.
"""

from __future__ import annotations

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
VENV = ROOT / ".cache" / "bench-venvs" / "kale"
RESULTS = ROOT / "benchmarks" / "results"
BIN = Path(sys.executable).parent

sys.path.insert(0, str(ROOT))
from tests.targets.test_kfp import KALE  # noqa: E402  (the Kale-tagged test notebook)

SECOND = '''# %% tags=["imports"]
import math
# %% tags=["pipeline-parameters"]
N = 200
POWER = 2
# %% tags=["step:numbers"]
numbers = list(range(N))
# %% tags=["step:powers", "prev:numbers"]
powers = [n ** POWER for n in numbers]
# %% tags=["step:roots", "prev:numbers"]
roots = [math.sqrt(n) for n in numbers]
# %% tags=["step:combine", "prev:powers", "prev:roots"]
total = sum(powers) + sum(roots)
# %% tags=["pipeline-metrics"]
print(total)
'''


def kale_venv() -> Path:
    kale = VENV / "bin" / "kale"
    if not kale.exists():
        shutil.rmtree(VENV, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(VENV / "bin" / "pip"), "install", "--quiet", "kubeflow-kale==2.3.0"],
                       check=True)
    return kale


def timed(command, cwd) -> tuple[float, subprocess.CompletedProcess]:
    times, result = [], None
    for _ in range(3):
        start = time.perf_counter()
        result = subprocess.run([str(c) for c in command], cwd=cwd, capture_output=True,
                                text=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> int:
    from nb2pipe.notebook import notebook_from_percent

    kale = kale_venv()
    work = Path(tempfile.mkdtemp(prefix="nb2pipe-kale-"))
    results: dict = {"notebooks": {}}
    try:
        # Kale does not know nb2pipe's own `retry:` tag: leave it out of what both convert.
        kale_sample = KALE.replace(', "retry:2"', "")
        for name, text in (("kale_sample", kale_sample), ("fan_in", SECOND)):
            path = work / f"{name}.ipynb"
            path.write_text(json.dumps(notebook_from_percent(text).raw, indent=1))
            ours, our_result = timed([BIN / "nb2pipe", "convert", path, "-o", work / name],
                                     work)
            # Kale writes the KFP pipeline only: the same, with nb2pipe's other targets off.
            kfp_only, _ = timed([BIN / "nb2pipe", "convert", path, "-o", work / f"{name}-kfp",
                                 "--target", "kfp"], work)
            theirs, kale_result = timed([kale, "--nb", path, "--pipeline_name",
                                         name.replace("_", "-")], work)
            yaml_written = any((work / ".kale").glob("*.yaml")) if (work / ".kale").exists() \
                else False
            results["notebooks"][name] = {
                "nb2pipe_s": ours, "nb2pipe_kfp_only_s": kfp_only, "kale_s": theirs,
                "ratio": theirs / ours, "ratio_kfp_only": theirs / kfp_only,
                "nb2pipe_ok": our_result.returncode == 0,
                "kale_ok": kale_result.returncode == 0 and yaml_written,
                "kale_error": kale_result.stderr.strip().splitlines()[-1:]
                if kale_result.returncode else None}
            print(f"{name}: nb2pipe convert {ours:.2f} s (all targets; {kfp_only:.2f} s with "
                  f"--target kfp), kale --nb {theirs:.2f} s → {theirs / ours:.1f}× "
                  f"({theirs / kfp_only:.1f}×) (goal ≥ 4×); kale ok: "
                  f"{results['notebooks'][name]['kale_ok']}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "kfp.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    sys.exit(main())
