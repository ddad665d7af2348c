#!/usr/bin/env bash
# openroom vs LiveKit, side by side: scripts/bench-livekit.sh
#
# The same load (internal/loadgen: synthetic H.264 ~1 Mbit/s at 30 fps with payloads up to
# 1100 B and a keyframe every 2 s, plus 50 Opus packets/s of 100 B per publisher; every
# packet stamped with its send time and number) against openroom (`openroom load`, over
# openroom's signaling) and against LiveKit (`lkload` from the separate module bench/, over
# LiveKit's Go SDK with its default interceptors), on the same cases, interleaved, and the
# ratios openroom / LiveKit of the medians.
#
#   1. builds openroom and its load tool from this repository, lkload from bench/, and
#      livekit-server with ../shared/tools/build-livekit.sh (into /tmp/lkbin; nothing of it
#      is kept in the repository), outside the namespace (Go may fetch modules);
#   2. inside a private network namespace (scripts/netns-run.sh: the servers listen on
#      OPENROOM_TEST_IP, the clients use OPENROOM_TEST_IP2; no route out), for each case,
#      BENCH_RUNS times: openroom, then LiveKit, each a fresh server process, with the load
#      tool as another process, the server pinned to one CPU and the load tool to another;
#   3. prints one row per run, then per case the medians per server and the ratios, and the
#      CPU ratio of each back-to-back pair of runs; stops every process it started.
#
# With BENCH_TOGETHER=1 each pair runs at the same time instead of back to back: both servers
# on the server CPU, both load tools on the load CPU, the same load. This machine's speed
# drifts by up to 2x within an hour (a shared host); two runs a minute apart can differ by
# 45 % on the same binary, and every moment of drift then lands on both servers alike. The
# servers share a core (and its caches), so delays are not comparable in this mode (each
# waits for the other's turns) and each run's "other % core" counts the other pair; the CPU
# per forwarded packet is what it is for. Sharing a core may not be neutral either (the server
# with the larger working set loses more to the other's cache use), so BENCH_TOGETHER=split
# runs the pair at the same time on separate CPUs instead: openroom on BENCH_PIN's first CPU
# and LiveKit on its second in odd runs, the other way round in even ones, the load tools
# unpinned.
#
# Cases (BENCH_CASES, space-separated; KIND-PxS: P publishers, S subscribers; audio: the
# publishers send audio only):
#   audio-10x30 video-2x20 video-1x50 video-1x100 video-1x300   (the default: all of them)
#
# Environment:
#   BENCH_CASES      the cases to run (default: all five above)
#   BENCH_RUNS       runs per server and case (default 3)
#   BENCH_WINDOW     measurement window (default 20s)
#   BENCH_OUT        append each run's JSON result (with "server", "case" and "run") to this file
#   BENCH_PIN        "SERVER_CPU LOAD_CPU" (default "0 1"); "" runs both unpinned
#   BENCH_TOGETHER   1: each openroom/LiveKit pair runs at the same time on the server CPU;
#                    split: at the same time, one server on each CPU (see above)
#   BENCH_LOAD_ARGS  extra flags for both load tools (see openroom load --help)
#   BENCH_KEEP_LOGS  keep the servers' and load tools' logs (their directory is printed)
#   BENCH_QUIET      before each run, wait until the machine is at most this % busy
#                    (all CPUs, over 2 s; default 10; 100 disables the wait) ...
#   BENCH_QUIET_WAIT ... for at most this many seconds (default 900), then run anyway
#   BENCH_MAX_OTHER  a run during which other processes used more than this % of one core
#                    (default 25) is discarded and repeated, up to BENCH_RETRIES times
#                    (default 3); the last attempt is kept whatever it shows
#   LIVEKIT_SERVER   a livekit-server binary to use instead of building one
#   LIVEKIT_BUILD    the build script (default: ../shared/tools/build-livekit.sh from the
#                    repository, i.e. /work/shared/tools/build-livekit.sh)
#
# openroom runs on its defaults but for: --rtmp "" --turn "" --turn-tls "" (bridge and TURN
# off), --room-capacity P+S+1, --log-level warn, --drain 1s, open login on,
# max_connections_per_ip P+S+64 (every member connects from one address). LiveKit runs on
# its defaults but for a generated config file (in the run's temporary directory): signaling
# on OPENROOM_TEST_IP:7880, node_ip OPENROOM_TEST_IP, one UDP port (7882, the mux) on that
# address only, no ICE/TCP, no TURN, no Redis (a single node), one generated API key, log
# level warn. The LiveKit SDK has no ICE address filter, so its members gather candidates on
# both namespace addresses; every packet still stays in the namespace.
#
# Needs root (or unprivileged user namespaces), jq, curl, taskset.
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
SELF="$ROOT/scripts/bench-livekit.sh"
DEFAULT_CASES="audio-10x30 video-2x20 video-1x50 video-1x100 video-1x300"

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench-livekit: %s\n' "$*" >&2; exit 1; }
# shellcheck source=scripts/bench-lib.sh
source "$ROOT/scripts/bench-lib.sh"

