#!/usr/bin/env bash
# Set up (scripts/setup.sh), then run every test: the Python suite (pytest), the panel's model
# (Jest), and the panel in a real JupyterLab in Debian's Chromium (Galata/Playwright).
# Chromium is installed from Debian's packages when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH" PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

./scripts/mlflow_full.sh  # MLflow's tracking server, for the tests against a real one
./scripts/airflow_venv.sh  # Apache Airflow 3, for the tests of the Airflow target
# three processes on two cores: most tests wait on kernels, servers and subprocesses
echo "== pytest (${NB2PIPE_TEST_WORKERS:-3} processes)"
# the slow end-to-end tests are collected first (tests/conftest.py); an idle process takes
# tests from a busy one's queue (worksteal), so no process waits alone at the end
.venv/bin/python -m pytest -n "${NB2PIPE_TEST_WORKERS:-3}" --dist worksteal "$@"

echo "== Jest: the panel's model"
(cd labextension && jlpm install --immutable >/dev/null && jlpm test)

echo "== Galata: the panel in JupyterLab, in Chromium"
CHROMIUM=${CHROMIUM:-/usr/lib/chromium/chromium}
if [ ! -x "$CHROMIUM" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's chromium …"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "error: the browser tests need Chromium: apt-get install chromium" >&2
    exit 2
  fi
fi
export CHROMIUM
(cd labextension/ui-tests && jlpm install --immutable >/dev/null && npx playwright test)
