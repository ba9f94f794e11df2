#!/usr/bin/env bash
# Create .venv (if needed) and install nb2pipe in it, editable, with what the tests and the
# demo use. Installing builds the JupyterLab extension (labextension/) with node; node and
# python3-venv come from Debian's packages when they are missing. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if ! command -v "$PYTHON" >/dev/null; then
  echo "error: $PYTHON not found; install Python 3.10 or newer" >&2
  exit 2
fi
apt_install() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "error: please install $* (Debian packages)" >&2
    exit 2
  fi
  echo "installing Debian's $* …" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  apt_install nodejs npm
fi
if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON" -m venv .venv 2>/dev/null; then
    apt_install python3-venv
    "$PYTHON" -m venv .venv
  fi
fi
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
quiet() { grep -v "^WARNING: Location" || true; }
say() { echo "setup: $*" >&2; }
trap 'echo "setup failed; pip'"'"'s whole output is in .venv/pip-install.log" >&2' ERR
say "upgrading pip in .venv …"
.venv/bin/python -m pip install --quiet --upgrade pip 2>&1 | quiet
say "installing nb2pipe with kfp, papermill, MLflow, pandera, JupyterLab and the test tools" \
      "(about 6 minutes the first time on a busy 2-core machine, less with pip's cache;" \
      "a line per package as pip reaches it, and a line every 10 s while one takes long) …"
scripts/pip_progress.sh .venv/bin/python .venv/pip-install.log -e ".[test]"
trap - ERR
# pip compiles an installed package's modules; an editable install leaves that to Python,
# which does not write them where PYTHONDONTWRITEBYTECODE is set (CI, containers): every
# nb2pipe command would compile its modules again (65 ms a run). Stale files are ignored.
say "compiling nb2pipe's modules to bytecode …"
.venv/bin/python -m compileall -q src/nb2pipe
.venv/bin/nb2pipe --version
