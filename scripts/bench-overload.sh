#!/usr/bin/env bash
# Overload, then recovery: scripts/netns-run.sh scripts/bench-overload.sh
#
# The server runs on CPU 0 short of CPU, `openroom load` on CPU 1 with 1 publisher x 300
# subscribers and a 60 s window; 30 s into the window the server gets its core back. The
# per-second progress lines (OUT/progress.txt) show delay and loss under overload and after
# it; OUT/report.txt is the whole window, OUT/summary.txt the figures that matter (per-second
# p99 under overload, and how soon the run was clean after it). Needs 2 CPUs, and a binary:
# BIN (default: go build ./cmd/openroom into OUT). OUT defaults to a new directory.
#
# How the server is kept short of CPU:
#   CPU_QUOTA  a share of one core, in % (e.g. 35), through a CPU cgroup (v1 or v2) and a
#              10 ms period: the same share whatever else runs, so runs compare across days
#              better than with busy loops (the machine's speed still drifts);
#   else HOGS  busy loops (default 1) beside the server on its core: on a fast day one leaves
#              it enough CPU for 1 x 300, and the run shows no overload.
# CPU_AFTER    with CPU_QUOTA: the share (%) the server has after the squeeze instead of the
#              whole core, for a recovery with little to spare (1 x 300 needs about 55-85 %
#              of a core here, depending on the day).
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

# squeeze / release: the server short of CPU, then not
CG="" HOG=()
if [[ -n "${CPU_QUOTA:-}" ]]; then
  quota=$((CPU_QUOTA * 100)) # of a 10,000 us period
  after=""
  [[ -n "${CPU_AFTER:-}" ]] && after=$((CPU_AFTER * 100))
  if [[ -d /sys/fs/cgroup/cpu && -w /sys/fs/cgroup/cpu ]]; then
    CG=/sys/fs/cgroup/cpu/openroom-overload.$$
    mkdir "$CG"
    echo 10000 >"$CG/cpu.cfs_period_us"
    echo "$quota" >"$CG/cpu.cfs_quota_us"
    release() { echo "${after:--1}" >"$CG/cpu.cfs_quota_us"; }
  elif [[ -f /sys/fs/cgroup/cgroup.controllers ]] && grep -qw cpu /sys/fs/cgroup/cgroup.controllers; then
    echo +cpu >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || true
    CG=/sys/fs/cgroup/openroom-overload.$$
    mkdir "$CG"
    echo "$quota 10000" >"$CG/cpu.max"
    release() { echo "${after:-max} 10000" >"$CG/cpu.max"; }
  else
    kill $SRV; echo "bench-overload: CPU_QUOTA needs a writable CPU cgroup (v1 or v2)" >&2; exit 1
  fi
  echo $SRV >"$CG/cgroup.procs" # every thread of it
  what="CPU quota of $CPU_QUOTA % lifted${CPU_AFTER:+ to $CPU_AFTER %}"
else
  for _ in $(seq "${HOGS:-1}"); do
    taskset -c 0 sh -c 'while :; do :; done' &
    HOG+=($!)
  done
  release() { kill "${HOG[@]}"; }
  what="busy loop stopped"
fi
cleanup() {
  [[ ${#HOG[@]} -gt 0 ]] && kill "${HOG[@]}" 2>/dev/null
  kill $SRV 2>/dev/null
  if [[ -n "$CG" ]]; then
    wait $SRV 2>/dev/null
    rmdir "$CG" 2>/dev/null
  fi
  true
}
trap cleanup EXIT

taskset -c 1 $BIN load --url "http://$OPENROOM_TEST_IP:18080" --local-ip "$OPENROOM_TEST_IP2" --subscribers 300 --join-parallel 32 --ready-timeout 240s --warmup 5s --window 60s --server-pid $SRV > $OUT/report.txt 2> $OUT/progress.txt &
LOAD=$!
# wait for the window to start, then 30 s
while ! grep -q "] window:" $OUT/progress.txt 2>/dev/null; do
  kill -0 $LOAD 2>/dev/null || { tail -3 "$OUT/progress.txt" >&2; exit 1; }
  sleep 1
done
sleep 30
release
stopped=$(grep -o '^\[ *[0-9.]* s\]' "$OUT/progress.txt" | tail -1 | tr -d '[] s')
echo "$what after the progress line [$stopped s]" >"$OUT/stopped.txt"
wait $LOAD || true
# per-second lines: [ t s] window: ... N pkt/s, p99 X ms, loss Y %
awk -v stop="$stopped" '
  /\] window:/ {
    match($0, /^\[ *[0-9.]+/); t = substr($0, 2, RLENGTH - 1) + 0; p99 = $(NF-4) + 0; loss = $(NF-1) + 0
    if (t <= stop) { n++; if (p99 > max) max = p99; if (p99 > 500) over++; lossIn += loss }
    else { m++; at[m] = t; lossAt[m] = loss; lossOut += loss; if (loss > worst) worst = loss; if (loss >= 1) lossy++ }
  }
  END {
    clean = "never"
    for (i = 1; i + 4 <= m; i++) {
      ok = 1; for (j = i; j < i + 5; j++) if (lossAt[j] >= 1) ok = 0
      if (ok) { clean = sprintf("%.0f s", at[i] - stop); break }
    }
    printf "under overload (%d s): per-second p99 up to %.0f ms, %d seconds over 500 ms; clean (5 s in a row under 1 %% loss) %s after\n", n, max, over, clean
    printf "per-second loss: under overload mean %.1f %%; after (%d s) mean %.1f %%, worst %.1f %%, %d seconds over 1 %%\n", lossIn / (n ? n : 1), m, lossOut / (m ? m : 1), worst, lossy
  }' "$OUT/progress.txt" >"$OUT/summary.txt"
grep -a -E '^(members|one-way delay|loss|server behind) ' "$OUT/report.txt" >>"$OUT/summary.txt" || true
cat "$OUT/stopped.txt" "$OUT/summary.txt"
echo "progress: $OUT/progress.txt; report: $OUT/report.txt"
