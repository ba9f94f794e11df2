#!/usr/bin/env bash
# Set up, then the main job on sample_notebooks/: lint them with the level-1 checklist, and
# fix a copy of the level-0 notebook to show what `--fix` does. The input notebooks are never
# modified: the fixed copy goes to demo-output/.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"

echo
echo "== nb2pipe check sample_notebooks --maturity"
nb2pipe check sample_notebooks --output-format concise --maturity || true

mkdir -p demo-output
cp sample_notebooks/level0_classifier.ipynb demo-output/
cp sample_notebooks/requirements.txt demo-output/
echo
echo "== nb2pipe check demo-output/level0_classifier.ipynb --diff   (what --fix would change)"
nb2pipe check demo-output/level0_classifier.ipynb --diff || true
echo
echo "== nb2pipe check demo-output/level0_classifier.ipynb --fix"
nb2pipe check demo-output/level0_classifier.ipynb --fix --output-format concise || true
echo
echo "The fixed copy is demo-output/level0_classifier.ipynb; the findings left need a person."
