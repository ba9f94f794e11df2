#!/usr/bin/env bash
# Set up, then the main job on sample_notebooks/: lint them with the level-1 checklist, fix a
# copy of the level-0 notebook, convert the tagged notebook into a pipeline (components,
# papermill steps, Kubeflow YAML), run it with MLflow tracking in the embedded SQLite store,
# run the Kubeflow pipeline with kfp's local runner, show what `submit` would send, and propose
# steps for an untagged notebook (`convert --auto`) and run them. Then level 1: a level-0
# notebook that reads a CSV is fixed, converted with a model gate, run twice (baselines, a
# registered champion, then "up to date"), fails validation on changed data, accepts it as
# the new baseline, rejects a worse model and promotes a better one. Everything goes to
# demo-output/; the sample notebooks are never modified.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
rm -rf demo-output && mkdir -p demo-output
cp -r sample_notebooks/*.ipynb sample_notebooks/requirements.txt sample_notebooks/data demo-output/

step() { printf '\n== %s\n' "$*"; }

step "nb2pipe check sample_notebooks --maturity"
nb2pipe check sample_notebooks --output-format concise --maturity || true

step "nb2pipe check demo-output/level0_classifier.ipynb --fix --unsafe-fixes   (a copy)"
nb2pipe check demo-output/level0_classifier.ipynb --fix --unsafe-fixes --output-format concise || true

step "nb2pipe convert demo-output/classifier_pipeline.ipynb -o demo-output/classifier-pipeline"
nb2pipe convert demo-output/classifier_pipeline.ipynb -o demo-output/classifier-pipeline

cd demo-output
step "nb2pipe run classifier-pipeline   (MLflow: demo-output/mlflow.db)"
nb2pipe run classifier-pipeline

step "nb2pipe run classifier-pipeline -p MAX_DEPTH=2,8   (a sweep)"
nb2pipe run classifier-pipeline -p MAX_DEPTH=2,8

step "nb2pipe run classifier-pipeline --engine kfp-local --tracking none   (the Kubeflow pipeline, locally)"
nb2pipe run classifier-pipeline --engine kfp-local --tracking none

step "nb2pipe submit classifier-pipeline --host http://kubeflow.example:8080 --dry-run"
nb2pipe submit classifier-pipeline --host http://kubeflow.example:8080 --dry-run --schedule "0 3 * * *"

step "nb2pipe convert --auto diabetes_untagged.ipynb -o diabetes-pipeline   (no tags: steps proposed)"
nb2pipe convert --auto diabetes_untagged.ipynb -o diabetes-pipeline

step "nb2pipe run diabetes-pipeline -p ALPHA=0.1"
nb2pipe run diabetes-pipeline -p ALPHA=0.1

step "nb2pipe run wine_report.ipynb -p MIN_ALCOHOL=13   (a plain notebook)"
nb2pipe run wine_report.ipynb -p MIN_ALCOHOL=13

step "Level 1: nb2pipe check churn_level0.ipynb --fix   (a level-0 notebook that reads data/churn.csv)"
nb2pipe check churn_level0.ipynb --fix --output-format concise || true

step "nb2pipe convert --auto churn_level0.ipynb -o churn-pipeline --gate 'accuracy>=0.7' --gate 'f1>=champion'"
nb2pipe convert --auto churn_level0.ipynb -o churn-pipeline --gate "accuracy>=0.7" --gate "f1>=champion"

step "nb2pipe run churn-pipeline   (first run: data baselines recorded, model version 1 registered)"
nb2pipe run churn-pipeline

step "nb2pipe run churn-pipeline --if-changed   (nothing changed)"
nb2pipe run churn-pipeline --if-changed

step "new data arrives with a contract type never seen: nb2pipe run churn-pipeline --if-changed   (exit 4)"
../.venv/bin/python -c "import pandas as pd; d = pd.read_csv('data/churn.csv'); d.loc[:40, 'contract'] = 'three-year'; d.to_csv('data/churn.csv', index=False)"
code=0; nb2pipe run churn-pipeline --if-changed || code=$?
echo "(exit code $code)"

step "nb2pipe baseline churn-pipeline   (the new data is right: accept it)"
nb2pipe baseline churn-pipeline

step "nb2pipe run churn-pipeline -p DEPTH=1   (a worse model: the gate keeps it out, exit 3)"
code=0; nb2pipe run churn-pipeline -p DEPTH=1 || code=$?
echo "(exit code $code)"

step "nb2pipe run churn-pipeline -p DEPTH=8   (a better model: version 2 becomes the champion)"
nb2pipe run churn-pipeline -p DEPTH=8

step "nb2pipe models churn-pipeline"
nb2pipe models churn-pipeline

step "schedule it: a GitHub Actions workflow runs nb2pipe run churn-pipeline --if-changed nightly"
mkdir -p .github/workflows
cat > .github/workflows/retrain.yml <<'YAML'
name: retrain
on:
  schedule: [{cron: "0 3 * * *"}]
jobs:
  retrain:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      # nb2pipe is not on PyPI yet: from its repository (pin a commit for repeatable runs)
      - run: pip install "nb2pipe[run,tracking] @ git+https://github.com/nb2pipe/nb2pipe" -r churn-pipeline/requirements.txt
      - run: nb2pipe run churn-pipeline --if-changed
YAML
cat .github/workflows/retrain.yml

step "nb2pipe check --maturity churn-pipeline   (the six level-1 items)"
nb2pipe check --maturity churn-pipeline

printf '\nDone. Browse the runs: classifier-pipeline/runs/*/html/, and MLflow with\n'
printf '  pip install mlflow==3.17.2 && mlflow ui --backend-store-uri sqlite:///demo-output/mlflow.db\n'
