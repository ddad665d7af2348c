#!/usr/bin/env bash
# Stalls a running openroom server, as a starved machine does: stops it (SIGSTOP) for
# STOP_MS every EVERY_MS until this script is killed.
#
#   scripts/stall-server.sh BIN STOP_MS EVERY_MS
#
# BIN is the server's binary as it was started (the e2e harness starts `BIN --http ...`).
# Example, the poor-link call with the server stopped 350 ms every 6 s (docs/benchmarks.md,
# "A stalled server in a small room"):
#   scripts/netns-run.sh bash -c 'scripts/stall-server.sh /tmp/or 350 6000 & OPENROOM_BIN=/tmp/or \
#     node --test --test-name-pattern="poor link" e2e/network.test.mjs; kill %1'
set -euo pipefail
[[ $# -eq 3 ]] || { echo "usage: $0 BIN STOP_MS EVERY_MS" >&2; exit 2; }
bin=$1 stop_ms=$2 every_ms=$3
(( stop_ms > 0 && every_ms > stop_ms )) || { echo "$0: want 0 < STOP_MS < EVERY_MS" >&2; exit 2; }
secs() { awk -v ms="$1" 'BEGIN { printf "%.3f", ms / 1000 }'; }
pid=""
trap '[[ -n "$pid" ]] && kill -CONT "$pid" 2>/dev/null; exit 0' INT TERM
while true; do
  pid=$(pgrep -f "^$bin --http" | head -1 || true)
  if [[ -n "$pid" ]]; then
    kill -STOP "$pid" 2>/dev/null || true
    sleep "$(secs "$stop_ms")"
    kill -CONT "$pid" 2>/dev/null || true
  fi
  sleep "$(secs $((every_ms - stop_ms)))"
done
