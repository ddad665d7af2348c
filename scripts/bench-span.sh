#!/usr/bin/env bash
# Rooms that span nodes, the cost of a relayed track: scripts/bench-span.sh [S]
#
# Two real openroom nodes of one cluster (a redis-server of their own, one --secret) and
# two `openroom load` processes, inside a private network namespace (scripts/netns-run.sh):
#
#   R (relayed): node a hosts at most 1 member (--node-capacity 1), node b has no limit.
#      One publisher (synthetic H.264 ~1 Mbit/s + Opus, `openroom load --subscribers 0`)
#      joins at a; once a's heartbeat says it is full, S subscribers (default 20; a
#      second `openroom load --publishers 0`) join the same room at b, which keeps them
#      and pulls the room's 2 tracks from a over one relay link.
#   L (local): the same, with no capacity on a and the S subscribers joined at a.
#   P (publisher alone): the same, with no subscriber: what a spends on the publisher.
#
# Cases alternate R L P R L P ... (BENCH_RUNS each, default 3), each with a fresh Redis and
# fresh nodes. In each run, over a window (BENCH_WINDOW, default 20s) that starts when the
# subscribers' load tool starts its own: both nodes' CPU (/proc/PID/stat), the machine's,
# and both nodes' /metrics (rtp and relay counters); the subscribers' load tool measures
# its node (--server-pid: CPU per packet its subscribers received) and the one-way delay.
#
# The subscribers' load tool runs with --publishers 0 (the publisher is the other load
# tool's); it is built from this repository, the nodes from BENCH_SRC.
#
# Environment:
#   BENCH_SRC        the source tree to build the nodes from (default: this repository)
#   BENCH_RUNS       runs per case (default 3)
#   BENCH_WINDOW     measurement window (default 20s)
#   BENCH_OUT        append each run's JSON (with "case" and "run") to this file
#   BENCH_KEEP_LOGS  keep the nodes', Redis's and the load tools' logs
#   BENCH_QUIET      before each run, wait until the machine is at most this % busy
#                    (default 10; 100 disables the wait) ...
#   BENCH_QUIET_WAIT ... for at most this many seconds (default 900)
#   BENCH_MAX_OTHER  a run during which other processes (neither node nor load tool) used
#                    more than this % of one core (default 25) is repeated, up to
#                    BENCH_RETRIES times (default 5); the last attempt is kept
#
# Needs root (or unprivileged user namespaces), redis-server, curl and jq.
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
SELF="$ROOT/scripts/bench-span.sh"

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench-span: %s\n' "$*" >&2; exit 1; }
# shellcheck source=scripts/bench-lib.sh
source "$ROOT/scripts/bench-lib.sh"

