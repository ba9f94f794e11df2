"""`nb2pipe check` side by side with ruff and pynblint, over the same folder of notebooks.

    python benchmarks/bench_check.py [CORPUS]        # default: ../shared/corpus

Measured in one run, on one machine, so the ratios mean something even when the machine is
busy:

- whole folder, cold processes: ``nb2pipe check``, ``ruff check`` (reads notebooks natively),
  ``pynblint`` 0.1.6 (in its own virtual environment, made here: it needs ``click<8.2``);
  nb2pipe and ruff without their caches, then a second run of each with its cache;
- in-process time per notebook for nb2pipe (read + analyse + all rules), median and p90;
- start-up: ``nb2pipe --version`` and ``nb2pipe check one.ipynb``, median of 10 cold runs;
- which heavy modules ``nb2pipe check`` imports (it must import none).

Results are printed and written to ``benchmarks/results/check.json``.
"""

from __future__ import annotations

import gc
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
VENVS = ROOT / ".cache" / "bench-venvs"
RESULTS = ROOT / "benchmarks" / "results"


def timed(command: list[str], repeat: int = 1, **kwargs) -> tuple[float, subprocess.CompletedProcess]:
    times = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, **kwargs)
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def interleaved(commands: list[list[str]], repeat: int, envs=None) \
        -> list[tuple[float, subprocess.CompletedProcess]]:
    """Median time of each command, run in turn (A B A B…) so that a machine whose speed
    drifts during the measurement affects them alike."""
    envs = envs or [None] * len(commands)
    times: list[list[float]] = [[] for _ in commands]
    last: list = [None] * len(commands)
    for _ in range(repeat):
        for number, command in enumerate(commands):
            start = time.perf_counter()
            last[number] = subprocess.run(command, capture_output=True, text=True,
                                          env=envs[number])
            times[number].append(time.perf_counter() - start)
    return [(statistics.median(t), result) for t, result in zip(times, last)]


def parse_floor(files: list[str]) -> float:
    """Seconds that decoding the JSON and parsing every code cell take in one process: the
    part of the work CPython's own C code does, which no Python can make faster."""
    import ast

    import orjson

    from nb2pipe.notebook.magics import mask

    start = time.perf_counter()
    for path in files:
        with open(path, "rb") as handle:
            try:
                raw = orjson.loads(handle.read())
            except orjson.JSONDecodeError:
                continue
        for cell in raw.get("cells", []) if isinstance(raw, dict) else []:
            if isinstance(cell, dict) and cell.get("cell_type") == "code":
                source = cell.get("source", "")
                source = "".join(source) if isinstance(source, list) else str(source)
                try:
                    compile(mask(source).source, "<cell>", "exec", ast.PyCF_ONLY_AST)
                except (SyntaxError, ValueError):
                    pass
    return time.perf_counter() - start


def venv_with(name: str, *requirements: str) -> Path:
    """A virtual environment under .cache/ with ``requirements`` installed; its bin folder."""
    folder = VENVS / name
    python = folder / "bin" / "python"
    marker = folder / ".installed"
    wanted = " ".join(requirements)
    if not (marker.exists() and marker.read_text() == wanted):
        shutil.rmtree(folder, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *requirements],
                       check=True, capture_output=True)
        marker.write_text(wanted)
    return folder / "bin"


def in_process(files: list[str]) -> list[float]:
    from nb2pipe.lint.registry import RULES
    from nb2pipe.lint.runner import lint_file

    codes = set(RULES)
    gc.set_threshold(100_000, 50, 50)  # as `check` does (nb2pipe.lint.runner._lint_files)
    for path in files[:20]:  # warm up imports and caches
        lint_file(path, codes)
    times = []
    for path in files:
        start = time.perf_counter()
        lint_file(path, codes)
        times.append(time.perf_counter() - start)
    return times


