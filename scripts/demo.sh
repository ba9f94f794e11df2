#!/usr/bin/env bash
# Set up, then the main job on sample_notebooks/: lint them with the level-1 checklist, fix a
# copy of the level-0 notebook, convert the tagged notebook into a pipeline (components,
# papermill steps, Kubeflow YAML), run it with MLflow tracking in the embedded SQLite store,
# run the Kubeflow pipeline with kfp's local runner, show what `submit` would send, and propose
# steps for an untagged notebook (`convert --auto`) and run them. Everything goes to
# demo-output/; the sample notebooks are never modified.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
rm -rf demo-output && mkdir -p demo-output
cp sample_notebooks/*.ipynb sample_notebooks/requirements.txt demo-output/

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

printf '\nDone. Browse the runs: classifier-pipeline/runs/*/html/, and MLflow with\n'
printf '  pip install mlflow==3.17.2 && mlflow ui --backend-store-uri sqlite:///demo-output/mlflow.db\n'
