#!/usr/bin/env bash
# Overload, then recovery: scripts/netns-run.sh scripts/bench-overload.sh
#
# The server runs on CPU 0 beside a busy loop (so it has about half a core), `openroom load`
# on CPU 1 with 1 publisher x 300 subscribers and a 60 s window; 30 s into the window the
# busy loop stops. The per-second progress lines (OUT/progress.txt) show delay and loss
# under overload and after it; OUT/report.txt is the whole window. Needs 2 CPUs, and a
# binary: BIN (default: go build ./cmd/openroom into OUT). OUT defaults to a new directory.
set -euo pipefail
[[ "${OPENROOM_NETNS:-}" == 1 ]] || { echo "run inside scripts/netns-run.sh" >&2; exit 2; }
OUT=${OUT:-$(mktemp -d /tmp/openroom-overload.XXXXXX)}
if [[ -z "${BIN:-}" ]]; then
  BIN="$OUT/openroom"
  go build -o "$BIN" "$(dirname "$0")/../cmd/openroom"
fi
OPENROOM_MAX_CONNECTIONS_PER_IP=400 taskset -c 0 $BIN --http "$OPENROOM_TEST_IP:18080" --rtc-port 17882 --node-ip "$OPENROOM_TEST_IP" --rtmp "" --turn "" --turn-tls "" --room-capacity 400 --log-level warn --drain 1s > $OUT/server.log 2>&1 &
SRV=$!
sleep 1
taskset -c 0 sh -c 'while :; do :; done' &
HOG=$!
taskset -c 1 $BIN load --url "http://$OPENROOM_TEST_IP:18080" --local-ip "$OPENROOM_TEST_IP2" --subscribers 300 --join-parallel 32 --ready-timeout 240s --warmup 5s --window 60s --server-pid $SRV > $OUT/report.txt 2> $OUT/progress.txt &
LOAD=$!
# wait for the window to start, then 30 s
while ! grep -q "] window:" $OUT/progress.txt 2>/dev/null; do
  kill -0 $LOAD 2>/dev/null || { kill $HOG $SRV 2>/dev/null; tail -3 "$OUT/progress.txt" >&2; exit 1; }
  sleep 1
done
sleep 30
kill $HOG
echo "busy loop stopped after the progress line $(grep -o '^\[ *[0-9.]* s\]' "$OUT/progress.txt" | tail -1)" >"$OUT/stopped.txt"
wait $LOAD || true
kill $SRV; wait $SRV 2>/dev/null || true
cat "$OUT/stopped.txt"
echo "progress: $OUT/progress.txt; report: $OUT/report.txt" 
