#!/usr/bin/env bash
# Whole-server benchmark: scripts/bench-server.sh [N]
#
# One publisher (synthetic H.264 ~1 Mbit/s, 30 fps, payloads up to 1100 B, a keyframe
# every 2 s, plus 50 Opus packets/s of 100 B) x N subscribers (default 100) against a
# real openroom process, driven by `openroom load` over the public signaling
# protocol only, so the same load runs against any server version. Measured from
# /proc over a 20 s window: the server's CPU per forwarded packet and % of one core,
# and its RSS per subscriber ((RSS with N subscribers - RSS with the publisher
# alone) / N).
#
#   1. builds the load tool (`openroom load`) from this repository and cmd/openroom from every
#      source tree in BENCH_SERVERS (outside the namespace: Go may fetch modules);
#   2. inside a private network namespace (scripts/netns-run.sh: all WebRTC traffic
#      stays on its veth pair; the server listens on OPENROOM_TEST_IP, the clients
#      use OPENROOM_TEST_IP2), runs each server in turn, BENCH_RUNS times,
#      interleaved (A B A B ...), with the load generator as a separate process;
#   3. prints one table row per run and the medians per server; stops every
#      process it started.
#
# Environment:
#   BENCH_SERVERS    source trees to build the server from, space-separated
#                    (default: this repository), e.g. "/work/before /work/main"
#   BENCH_RUNS       runs per server (default 1)
#   BENCH_WINDOW     measurement window (default 20s)
#   BENCH_OUT        append each run's JSON result (with "server" and "run") to this file
#   BENCH_LOAD_ARGS  extra flags for the load tool (see openroom load --help)
#   BENCH_KEEP_LOGS  keep the server and load generator logs (their directory is printed)
#   BENCH_PROFILE    a directory: take a 15 s CPU profile of each server during its window
#                    (from /admin/debug/pprof/, where the server has it) into DIR/TAG.pprof,
#                    then its heap (DIR/TAG.heap.pprof) and goroutines (DIR/TAG.goroutine.txt)
#   BENCH_QUIET      before each run, wait until the machine is at most this % busy
#                    (all CPUs, over 2 s; default 10; 100 disables the wait) ...
#   BENCH_QUIET_WAIT ... for at most this many seconds (default 900), then run anyway
#   BENCH_PIN        "SERVER_CPU LOAD_CPU", e.g. "0 1": pin the server and the load tool
#                    to one CPU each (taskset), so that neither takes the other's time
#   BENCH_RPS        a CPU (the load tool's, e.g. 1): the kernel's receive work for the
#                    namespace's packets runs there (receive packet steering on its
#                    loopback), so that a server's CPU no longer includes delivering its
#                    packets into the load tool's sockets (see steer_receives in bench-lib.sh).
#                    A diagnostic of how much that delivery costs, not a fair comparison:
#                    each steered packet may cost the sender an inter-processor interrupt
#                    (a VM exit in a guest), which a sender that batches pays far less often
#   BENCH_MAX_OTHER  a run during which other processes used more than this % of one
#                    core (default 25) is discarded and repeated, up to BENCH_RETRIES
#                    times (default 5); the last attempt is kept whatever it shows
#   BENCH_TOGETHER   1: in each run, every server at the same time (ports 18080+i and
#                    17882+i), each with its own load tool; with BENCH_PIN all servers share
#                    the server CPU and all load tools the load CPU. The machine's speed
#                    drifts by up to 45 % between runs a minute apart; builds that run at
#                    the same time see the same machine, so their ratio holds to a few %
#                    where back-to-back runs scatter by tens. Nothing is discarded for
#                    "other work" in this mode (each server is the others' other work)
#
# The server runs on its defaults but for: --rtmp "" --turn "" --turn-tls "" (bridge
# and TURN off), --room-capacity N+1, --log-level warn, --drain 1s; open login on;
# max_connections_per_ip N+64 (every member connects from one address).
#
# The machine's cores are shared: the load generator (N pion receivers decrypting
# SRTP) runs beside the server and competes for CPU; its own % of a core is in the
# table, and so is what other processes used during the window ("other % core"):
# a run with much other work is not comparable. Needs root (or unprivileged user
# namespaces).
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
SELF="$ROOT/scripts/bench-server.sh"

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench-server: %s\n' "$*" >&2; exit 1; }
# shellcheck source=scripts/bench-lib.sh
source "$ROOT/scripts/bench-lib.sh"