# parse_case CASE: sets KIND, P, S (dies on a malformed case).
parse_case() {
  [[ "$1" =~ ^(audio|video)-([1-9][0-9]*)x([0-9]+)$ ]] ||
    die "case $1: want KIND-PxS with KIND audio or video, e.g. video-1x100"
  KIND="${BASH_REMATCH[1]}" P="${BASH_REMATCH[2]}" S="${BASH_REMATCH[3]}"
}

# ---------------------------------------------------------------------------
# Inside the namespace: bench-livekit.sh --inner BINDIR
if [[ "${1:-}" == "--inner" ]]; then
  BIN="$2"
  require_netns
  OR_HTTP=18080
  OR_RTC=17882
  LK_PORT=7880
  RUNS="${BENCH_RUNS:-3}"
  WINDOW="${BENCH_WINDOW:-20s}"
  RETRIES="${BENCH_RETRIES:-3}"
  LOGS="$BIN/logs"
  mkdir -p "$LOGS"
  # LiveKit's config: dev-like (one generated key), but on the namespace address only.
  LK_KEY=benchkey
  LK_SECRET="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  cat >"$BIN/livekit.yaml" <<EOF
port: $LK_PORT
bind_addresses:
  - $IP
rtc:
  udp_port: 7882
  tcp_port: 0
  use_external_ip: false
  node_ip: $IP
  ips:
    includes:
      - $IP/32
keys:
  $LK_KEY: $LK_SECRET
logging:
  level: warn
turn:
  enabled: false
