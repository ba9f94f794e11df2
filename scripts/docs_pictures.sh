#!/usr/bin/env bash
# Remake the pictures of docs/level1.md from a real run of `make demo`:
#   docs/level1-registry.png  MLflow's UI on demo-output/mlflow.db: the churn model's versions
#                             and their aliases (champion, previous)
#   docs/level1-drift.png     runs/ID/validation.html of the run the changed data stopped
#   docs/panel.png            the MLOps hints panel on the level-0 sample (Galata)
#   docs/lab-run.png, docs/lab-run-dark.png   runs from the panel, light and dark (Galata)
# MLflow's UI needs the full `mlflow` package (nb2pipe depends on mlflow-skinny, which has no
# UI server): scripts/mlflow_full.sh installs it, pinned like the client, in .cache/mlflow-full.
# Chromium is Debian's, driven by the Playwright of the Galata tests (labextension/ui-tests).
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "docs-pictures: $*" >&2; }
export PATH="$PWD/.venv/bin:$PATH" PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

if [ ! -f demo-output/mlflow.db ] || [ ! -d demo-output/churn-pipeline/runs ]; then
  say "no demo-output/ yet: running make demo first …"
  make demo >/dev/null
fi
./scripts/mlflow_full.sh
(cd labextension/ui-tests && [ -d node_modules/@playwright ] || jlpm install --immutable >/dev/null)

PORT=${PORT:-5077}
say "starting MLflow's UI on 127.0.0.1:$PORT (demo-output/mlflow.db) …"
.cache/mlflow-full/bin/mlflow ui --backend-store-uri "sqlite:///$PWD/demo-output/mlflow.db" \
  --host 127.0.0.1 --port "$PORT" >.cache/mlflow-ui.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 120); do
  curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break
  kill -0 $SERVER 2>/dev/null || { cat .cache/mlflow-ui.log >&2; exit 1; }
  sleep 1
done

# the run the changed data stopped: the newest run whose validation failed
REPORT=$(.venv/bin/python - <<'PY'
import json, pathlib
runs = sorted(pathlib.Path("demo-output/churn-pipeline/runs").glob("*/run.json"))
for path in reversed(runs):
    record = json.loads(path.read_text())
    if record.get("validation", {}).get("status") == "failed" and record["validation"].get("report"):
        print(path.parent / record["validation"]["report"])
        break
PY
)
[ -n "$REPORT" ] || { say "no failed validation in demo-output/churn-pipeline/runs"; exit 1; }

say "photographing the registry and $REPORT in Chromium …"
NODE_PATH="$PWD/labextension/ui-tests/node_modules" \
  CHROMIUM=${CHROMIUM:-/usr/lib/chromium/chromium} MLFLOW_URL="http://127.0.0.1:$PORT" \
  REPORT="$PWD/$REPORT" node scripts/docs_pictures.js
say "wrote docs/level1-registry.png and docs/level1-drift.png"

say "photographing the MLOps hints panel and its runs with the Galata suite …"
(cd labextension/ui-tests && NB2PIPE_UPDATE_DOCS=1 \
  npx playwright test -g "shows the level-0|runs the converted" >/dev/null)
say "wrote docs/panel.png, docs/lab-run.png and docs/lab-run-dark.png"