# ---------------------------------------------------------------------------
# Inside the namespace: bench-server.sh --inner N BINDIR
if [[ "${1:-}" == "--inner" ]]; then
  N="$2"
  BIN="$3"
  require_netns
  if ! in_private_mounts; then
    BENCH_PRIVATE_MOUNTS=1 exec unshare --mount --propagation private "$SELF" "$@"
  fi
  steer_receives
  HTTP_PORT=18080
  RTC_PORT=17882
  RUNS="${BENCH_RUNS:-1}"
  WINDOW="${BENCH_WINDOW:-20s}"
  LOGS="$BIN/logs"
  mkdir -p "$LOGS"
  mapfile -t LABELS <"$BIN/labels"

  server_pid=""
  load_pid=""
  trap cleanup EXIT
  trap 'exit 130' INT TERM

  # start_one INDEX TAG: starts server INDEX (its own ports: several may run at once) and
  # its load run; adds their PIDs to server_pid and load_pid.
  start_one() {
    local i="$1" tag="$2" label="${LABELS[$1]}"
    local http=$((HTTP_PORT + i)) rtc=$((RTC_PORT + i))
    local pin_server=() pin_load=()
    if [[ -n "${BENCH_PIN:-}" ]]; then
      read -r cpu_server cpu_load <<<"$BENCH_PIN"
      pin_server=(taskset -c "$cpu_server")
      pin_load=(taskset -c "$cpu_load")
    fi
    # Every member connects from one address: the per-address cap must admit them.
    OPENROOM_MAX_CONNECTIONS_PER_IP=$((N + 64)) \
      "${pin_server[@]}" "$BIN/openroom-$i" --http "$IP:$http" --rtc-port "$rtc" --node-ip "$IP" \
      --rtmp "" --turn "" --turn-tls "" --open-login=true --room-capacity "$((N + 1))" \
      --log-level warn --drain 1s --admin-token bench-profile >"$LOGS/$tag.server.log" 2>&1 &
    local pid=$!
    server_pid="$server_pid $pid"
    local ok=""
    for _ in $(seq 1 200); do
      if curl -sf -o /dev/null "http://$IP:$http/healthz"; then ok=1; break; fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    [[ -n "$ok" ]] || { cat "$LOGS/$tag.server.log" >&2; die "server $label did not start"; }
    say "run $run/$RUNS, server $label (pid $pid), $N subscribers"
    # shellcheck disable=SC2086
    "${pin_load[@]}" "$BIN/openroom-loadtool" load --url "http://$IP:$http" --local-ip "$OPENROOM_TEST_IP2" \
      --server-pid "$pid" --subscribers "$N" --window "$WINDOW" --json --quiet ${BENCH_LOAD_ARGS:-} \
      >"$LOGS/$tag.json" 2>"$LOGS/$tag.load.log" &
    load_pid="$load_pid $!"
    STARTED_LOAD=$!
    if [[ -n "${BENCH_PROFILE:-}" ]]; then
      mkdir -p "$BENCH_PROFILE"
      # 10 s of warm-up in the load generator, then the window: profile inside it.
      (sleep 13 && curl -sf -H "Authorization: Bearer bench-profile" -o "$BENCH_PROFILE/$tag.pprof" \
        "http://$IP:$http/admin/debug/pprof/profile?seconds=15" &&
        curl -sf -H "Authorization: Bearer bench-profile" -o "$BENCH_PROFILE/$tag.heap.pprof" \
          "http://$IP:$http/admin/debug/pprof/heap?gc=1" &&
        curl -sf -H "Authorization: Bearer bench-profile" -o "$BENCH_PROFILE/$tag.goroutine.txt" \
          "http://$IP:$http/admin/debug/pprof/goroutine?debug=1" ||
        say "no profile from $label (no /admin/debug/pprof/ in it?)") &
      prof_pids="$prof_pids $!"
    fi
  }

  # finish_one INDEX TAG LOADPID ATTEMPT: waits for a load run and records its JSON
  # result in $BIN/results, or fails (status 3) when other work disturbed the run and
  # ATTEMPT is not the last (never when servers ran together: each is the other's
  # "other work").
  finish_one() {
    local i="$1" tag="$2" pid="$3" attempt="$4" label="${LABELS[$1]}"
    if ! wait "$pid"; then
      tail -n 30 "$LOGS/$tag.load.log" >&2
      die "load generator failed against $label (logs in $LOGS)"
    fi
    local other
    other=$(jq -r '.other_core_pct | round' "$LOGS/$tag.json")
    if [[ -z "${BENCH_TOGETHER:-}" ]] && ((other > ${BENCH_MAX_OTHER:-25} && attempt < ${BENCH_RETRIES:-5})); then
      say "    discarded: other processes used ${other}% of a core during the window; again"
      return 3
    fi
    jq -c --arg server "$label" --argjson run "$run" '. + {server: $server, run: $run}' "$LOGS/$tag.json" >>"$BIN/results"
    jq -r --arg server "$label" '"    \($server): \(.forwarded) packets forwarded, \(.cpu_ns_per_forwarded) ns CPU each, \(.server_core_pct) % core, \(.rss_per_subscriber_bytes / 1048576 * 100 | round / 100) MiB per subscriber, delay p50 \(.delay_p50_ms) p99 \(.delay_p99_ms) ms, loss \(.loss_pct) %, publisher connected in \(.publisher_join_p50_ms) ms"' \
      "$LOGS/$tag.json" >&2
  }

  # stop_all: stops the servers and waits for the profiles.
  stop_all() {
    local pid
    for pid in $prof_pids; do wait "$pid" 2>/dev/null || true; done
    for pid in $server_pid; do stop_pid "$pid"; done
    server_pid="" load_pid="" prof_pids=""
  }

  # run_one INDEX RUN ATTEMPT: one server, one load run.
  run_one() {
    local i="$1" attempt="$3" tag="server$1-run$2-try$3"
    wait_quiet
    start_one "$i" "$tag"
    local status=0
    finish_one "$i" "$tag" "$STARTED_LOAD" "$attempt" || status=$?
    stop_all
    return "$status"
  }

  # run_together RUN: every server at once, each with its load run (the pinning puts
  # all servers on one CPU and all load tools on the other).
  run_together() {
    local i loads=()
    wait_quiet
    for i in "${!LABELS[@]}"; do
      start_one "$i" "server$i-run$1-together"
      loads+=("$STARTED_LOAD")
    done
    for i in "${!LABELS[@]}"; do
      finish_one "$i" "server$i-run$1-together" "${loads[$i]}" 1
    done
    stop_all
  }

  prof_pids=""
  for run in $(seq 1 "$RUNS"); do
    if [[ -n "${BENCH_TOGETHER:-}" ]]; then
      run_together "$run"
      sleep 1
      continue
    fi
    for i in "${!LABELS[@]}"; do
      for attempt in $(seq 1 "${BENCH_RETRIES:-5}"); do
        status=0
        run_one "$i" "$run" "$attempt" || status=$?
        sleep 1
        ((status == 3)) || break
      done
    done
  done
  exit 0