# ---------------------------------------------------------------------------
# Inside the namespace: bench-span.sh --inner S BINDIR
if [[ "${1:-}" == "--inner" ]]; then
  S="$2"
  BIN="$3"
  require_netns
  REDIS_PORT=16379
  A_HTTP=18080 B_HTTP=18081 A_RTC=17882 B_RTC=17883
  RUNS="${BENCH_RUNS:-3}"
  WINDOW="${BENCH_WINDOW:-20s}"
  WINDOW_S="${WINDOW%s}"
  [[ "$WINDOW_S" =~ ^[0-9]+$ ]] || die "BENCH_WINDOW must be whole seconds, like 20s"
  TICK="$(getconf CLK_TCK)"
  LOGS="$BIN/logs"
  mkdir -p "$LOGS"
  SECRET="bench-span-$RANDOM$RANDOM"

  redis_pid="" a_pid="" b_pid="" pub_pid="" load_pid=""
  cleanup_span() {
    stop_pid "$load_pid"
    stop_pid "$pub_pid"
    stop_pid "$b_pid"
    stop_pid "$a_pid"
    stop_pid "$redis_pid"
    load_pid="" pub_pid="" b_pid="" a_pid="" redis_pid=""
  }
  trap cleanup_span EXIT
  trap 'exit 130' INT TERM

  # wait_line FILE PATTERN SECONDS PID: until FILE has a line matching PATTERN.
  wait_line() {
    local i
    for i in $(seq 1 $(($3 * 10))); do
      grep -q -- "$2" "$1" 2>/dev/null && return 0
      kill -0 "$4" 2>/dev/null || return 1
      sleep 0.1
    done
    return 1
  }

  # start_node ID CAPACITY HTTP_PORT RTC_PORT LOG: starts a node, sets node_pid.
  start_node() {
    # Every member connects from one address: the per-address cap must admit them.
    OPENROOM_MAX_CONNECTIONS_PER_IP=$((S + 64)) \
      "$BIN/openroom" --http "$IP:$3" --rtc-port "$4" --node-ip "$IP" --rtmp "" --turn "" --turn-tls "" \
      --open-login=true --room-capacity "$((S + 8))" --secret "$SECRET" --redis-url "redis://127.0.0.1:$REDIS_PORT" \
      --node-id "$1" --node-capacity "$2" --log-level info --drain 1s >"$5" 2>&1 &
    node_pid=$!
    local i
    for i in $(seq 1 200); do
      curl -sf -o /dev/null "http://$IP:$3/healthz" && return 0
      kill -0 "$node_pid" 2>/dev/null || break
      sleep 0.1
    done
    tail -n 20 "$5" >&2
    die "node $1 did not start"
  }

  # cpu_ticks PID: its user + system time, in clock ticks.
  cpu_ticks() { if [[ -n "$1" ]]; then awk '{ print $14 + $15 }' "/proc/$1/stat"; else echo 0; fi; }
  # machine: busy and total ticks of all CPUs.
  machine() { head -1 /proc/stat | awk '{ t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t }'; }

  # snap FILE: both nodes' and load tools' CPU, the machine's, and both nodes' /metrics.
  snap() {
    {
      echo "time $(date +%s.%N)"
      echo "cpu_a $(cpu_ticks "$a_pid")"
      echo "cpu_b $(cpu_ticks "$b_pid")"
      echo "cpu_pub $(cpu_ticks "$pub_pid")"
      echo "cpu_load $(cpu_ticks "$load_pid")"
      echo "machine $(machine)"
      curl -sf "http://$IP:$A_HTTP/metrics" | grep -E '^openroom_(rtp|relay)_' | sed 's/^/a /'
      curl -sf "http://$IP:$B_HTTP/metrics" | grep -E '^openroom_(rtp|relay)_' | sed 's/^/b /'
    } >"$1"
  }

  # deltas BEFORE AFTER: the window's figures as one JSON object.
  deltas() {
    awk -v tick="$TICK" -v ncpu="$(nproc)" '
      function key() { return ($1 == "a" || $1 == "b") ? $1 " " $2 : $1 }
      function value() { return ($1 == "a" || $1 == "b") ? $3 : $2 }
      FNR == NR { v0[key()] = value(); if ($1 == "machine") { mb0 = $2; mt0 = $3 }; next }
      { v1[key()] = value(); if ($1 == "machine") { mb1 = $2; mt1 = $3 } }
      function d(k) { return v1[k] - v0[k] }
      END {
        secs = d("time")
        busy = (mt1 > mt0) ? (mb1 - mb0) / (mt1 - mt0) * ncpu * 100 : 0
        a = d("cpu_a") / tick / secs * 100; b = d("cpu_b") / tick / secs * 100
        pub = d("cpu_pub") / tick / secs * 100; load = d("cpu_load") / tick / secs * 100
        printf "{\"secs\": %.2f, \"a_core_pct\": %.1f, \"b_core_pct\": %.1f, \"pub_tool_core_pct\": %.1f, \"sub_tool_core_pct\": %.1f, \"other_pct\": %.1f", secs, a, b, pub, load, busy - a - b - pub - load
        n = split("a_rtp_in,a,openroom_rtp_packets_total{direction=\"in\"} " \
          "a_rtp_out,a,openroom_rtp_packets_total{direction=\"out\"} " \
          "a_rtp_in_bytes,a,openroom_rtp_payload_bytes_total{direction=\"in\"} " \
          "b_rtp_in,b,openroom_rtp_packets_total{direction=\"in\"} " \
          "b_rtp_out,b,openroom_rtp_packets_total{direction=\"out\"} " \
          "a_relay_sent,a,openroom_relay_packets_total{direction=\"sent\"} " \
          "a_relay_sent_bytes,a,openroom_relay_bytes_total{direction=\"sent\"} " \
          "b_relay_received,b,openroom_relay_packets_total{direction=\"received\"} " \
          "b_relay_received_bytes,b,openroom_relay_bytes_total{direction=\"received\"} " \
          "a_relay_dropped,a,openroom_relay_dropped_total " \
          "b_relay_dropped,b,openroom_relay_dropped_total", f, " ")
        for (i = 1; i <= n; i++) {
          split(f[i], kv, ",")
          printf ", \"%s_per_s\": %.1f", kv[1], d(kv[2] " " kv[3]) / secs
        }
        printf ", \"a_relay_links\": %d, \"b_relay_links\": %d}\n", v1["a openroom_relay_links"], v1["b openroom_relay_links"]
      }' "$1" "$2"
  }

  # run_one CASE RUN ATTEMPT: one run of case R, L or P; appends its JSON to $BIN/results,
  # or fails (status 3) when other work disturbed it and ATTEMPT is not the last.
  run_one() {
    local c="$1" run="$2" attempt="$3" tag="$1-run$2-try$3"
    wait_quiet
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize no \
      >"$LOGS/$tag.redis.log" 2>&1 &
    redis_pid=$!
    local i
    for i in $(seq 1 50); do
      redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
      sleep 0.1
    done
    local cap_a=0 sub_port=$A_HTTP
    [[ "$c" == R ]] && cap_a=1 sub_port=$B_HTTP
    start_node a "$cap_a" "$A_HTTP" "$A_RTC" "$LOGS/$tag.a.log"
    a_pid=$node_pid
    start_node b 0 "$B_HTTP" "$B_RTC" "$LOGS/$tag.b.log"
    b_pid=$node_pid
    local who="$S subscribers at :$sub_port"
    [[ "$c" == P ]] && who="no subscribers"
    say "run $run/$RUNS, case $c (node a pid $a_pid, capacity $cap_a; node b pid $b_pid), $who"
    "$BIN/openroom-load" load --url "http://$IP:$A_HTTP" --local-ip "$OPENROOM_TEST_IP2" --room span \
      --publishers 1 --subscribers 0 --settle 0s --warmup 0s --window 1h --quiet \
      >"$LOGS/$tag.pub.json" 2>"$LOGS/$tag.pub.log" &
    pub_pid=$!
    wait_line "$LOGS/$tag.pub.log" 'publishers are sending' 60 "$pub_pid" ||
      { tail -n 20 "$LOGS/$tag.pub.log" >&2; die "the publisher did not connect"; }
    # b must see a full (R) from a's heartbeat before the subscribers come; L waits alike.
    for i in $(seq 1 100); do
      redis-cli -p "$REDIS_PORT" get openroom:node:a | jq -e '.load.members >= 1' >/dev/null 2>&1 && break
      sleep 0.1
    done
    if [[ "$c" == P ]]; then
      # The publisher alone: what a's share of the other cases costs before any subscriber.
      echo '{}' >"$LOGS/$tag.json"
      sleep 10
      snap "$LOGS/$tag.snap0"
      sleep "$WINDOW_S"
      snap "$LOGS/$tag.snap1"
    else
      "$BIN/openroom-load" load --url "http://$IP:$sub_port" --local-ip "$OPENROOM_TEST_IP2" --room span \
        --publishers 0 --subscribers "$S" --server-pid "$([[ "$c" == R ]] && echo "$b_pid" || echo "$a_pid")" \
        --settle 0s --idle 1s --warmup 10s --window "$((WINDOW_S + 1))s" --json \
        >"$LOGS/$tag.json" 2>"$LOGS/$tag.load.log" &
      load_pid=$!
      wait_line "$LOGS/$tag.load.log" 'msg=measuring' 120 "$load_pid" ||
        { tail -n 20 "$LOGS/$tag.load.log" >&2; die "the subscribers did not get to their window"; }
      snap "$LOGS/$tag.snap0"
      sleep "$WINDOW_S"
      snap "$LOGS/$tag.snap1"
      if ! wait "$load_pid"; then
        load_pid=""
        tail -n 30 "$LOGS/$tag.load.log" >&2
        die "the subscribers' load tool failed (logs in $LOGS)"
      fi
      load_pid=""
    fi
    cleanup_span
    local d
    d="$(deltas "$LOGS/$tag.snap0" "$LOGS/$tag.snap1")"
    echo "$d" >"$LOGS/$tag.deltas.json"
    if [[ "$c" == R ]] && ! jq -e '.b_relay_received_per_s > 0' <<<"$d" >/dev/null; then
      die "case R: node b relayed nothing: the subscribers were not kept on b (logs in $LOGS)"
    fi
    local other
    other=$(jq -r '.other_pct | round' <<<"$d")
    if ((other > ${BENCH_MAX_OTHER:-25} && attempt < ${BENCH_RETRIES:-5})); then
      say "    discarded: other processes used ${other}% of a core during the window; again"
      return 3
    fi
    jq -c --arg case "$c" --argjson run "$run" --argjson d "$d" '. + $d + {case: $case, run: $run}' "$LOGS/$tag.json" >>"$BIN/results"
    jq -r '"    a \(.a_core_pct) % core, b \(.b_core_pct) % core; relay \(.a_relay_sent_per_s) pkt/s; \(if .forwarded then "\(.forwarded / .window_s | round) pkt/s to the subscribers, \(.cpu_ns_per_forwarded) ns CPU each at their node; delay p50 \(.delay_p50_ms) p99 \(.delay_p99_ms) ms, loss \(.loss_pct) %" else "no subscribers" end); other \(.other_pct) % core"' \
      <<<"$(tail -n 1 "$BIN/results")" >&2
  }

  for run in $(seq 1 "$RUNS"); do
    for c in R L P; do
      for attempt in $(seq 1 "${BENCH_RETRIES:-5}"); do
        status=0
        run_one "$c" "$run" "$attempt" || status=$?
        sleep 1
        ((status == 3)) || break
      done
    done
  done
  exit 0
