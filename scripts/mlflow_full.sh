#!/usr/bin/env bash
# The full `mlflow` package (its tracking server and UI), pinned like nb2pipe's mlflow-skinny,
# in a venv of its own: .cache/mlflow-full. nb2pipe itself needs only mlflow-skinny; the tests
# against a real tracking server (tests/run/test_tracking_server.py) and the pictures of
# docs/level1.md start `mlflow server` / `mlflow ui` from here. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.cache/mlflow-full
if [ -x "$VENV/bin/mlflow" ]; then
  exit 0
fi
echo "setup: installing mlflow==3.17.2 with its tracking server into $VENV" \
     "(for the tests against a real server; 2–9 minutes once, on a busy 2-core machine) …" >&2
python3 -m venv "$VENV"
scripts/pip_progress.sh "$VENV/bin/python" "$VENV/pip-install.log" "mlflow==3.17.2"
