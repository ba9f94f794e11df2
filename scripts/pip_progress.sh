#!/usr/bin/env bash
# Run `pip install ARGS…` with the given python, showing pip's own line per package as it
# comes (unbuffered) and, when pip is quiet for 10 s, a line naming what it is on; the whole
# output goes to LOG.  Usage: scripts/pip_progress.sh PYTHON LOG ARGS…
set -euo pipefail
python=$1 log=$2
shift 2
: > "$log"
(
  seen=0
  while sleep 10; do
    now=$(wc -l < "$log")
    if [ "$now" = "$seen" ]; then
      echo "  … still working: $(grep -v '^ *$' "$log" | tail -n 1 | cut -c1-100)" >&2
    fi
    seen=$now
  done
) &
heartbeat=$!
trap 'kill $heartbeat 2>/dev/null || true' EXIT
PYTHONUNBUFFERED=1 "$python" -m pip install --progress-bar off "$@" 2>&1 \
  | tee "$log" \
  | { grep --line-buffered -E "^(Collecting|Building|Successfully|ERROR|error)" || true; } \
  | sed -u 's/^/  /' >&2
exit "${PIPESTATUS[0]}"
