#!/usr/bin/env bash
# Apache Airflow 3 (pinned as nb2pipe's `airflow` extra) with nb2pipe and its run and tracking
# extras, in a venv of its own: .cache/airflow. The tests of the Airflow target run
# `airflow dags test` and `airflow standalone` from here; its Python is the DAG tasks' Python,
# so it also gets the sample notebooks' packages (at the versions of .venv). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.cache/airflow
STAMP="$VENV/.nb2pipe-ready"
# What the venv holds; a change here (or in pyproject.toml) installs again.
WANTS="apache-airflow==3.3.2 apache-airflow-providers-cncf-kubernetes==10.25.0 hypothesis"
if [ -f "$STAMP" ] && [ "$STAMP" -nt pyproject.toml ] && [ "$(cat "$STAMP")" = "$WANTS" ]; then
  exit 0
fi
echo "setup: installing apache-airflow==3.3.2 (and its Kubernetes provider) with" \
     "nb2pipe[run,tracking] into $VENV" \
     "(for the Airflow tests; 3–6 minutes once, on a busy 2-core machine) …" >&2
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
pins=$(.venv/bin/python - <<'PY'
from importlib import metadata
names = ["numpy", "pandas", "scikit-learn", "pyarrow", "matplotlib", "hypothesis"]
pins = []
for name in names:
    try:
        pins.append(f"{name}=={metadata.version(name)}")
    except metadata.PackageNotFoundError:
        pass
print(" ".join(pins))
PY
)
# shellcheck disable=SC2086
scripts/pip_progress.sh "$VENV/bin/python" "$VENV/pip-install.log" "apache-airflow==3.3.2" \
  "apache-airflow-providers-cncf-kubernetes==10.25.0" -e ".[run,tracking]" $pins
echo "$WANTS" > "$STAMP"
