# Shared by the benchmark scripts (bench-server.sh, bench-livekit.sh, bench-span.sh), sourced
# once they have defined say(). Outside the namespace: bench_dir and
# source_rev. Inside: cleanup() stops the processes in server_pid and load_pid.

# bench_dir PREFIX: makes the run's directory (BIN, under /tmp) for the
# binaries, results and logs; it is removed at exit unless BENCH_KEEP_LOGS.
bench_dir() {
  BIN="$(mktemp -d "/tmp/$1.XXXXXX")"
  trap cleanup_outer EXIT
}
cleanup_outer() {
  if [[ -n "${BENCH_KEEP_LOGS:-}" ]]; then
    say "logs kept in $BIN/logs"
  else
    rm -rf "$BIN"
  fi
}

# source_rev DIR: DIR's short git revision, "+edits" when tracked files changed.
source_rev() {
  local rev
  rev="$(git -C "$1" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  if [[ -n "$(git -C "$1" status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
    rev="$rev+edits"
  fi
  echo "$rev"
}

# require_netns: the --inner half of a script runs only inside scripts/netns-run.sh
# (its addresses, and no traffic anywhere else); sets IP to the namespace's address.
require_netns() {
  [[ "${OPENROOM_NETNS:-}" == "1" && -n "${OPENROOM_TEST_IP:-}" && -n "${OPENROOM_TEST_IP2:-}" ]] ||
    die "--inner must run inside scripts/netns-run.sh"
  IP="$OPENROOM_TEST_IP"
}

# steer_receives: with BENCH_RPS=CPU, the kernel's receive work for every packet sent in
# the namespace (IP and UDP input, the socket queue, waking the reader) runs on CPU, by
# receive packet steering on the namespace's loopback, instead of on the sending process's
# CPU. On loopback a server is otherwise charged for delivering its packets into the load
# tool's sockets, which on a real network is the receivers' machines' work. Needs a mount
# namespace of its own (the sysfs mounted here shows this namespace's devices): the
# --inner half re-executes itself in one first (see in_private_mounts).
steer_receives() {
  [[ -n "${BENCH_RPS:-}" ]] || return 0
  [[ "$BENCH_RPS" =~ ^[0-9]+$ ]] || die "BENCH_RPS=$BENCH_RPS: want a CPU number, e.g. 1"
  mount -t sysfs sysfs /sys || die "BENCH_RPS: cannot mount this namespace's sysfs"
  printf '%x\n' $((1 << BENCH_RPS)) >/sys/class/net/lo/queues/rx-0/rps_cpus ||
    die "BENCH_RPS: cannot set lo's rps_cpus"
  say "receive work steered to CPU $BENCH_RPS (lo rps_cpus $(cat /sys/class/net/lo/queues/rx-0/rps_cpus))"
}

# in_private_mounts: true once the script runs in a mount namespace of its own (or needs
# none: no BENCH_RPS).
in_private_mounts() { [[ -z "${BENCH_RPS:-}" || "${BENCH_PRIVATE_MOUNTS:-}" == "1" ]]; }

# stop_pid PID: SIGTERM, then SIGKILL after 10 s.
stop_pid() {
  local pid="$1"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# cleanup: stops the load tools and servers still running (load_pid and server_pid may
# each hold several PIDs, space-separated).
cleanup() {
  local p
  for p in $load_pid; do stop_pid "$p"; done
  for p in $server_pid; do stop_pid "$p"; done
}

# machine_busy: the machine's busy % (all CPUs) over 2 s, from /proc/stat.
machine_busy() {
  local a b
  a=$(head -1 /proc/stat)
  sleep 2
  b=$(head -1 /proc/stat)
  awk -v a="$a" -v b="$b" 'BEGIN {
    split(a, x); split(b, y)
    for (i = 2; i <= 9; i++) { d = y[i] - x[i]; total += d; if (i != 5 && i != 6) busy += d }
    printf "%d\n", (total > 0) ? 100 * busy / total : 0 }'
}

# wait_quiet: waits until other work on the machine has calmed down
# (BENCH_QUIET: at most this % busy; BENCH_QUIET_WAIT: for at most this many seconds).
wait_quiet() {
  local limit="${BENCH_QUIET:-10}" max="${BENCH_QUIET_WAIT:-900}" waited=0 busy
  while :; do
    busy=$(machine_busy)
    ((busy <= limit)) && return 0
    if ((waited >= max)); then
      say "the machine is still ${busy}% busy after ${max}s: measuring anyway (see the other % core column)"
      return 0
    fi
    ((waited % 60 == 0)) && say "the machine is ${busy}% busy with other work: waiting for it to drop to ${limit}%"
    sleep 8
    waited=$((waited + 10))
  done
}