EOF
  read -r -a CASES <<<"${BENCH_CASES:-$DEFAULT_CASES}"

  server_pid=""
  load_pid=""
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  # wait_http URL LOG WHAT: waits (20 s at most) until URL answers, while the server just
  # started (STARTED_PID) lives.
  wait_http() {
    local url="$1" log="$2" what="$3"
    for _ in $(seq 1 200); do
      curl -sf -o /dev/null "$url" && return 0
      kill -0 "$STARTED_PID" 2>/dev/null || break
      sleep 0.1
    done
    cat "$log" >&2
    die "$what did not start"
  }

  # start_one CASE SERVER TAG: starts SERVER pinned to the server CPU (SERVER_CPU, when
  # set, instead) and waits until it answers; sets STARTED_PID.
  start_one() {
    local case="$1" server="$2" tag="$3"
    parse_case "$case"
    local pin_server=()
    if [[ -n "${SERVER_CPU:-}" ]]; then
      pin_server=(taskset -c "$SERVER_CPU")
    elif [[ -n "${BENCH_PIN-0 1}" ]]; then
      read -r cpu_server _ <<<"${BENCH_PIN-0 1}"
      pin_server=(taskset -c "$cpu_server")
    fi
    if [[ "$server" == "openroom" ]]; then
      OPENROOM_MAX_CONNECTIONS_PER_IP=$((P + S + 64)) \
        "${pin_server[@]}" "$BIN/openroom" --http "$IP:$OR_HTTP" --rtc-port "$OR_RTC" --node-ip "$IP" \
        --rtmp "" --turn "" --turn-tls "" --open-login=true --room-capacity "$((P + S + 1))" \
        --log-level warn --drain 1s >"$LOGS/$tag.server.log" 2>&1 &
      STARTED_PID=$!
      server_pid="$server_pid $STARTED_PID"
      wait_http "http://$IP:$OR_HTTP/healthz" "$LOGS/$tag.server.log" "openroom"
    else
      "${pin_server[@]}" "$BIN/livekit-server" --config "$BIN/livekit.yaml" >"$LOGS/$tag.server.log" 2>&1 &
      STARTED_PID=$!
      server_pid="$server_pid $STARTED_PID"
      wait_http "http://$IP:$LK_PORT/" "$LOGS/$tag.server.log" "livekit-server"
    fi
  }

  # start_load SERVER SERVER_PID TAG: starts SERVER's load tool against it, pinned to the
  # load CPU (unpinned in split mode); sets STARTED_PID.
  start_load() {
    local server="$1" pid="$2" tag="$3"
    local load=()
    if [[ "$server" == "openroom" ]]; then
      # --arrival read: delays measured as lkload measures them (when the tool reads a packet)
      load=("$BIN/openroom" load --url "http://$IP:$OR_HTTP" --local-ip "$OPENROOM_TEST_IP2" --arrival read)
    else
      load=("$BIN/lkload" --url "ws://$IP:$LK_PORT" --api-key "$LK_KEY" --api-secret "$LK_SECRET")
    fi
    local pin_load=() media=()
    if [[ "${BENCH_TOGETHER:-}" != "split" && -n "${BENCH_PIN-0 1}" ]]; then
      read -r _ cpu_load <<<"${BENCH_PIN-0 1}"
      pin_load=(taskset -c "$cpu_load")
    fi
    [[ "$KIND" == "audio" ]] && media=(--audio-only)
    # shellcheck disable=SC2086
    "${pin_load[@]}" "${load[@]}" --server-pid "$pid" --publishers "$P" --subscribers "$S" "${media[@]}" \
      --window "$WINDOW" --ready-timeout 120s --json --quiet ${BENCH_LOAD_ARGS:-} \
      >"$LOGS/$tag.json" 2>"$LOGS/$tag.load.log" &
    STARTED_PID=$!
    load_pid="$load_pid $STARTED_PID"
  }

  # finish_one CASE SERVER RUN ATTEMPT TAG LOAD_PID SERVER_PID: waits for the load tool,
  # stops the server, and appends the JSON result to $BIN/results, or fails (status 3)
  # when other work disturbed the run and ATTEMPT is not the last.
  finish_one() {
    local case="$1" server="$2" run="$3" attempt="$4" tag="$5" lpid="$6" spid="$7"
    if ! wait "$lpid"; then
      stop_pid "$spid"
      # A failed run (a publisher that never connects, subscribers that never receive) is
      # a result too: it is reported as such and the benchmark goes on.
      local why
      why=$(grep -a 'load run failed' "$LOGS/$tag.load.log" | tail -n 1 | sed -e 's/.*err="\{0,1\}//' -e 's/"$//')
      [[ -n "$why" ]] || why="$(tail -n 1 "$LOGS/$tag.load.log")"
      say "    FAILED ($server): $why (logs: $LOGS/$tag.*)"
      jq -cn --arg server "$server" --arg case "$case" --argjson run "$run" --arg why "$why" \
        '{server: $server, case: $case, run: $run, failed: $why}' >>"$BIN/results"
      return 0
    fi
    stop_pid "$spid"
    local other
    other=$(jq -r '.other_core_pct | round' "$LOGS/$tag.json")
    if [[ -z "${BENCH_TOGETHER:-}" ]] && ((other > ${BENCH_MAX_OTHER:-25} && attempt < RETRIES)); then
      say "    discarded: other processes used ${other}% of a core during the window; again"
      return 3
    fi
    jq -c --arg server "$server" --arg case "$case" --argjson run "$run" \
      '. + {server: $server, case: $case, run: $run}' "$LOGS/$tag.json" >>"$BIN/results"
    jq -r --arg server "$server" '"    \($server): \(.forwarded / .window_s | round) pkt/s forwarded (\(.delivered_ratio * 1000 | round / 10) %), \(.cpu_ns_per_forwarded) ns CPU each, \(.server_core_pct) % core, delay p50 \(.delay_p50_ms) p99 \(.delay_p99_ms) ms, loss \(.loss_pct) %, \(.rss_per_subscriber_bytes / 1e6 * 1000 | round / 1000) MB per subscriber, publisher joined in \(.publisher_join_p50_ms) ms"' \
      "$LOGS/$tag.json" >&2
  }

  # run_one CASE SERVER RUN ATTEMPT: one server process, one load run (see finish_one).
  run_one() {
    local case="$1" server="$2" run="$3" attempt="$4"
    local tag="$case-$server-run$run-try$attempt"
    wait_quiet
    start_one "$case" "$server" "$tag"
    local spid="$STARTED_PID"
    say "$case run $run/$RUNS, $server (pid $spid): $P publishers x $S subscribers"
    start_load "$server" "$spid" "$tag"
    local status=0
    finish_one "$case" "$server" "$run" "$attempt" "$tag" "$STARTED_PID" "$spid" || status=$?
    server_pid="" load_pid=""
    return "$status"
  }

  # run_together CASE RUN: both servers and both load tools at once (BENCH_TOGETHER).
  run_together() {
    local case="$1" run="$2"
    local otag="$case-openroom-run$run" ltag="$case-livekit-run$run"
    local ocpu="" lcpu=""
    if [[ "$BENCH_TOGETHER" == "split" ]]; then
      # The two CPUs of BENCH_PIN: openroom on the first in odd runs, on the second in even ones.
      local c0 c1
      read -r c0 c1 <<<"${BENCH_PIN:-0 1}"
      ocpu="$c0" lcpu="$c1"
      ((run % 2 == 1)) || ocpu="$c1" lcpu="$c0"
    fi
    wait_quiet
    SERVER_CPU="$ocpu" start_one "$case" openroom "$otag"
    local ospid="$STARTED_PID"
    SERVER_CPU="$lcpu" start_one "$case" livekit "$ltag"
    local lspid="$STARTED_PID"
    say "$case run $run/$RUNS, openroom (pid $ospid) and livekit (pid $lspid) together: $P publishers x $S subscribers"
    start_load livekit "$lspid" "$ltag"
    local llpid="$STARTED_PID"
    start_load openroom "$ospid" "$otag"
    local olpid="$STARTED_PID"
    finish_one "$case" openroom "$run" 1 "$otag" "$olpid" "$ospid" || true
    finish_one "$case" livekit "$run" 1 "$ltag" "$llpid" "$lspid" || true
    server_pid="" load_pid=""
  }

  for case in "${CASES[@]}"; do
    for run in $(seq 1 "$RUNS"); do
      if [[ -n "${BENCH_TOGETHER:-}" ]]; then
        run_together "$case" "$run"
        sleep 1
        continue
      fi
      for server in openroom livekit; do
        for attempt in $(seq 1 "$RETRIES"); do
          status=0
          run_one "$case" "$server" "$run" "$attempt" || status=$?
          sleep 1
          ((status == 3)) || break
        done
      done
    done
  done
  exit 0
