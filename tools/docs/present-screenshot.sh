#!/usr/bin/env bash
# The README's picture of a live block: `livedeck present` on the flagship deck (Docker lab),
# Chromium runs the `docker pull nginx` block (block 4, slide 3) and saves the slide.
# Usage: tools/docs/present-screenshot.sh [OUT.png]   (default img/present-live.png)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${1:-$repo/img/present-live.png}
python=${PYTHON:-$repo/.venv/bin/python}
[ -x "$python" ] || python=python3
log=$(mktemp)
PYTHONPATH="$repo/tools" "$python" -m livedeck present "$repo/slides/docker-layers.md" \
  </dev/null 2>"$log" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; wait $pid || true; rm -f "$log"' EXIT
for _ in $(seq 1 600); do
  url=$(grep -o 'http://127.0.0.1:[^ ]*' "$log" || true)
  [ -n "$url" ] && break
  kill -0 $pid 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.2
done
[ -n "$url" ] || { cat "$log" >&2; exit 1; }
node "$repo/tools/docs/present-shot.mjs" "$url" 4 3 "$out"
echo "wrote $out"
