#!/usr/bin/env bash
# Set up (scripts/setup.sh), then run every test: the Python suite (pytest), the panel's model
# (Jest), and the panel in a real JupyterLab in Debian's Chromium (Galata/Playwright).
# Chromium is installed from Debian's packages when it is missing.
#
# pytest and the browser tests run side by side: both spend much of their time waiting
# (kernels, servers, a browser's rendering), so together they take less than one after the
# other. pytest prints as it goes; the browser tests write to .cache/ui-tests.log, shown when
# pytest ends (then followed live until they end). NB2PIPE_UI_TESTS=after runs them after
# pytest instead; extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH" PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

./scripts/mlflow_full.sh  # MLflow's tracking server, for the tests against a real one
./scripts/airflow_venv.sh  # Apache Airflow 3, for the tests of the Airflow target

CHROMIUM=${CHROMIUM:-/usr/lib/chromium/chromium}
if [ ! -x "$CHROMIUM" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's chromium (apt-get, as root) …"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "error: the browser tests need Chromium: apt-get install chromium" >&2
    exit 2
  fi
fi
export CHROMIUM
echo "== installing the browser tests' packages (yarn, from its lock file)"
(cd labextension && jlpm install --immutable >/dev/null)
(cd labextension/ui-tests && jlpm install --immutable >/dev/null)

ui_tests() {
  echo "== Jest: the panel's model"
  (cd labextension && jlpm test) || return 1
  echo "== Galata: the panel in JupyterLab, in Chromium"
  (cd labextension/ui-tests && npx playwright test)
}

mkdir -p .cache
ui_log=.cache/ui-tests.log
ui_pid=
if [ "${NB2PIPE_UI_TESTS:-beside}" != after ]; then
  echo "== Jest and Galata start beside pytest (their output: $ui_log, shown when pytest ends)"
  ui_tests >"$ui_log" 2>&1 &
  ui_pid=$!
fi

# three processes on two cores: most tests wait on kernels, servers and subprocesses
echo "== pytest (${NB2PIPE_TEST_WORKERS:-3} processes)"
# the slow end-to-end tests are collected first (tests/conftest.py); an idle process takes
# tests from a busy one's queue (worksteal), so no process waits alone at the end
# (its output is kept in .cache/pytest.log too: when it fails, its summary is printed again
# at the very end, below the browser tests' output, where a CI log's tail shows it)
pytest_log=.cache/pytest.log
pytest_rc=0
.venv/bin/python -m pytest -n "${NB2PIPE_TEST_WORKERS:-3}" --dist worksteal "$@" \
  2>&1 | tee "$pytest_log" || pytest_rc=${PIPESTATUS[0]}

ui_rc=0
if [ -n "$ui_pid" ]; then
  if kill -0 "$ui_pid" 2>/dev/null; then
    echo "== the browser tests, still running (so far, then live):"
    tail -n +1 -f --pid="$ui_pid" "$ui_log"
  else
    echo "== the browser tests (ran beside pytest):"
    cat "$ui_log"
  fi
  wait "$ui_pid" || ui_rc=$?
else
  ui_tests || ui_rc=$?
fi

if [ "$pytest_rc" != 0 ]; then
  echo "== pytest failed; its summary again (the whole output: $pytest_log):"
  sed -n '/short test summary info/,$p' "$pytest_log" | tail -n 60
fi
if [ "$pytest_rc" != 0 ] || [ "$ui_rc" != 0 ]; then
  echo "FAILED: pytest exit $pytest_rc, Jest and Galata exit $ui_rc" >&2
  exit 1
fi
echo "== all tests passed"