fi

# ---------------------------------------------------------------------------
# Outside: build, run the inner part in the namespace, print the table.
N="${1:-100}"
[[ "$N" =~ ^[1-9][0-9]*$ ]] || die "usage: $0 [N] (N subscribers, default 100)"
read -r -a SERVERS <<<"${BENCH_SERVERS:-$ROOT}"

bench_dir openroom-bench

say "building the load tool (openroom load) from $ROOT"
(cd "$ROOT" && go build -o "$BIN/openroom-loadtool" ./cmd/openroom)
: >"$BIN/labels"
for i in "${!SERVERS[@]}"; do
  src="$(cd "${SERVERS[$i]}" && pwd)"
  label="$(basename "$src")@$(source_rev "$src")"
  say "building openroom from $src ($label)"
  (cd "$src" && go build -o "$BIN/openroom-$i" ./cmd/openroom)
  echo "$label" >>"$BIN/labels"
done

"$ROOT/scripts/netns-run.sh" "$SELF" --inner "$N" "$BIN"

if [[ -n "${BENCH_OUT:-}" ]]; then
  cat "$BIN/results" >>"$BENCH_OUT"
fi

echo
echo "1 publisher x $N subscribers, ${BENCH_WINDOW:-20s} window, $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'))"
echo
echo "| server | run | forwarded pkt/s | delivered | server CPU ns / fwd pkt | server % core | RSS idle MiB | RSS loaded MiB | RSS / subscriber MiB | load gen % core | other % core |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
jq -r '"| \(.server) | \(.run) | \(.forwarded / .window_s | round) | \(.delivered_ratio * 1000 | round / 10) % | \(.cpu_ns_per_forwarded) | \(.server_core_pct) | \(.rss_idle_bytes / 1048576 * 10 | round / 10) | \(.rss_loaded_bytes / 1048576 * 10 | round / 10) | \(.rss_per_subscriber_bytes / 1048576 * 100 | round / 100) | \(.loadgen_core_pct) | \(.other_core_pct) |"' "$BIN/results"
echo
echo "Medians per server:"
echo
echo "| server | runs | server CPU ns / fwd pkt | server % core | RSS / subscriber MiB |"
echo "|---|---|---|---|---|"
jq -rs '
  def median: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
  group_by(.server)[] |
  "| \(.[0].server) | \(length) | \(map(.cpu_ns_per_forwarded) | median | round) | \(map(.server_core_pct) | median * 10 | round / 10) | \(map(.rss_per_subscriber_bytes) | median / 1048576 * 100 | round / 100) |"' "$BIN/results"
