#!/usr/bin/env bash
# chromium-in-netns.sh [CHROMIUM ARGS...]
#
# Runs Chromium inside another network namespace: the executablePath that
# e2e/netshape.mjs hands to playwright-core for a member on a shaped link.
#
#   OPENROOM_CHROMIUM_NETNS   the namespace to enter, as a path: /proc/PID/ns/net
#                             (PID: the process that holds the namespace)
#   OPENROOM_CHROMIUM_BIN     the browser (default /usr/bin/chromium)
#
# nsenter enters only the network namespace and then execs Chromium, so the pid
# playwright-core spawned *is* the browser (same process group, same pipes: the
# --remote-debugging-pipe fds 3 and 4 are inherited untouched). Only meant for
# the private namespace of scripts/netns-run.sh (it refuses to run outside it).
set -euo pipefail

die() { echo "chromium-in-netns: $*" >&2; exit 2; }

[[ "${OPENROOM_NETNS:-}" == "1" ]] || die "not inside the private namespace of scripts/netns-run.sh (OPENROOM_NETNS=1 unset)"
ns="${OPENROOM_CHROMIUM_NETNS:-}"
[[ -n "$ns" ]] || die "OPENROOM_CHROMIUM_NETNS is not set (want /proc/PID/ns/net)"
[[ -e "$ns" ]] || die "$ns does not exist (has the namespace's holder process exited?)"
bin="${OPENROOM_CHROMIUM_BIN:-/usr/bin/chromium}"
[[ -x "$bin" ]] || die "$bin not found: apt-get install chromium"

exec nsenter --net="$ns" -- "$bin" "$@"
