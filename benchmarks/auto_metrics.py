"""How many `convert --auto` pipelines that train a model have at least one metric (so that
tracking logs a score and a model gate has something to check), over a folder of notebooks.

    python benchmarks/auto_metrics.py [CORPUS]   # default: ../shared/corpus

In-process, no run: each notebook is proposed (`--auto`) and built; a pipeline "trains" when
one of its steps fits a model (nb2pipe found the model it would register, or a step
autologs). Prints the counts and a few pipelines that train without a metric.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", default=str(ROOT.parent / "shared" / "corpus"))
    args = parser.parse_args()
    from nb2pipe.auto import AutoTagError, propose
    from nb2pipe.lint.tidy import tidy
    from nb2pipe.notebook import read_notebook
    from nb2pipe.pipeline.build import build_pipeline

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_journey import split

    parts = split(Path(args.corpus).resolve(), 7)  # bench_journey's split, seed 7
    counts = {"notebooks": 0, "proposed": 0, "train": 0, "train_with_metric": 0}
    by_part = {part: [0, 0] for part in parts}  # trains, with a metric
    without: list[str] = []
    for path in sorted(Path(args.corpus).rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        counts["notebooks"] += 1
        try:
            notebook = read_notebook(str(path))
            proposal = propose(notebook, tidy)
            pipeline, _ = build_pipeline(proposal.notebook)
        except (AutoTagError, Exception):  # noqa: BLE001  (a notebook --auto refuses)
            continue
        if pipeline is None:
            continue
        counts["proposed"] += 1
        if pipeline.model or any(step.autolog for step in pipeline.steps):
            counts["train"] += 1
            part = next(p for p, repos in parts.items()
                        if path.relative_to(args.corpus).parts[0] in repos)
            by_part[part][0] += 1
            if pipeline.metrics:
                counts["train_with_metric"] += 1
                by_part[part][1] += 1
            else:
                without.append(str(path.relative_to(args.corpus)))
    print(json.dumps(counts, indent=2))
    for part, (trains, with_metric) in by_part.items():
        print(f"{part}: {with_metric} of {trains} training pipelines have a metric "
              f"({with_metric / max(1, trains):.0%})")
    if without:
        print(f"training without a metric ({len(without)}), e.g.:", *without, sep="\n  ")
    return 0


if __name__ == "__main__":
    sys.exit(main())