def main() -> int:
    corpus = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT.parent / "shared" / "corpus")
    if not corpus.is_dir():
        print(f"error: {corpus} is not a folder of notebooks", file=sys.stderr)
        return 2
    from nb2pipe.lint.runner import collect_notebooks

    files = collect_notebooks([str(corpus)])
    print(f"{len(files)} notebooks in {corpus}")
    bin_dir = Path(sys.executable).parent
    nb2pipe = str(bin_dir / "nb2pipe")
    results: dict = {"notebooks": len(files), "cores": os.cpu_count()}

    # Bytecode as an installed package has it (pip compiles it; an editable install writes it
    # on first use unless PYTHONDONTWRITEBYTECODE is set, as on the CI machine).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src" / "nb2pipe")],
                   check=True, capture_output=True)
    ruff_bin = venv_with("ruff", "ruff==0.14.*") / "ruff"
    pynblint_bin = venv_with("pynblint", "pynblint==0.1.6", "click<8.2") / "pynblint"

    nb_cold = [nb2pipe, "check", str(corpus), "--exit-zero", "--no-cache",
               "--output-format", "concise", "--no-progress"]
    ruff_cold = [str(ruff_bin), "check", str(corpus), "--exit-zero", "--no-cache",
                 "--output-format", "concise"]
    (nb_time, nb_result), (ruff_time, ruff_result) = interleaved([nb_cold, ruff_cold], repeat=5)
    print(f"nb2pipe check: {nb_time:.2f} s ({len(nb_result.stdout.splitlines())} findings)")
    print(f"ruff check:    {ruff_time:.2f} s ({len(ruff_result.stdout.splitlines())} findings)")
    # One core each: how much work each tool does, apart from how well it uses two cores.
    (nb_one, _), (ruff_one, _) = interleaved(
        [nb_cold + ["--jobs", "1"], ruff_cold],
        repeat=3, envs=[None, {**os.environ, "RAYON_NUM_THREADS": "1"}])
    print(f"on one core: nb2pipe {nb_one:.2f} s, ruff {ruff_one:.2f} s "
          f"(ratio {nb_one / ruff_one:.2f}); on all cores nb2pipe is {nb_one / nb_time:.2f}× "
          f"faster than on one, ruff {ruff_one / ruff_time:.2f}×")
    results["one_core_seconds"] = {"nb2pipe": nb_one, "ruff": ruff_one}
    # Both keep results between runs by default: a second run over unchanged files.
    with tempfile.TemporaryDirectory() as caches:
        nb_cached = [nb2pipe, "check", str(corpus), "--exit-zero", "--output-format", "concise",
                     "--no-progress", "--cache-dir", f"{caches}/nb2pipe"]
        ruff_cached = [str(ruff_bin), "check", str(corpus), "--exit-zero", "--output-format",
                       "concise", "--cache-dir", f"{caches}/ruff"]
        timed(nb_cached)
        timed(ruff_cached)
        nb_warm, _ = timed(nb_cached, repeat=3)
        ruff_warm, _ = timed(ruff_cached, repeat=3)
    print(f"second run, cache on: nb2pipe {nb_warm:.2f} s, ruff {ruff_warm:.2f} s")
    out = ROOT / ".cache" / "pynblint.json"
    # pynblint takes half a minute, long enough for this machine's speed to change: nb2pipe is
    # timed just before and just after it, and the ratio uses those runs.
    around = [timed(nb_cold)[0] for _ in range(3)]
    pyn_time, pyn_result = timed([str(pynblint_bin), str(corpus), "-q", "-y", "-o", str(out)],
                                 env={**os.environ, "TERM": "dumb", "COLUMNS": "200"})
    around += [timed(nb_cold)[0] for _ in range(3)]
    nb_around = statistics.median(around)
    pynblint_ok = pyn_result.returncode == 0
    print(f"pynblint:      {pyn_time:.2f} s (exit {pyn_result.returncode}); nb2pipe around it "
          f"{nb_around:.2f} s")
    results["folder_seconds"] = {"nb2pipe": nb_time, "ruff": ruff_time, "pynblint": pyn_time,
                                 "pynblint_completed": pynblint_ok,
                                 "nb2pipe_around_pynblint": nb_around,
                                 "nb2pipe_cached": nb_warm, "ruff_cached": ruff_warm}
    results["ratios"] = {"nb2pipe_vs_ruff": nb_time / ruff_time,
                         "nb2pipe_vs_ruff_cached": nb_warm / ruff_warm,
                         "pynblint_vs_nb2pipe": pyn_time / nb_around}
    print(f"ratio nb2pipe/ruff = {nb_time / ruff_time:.2f} without caches, "
          f"{nb_warm / ruff_warm:.2f} with (goal ≤ 1); "
          f"pynblint/nb2pipe = {pyn_time / nb_around:.1f}× (goal ≥ 30×; pynblint has no cache)")

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        floor = min(parse_floor(files) for _ in range(2))
    results["parse_floor_seconds"] = floor
    print(f"decoding the JSON and parsing the cells alone, one process: {floor:.2f} s")

    per_notebook = in_process(files)
    ordered = sorted(per_notebook)
    results["in_process_ms"] = {"median": statistics.median(per_notebook) * 1000,
                                "p90": ordered[int(len(ordered) * 0.9)] * 1000}
    print(f"in-process per notebook: median {results['in_process_ms']['median']:.2f} ms, "
          f"p90 {results['in_process_ms']['p90']:.2f} ms (goal: median ≤ 5 ms)")

    one = str(ROOT / "sample_notebooks" / "level0_classifier.ipynb")
    version_time, _ = timed([nb2pipe, "--version"], repeat=10)
    one_time, _ = timed([nb2pipe, "check", one, "--exit-zero", "--no-cache"], repeat=10)
    results["startup_ms"] = {"version": version_time * 1000, "check_one": one_time * 1000}
    print(f"nb2pipe --version: {version_time * 1000:.0f} ms (goal ≤ 150); "
          f"nb2pipe check one.ipynb: {one_time * 1000:.0f} ms (goal ≤ 300)")

    probe = ("import sys\nfrom nb2pipe.cli import main\n"
             f"main(['check', {one!r}, '--exit-zero'])\n"
             "print([m for m in ('kfp', 'mlflow', 'papermill', 'pandas', 'rich', 'libcst', "
             "'nbformat') if m in sys.modules])")
    imported = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    results["heavy_imports_during_check"] = imported.stdout.strip().splitlines()[-1]
    print(f"heavy modules imported by `nb2pipe check`: {results['heavy_imports_during_check']}")

    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "check.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