fi

# ---------------------------------------------------------------------------
# Outside: build, run the inner part in the namespace, print the tables.
[[ $# -eq 0 ]] || die "usage: [BENCH_CASES=...] [BENCH_RUNS=N] $0 (see the header for the environment)"
for c in ${BENCH_CASES:-$DEFAULT_CASES}; do parse_case "$c"; done
[[ "${BENCH_TOGETHER:-}" =~ ^(|1|split)$ ]] || die "BENCH_TOGETHER=$BENCH_TOGETHER: want 1, split or nothing"
for tool in jq curl taskset; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found"
done

bench_dir openroom-bench-lk

rev="$(source_rev "$ROOT")"
say "building openroom and openroom load ($rev)"
(cd "$ROOT" && go build -o "$BIN/openroom" ./cmd/openroom)
say "building lkload (bench/)"
(cd "$ROOT/bench" && go build -o "$BIN/lkload" ./cmd/lkload)
if [[ -n "${LIVEKIT_SERVER:-}" ]]; then
  lk="$LIVEKIT_SERVER"
else
  build="${LIVEKIT_BUILD:-$ROOT/../shared/tools/build-livekit.sh}"
  [[ -x "$build" ]] || die "no LiveKit build script at $build (set LIVEKIT_BUILD or LIVEKIT_SERVER)"
  say "building livekit-server with $build"
  lk="$("$build" | tail -n 1)"
fi
[[ -x "$lk" ]] || die "no livekit-server binary at $lk"
cp "$lk" "$BIN/livekit-server"
lk_version="$("$BIN/livekit-server" --version 2>/dev/null | tail -n 1 || true)"

"$ROOT/scripts/netns-run.sh" "$SELF" --inner "$BIN"

if [[ -n "${BENCH_OUT:-}" ]]; then
  cat "$BIN/results" >>"$BENCH_OUT"
fi

pin="unpinned"
if [[ "${BENCH_TOGETHER:-}" == "split" ]]; then
  read -r cpu_server cpu_load <<<"${BENCH_PIN:-0 1}"
  pin="servers on CPUs $cpu_server and $cpu_load, load tools unpinned"
elif [[ -n "${BENCH_PIN-0 1}" ]]; then
  read -r cpu_server cpu_load <<<"${BENCH_PIN-0 1}"
  pin="server on CPU $cpu_server, load tool on CPU $cpu_load"
fi
echo
mode="interleaved"
[[ "${BENCH_TOGETHER:-}" == "1" ]] && mode="each pair at the same time, both servers on one CPU (BENCH_TOGETHER=1)"
[[ "${BENCH_TOGETHER:-}" == "split" ]] && mode="each pair at the same time, one server on each CPU, swapped every run, load tools unpinned (BENCH_TOGETHER=split)"
echo "openroom ($rev) vs ${lk_version:-livekit-server}; ${BENCH_RUNS:-3} run(s) each, $mode; ${BENCH_WINDOW:-20s} window; $pin"
echo "$(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(date -u +%F)"
echo
echo "| case | server | run | fwd pkt/s | delivered | CPU ns / fwd pkt | server % core | delay p50 / p95 / p99 ms | loss % | RSS / sub MB | publisher join ms | load % core | other % core |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
jq -r 'if .failed then "| \(.case) | \(.server) | \(.run) | failed: \(.failed) |||||||||" else "| \(.case) | \(.server) | \(.run) | \(.forwarded / .window_s | round) | \(.delivered_ratio * 1000 | round / 10) % | \(.cpu_ns_per_forwarded) | \(.server_core_pct) | \(.delay_p50_ms) / \(.delay_p95_ms) / \(.delay_p99_ms) | \(.loss_pct) | \(.rss_per_subscriber_bytes / 1e6 * 1000 | round / 1000) | \(.publisher_join_p50_ms) | \(.loadgen_core_pct) | \(.other_core_pct) |" end' "$BIN/results"
echo
echo "Medians per case and server, and the ratios openroom / LiveKit:"
echo
echo "| case | server | runs | CPU ns / fwd pkt | delay p50 / p95 / p99 ms | loss % | RSS / sub MB | publisher join ms |"
echo "|---|---|---|---|---|---|---|---|"
# Shared by both summaries below.
jq_defs='
  def median: sort | if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
  def r(d): if . == null then "-" else (. * pow(10; d) | round) / pow(10; d) end;
'
jq -rs "$jq_defs"'
  def ratio(a; b): if a == null or b == null or b == 0 then "-" else (a / b | r(2) | tostring) + "x" end;
  def stats: map(select(.failed | not)) | {
    runs: length,
    cpu: (map(.cpu_ns_per_forwarded) | median),
    p50: (map(.delay_p50_ms) | median), p95: (map(.delay_p95_ms) | median), p99: (map(.delay_p99_ms) | median),
    loss: (map(.loss_pct) | median),
    rss: (map(.rss_per_subscriber_bytes) | median | if . == null then null else . / 1e6 end),
    join: (map(.publisher_join_p50_ms) | median) };
  def row(c; s; x): "| \(c) | \(s) | \(x.runs) | \(x.cpu | r(0)) | \(x.p50 | r(2)) / \(x.p95 | r(2)) / \(x.p99 | r(2)) | \(x.loss | r(2)) | \(x.rss | r(3)) | \(x.join | r(1)) |";
  . as $all |
  ($all | map(.case) | reduce .[] as $c ([]; if index([$c]) then . else . + [$c] end)) as $order |
  $order[] as $c |
  ($all | map(select(.case == $c))) as $rs |
  ($rs | map(select(.failed) | "\(.server) run \(.run)") | if length > 0 then " (failed: \(join(", ")))" else "" end) as $failed |
  ($rs | map(select(.server == "openroom")) | stats) as $o |
  ($rs | map(select(.server == "livekit")) | stats) as $l |
  row($c; "openroom"; $o), row($c; "LiveKit"; $l),
  "| \($c) | **openroom / LiveKit**\($failed) | | **\(ratio($o.cpu; $l.cpu))** | \(ratio($o.p50; $l.p50)) / \(ratio($o.p95; $l.p95)) / **\(ratio($o.p99; $l.p99))** | \(if $o.loss == 0 and $l.loss == 0 then "0 and 0" else ratio($o.loss; $l.loss) end) | **\(ratio($o.rss; $l.rss))** | **\(ratio($o.join; $l.join))** |"
' "$BIN/results"
echo
echo "CPU per forwarded packet, openroom / LiveKit run by run (each pair ran back to back, or"
echo "at the same time, so the machine's drift between runs weighs less in them than in the"
echo "medians above):"
echo
jq -rs "$jq_defs"'
  . as $all |
  ($all | map(.case) | reduce .[] as $c ([]; if index([$c]) then . else . + [$c] end)) as $order |
  $order[] as $c |
  [ $all | map(select(.case == $c and (.failed | not))) | group_by(.run)[]
    | (map(select(.server == "openroom"))[0].cpu_ns_per_forwarded) as $o
    | (map(select(.server == "livekit"))[0].cpu_ns_per_forwarded) as $l
    | select($o != null and $l != null and $l != 0) | $o / $l ] as $pairs |
  if ($pairs | length) == 0 then empty else
  "- \($c): \($pairs | map(r(2) | tostring) | join(", ")) (median \($pairs | median | r(2))x)" end
' "$BIN/results"