fi

# ---------------------------------------------------------------------------
# Outside: build, run the inner part in the namespace, print the tables.
S="${1:-20}"
[[ "$S" =~ ^[1-9][0-9]*$ ]] || die "usage: $0 [S] (S subscribers, default 20)"
command -v redis-server >/dev/null || die "redis-server not found (apt-get install redis-server)"

bench_dir openroom-span

SRC="$(cd "${BENCH_SRC:-$ROOT}" && pwd)"
say "building openroom from $SRC ($(source_rev "$SRC"))"
(cd "$SRC" && go build -o "$BIN/openroom" ./cmd/openroom)

say "building the load tool (openroom load) from $ROOT"
(cd "$ROOT" && go build -o "$BIN/openroom-load" ./cmd/openroom)

"$ROOT/scripts/netns-run.sh" "$SELF" --inner "$S" "$BIN"

if [[ -n "${BENCH_OUT:-}" ]]; then
  cat "$BIN/results" >>"$BENCH_OUT"
fi

echo
echo "1 publisher (H.264 ~1 Mbit/s + Opus) at node a; $S subscribers at node b (R, relayed), at a (L, local) or none (P)"
echo "${BENCH_WINDOW:-20s} window, $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'))"
echo
echo "| case | run | a % core | b % core | publisher in at a pkt/s | relay a->b pkt/s | relay kbit/s | to subscribers pkt/s | CPU ns / fwd pkt (subscribers' node) | delay p50 / p99 ms | loss % | relay dropped | other % core |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
jq -r 'def or_dash(f): if .forwarded then f else "-" end;
  "| \(.case) | \(.run) | \(.a_core_pct) | \(.b_core_pct) | \(.a_rtp_in_per_s) | \(.a_relay_sent_per_s) | \(.a_relay_sent_bytes_per_s * 8 / 1000 | round) | \(or_dash(.forwarded / .window_s | round)) | \(or_dash(.cpu_ns_per_forwarded)) | \(or_dash("\(.delay_p50_ms) / \(.delay_p99_ms)")) | \(or_dash(.loss_pct)) | \(.a_relay_dropped_per_s + .b_relay_dropped_per_s) | \(.other_pct) |"' "$BIN/results"
echo
echo "Medians per case:"
echo
echo "| case | runs | a % core | b % core | a + b % core | relay pkt/s | relay kbit/s | CPU ns / fwd pkt (subscribers' node) | delay p50 / p99 ms |"
echo "|---|---|---|---|---|---|---|---|---|"
jq -rs '
  def median: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
  def r1: . * 10 | round / 10;
  group_by(.case) | sort_by({R: 0, L: 1, P: 2}[.[0].case])[] |
  "| \(.[0].case) | \(length) | \(map(.a_core_pct) | median | r1) | \(map(.b_core_pct) | median | r1) | \(map(.a_core_pct + .b_core_pct) | median | r1) | \(map(.a_relay_sent_per_s) | median | r1) | \(map(.a_relay_sent_bytes_per_s * 8 / 1000) | median | round) | \(if .[0].forwarded then "\(map(.cpu_ns_per_forwarded) | median | round) | \(map(.delay_p50_ms) | median) / \(map(.delay_p99_ms) | median)" else "- | -" end) |"' "$BIN/results"
