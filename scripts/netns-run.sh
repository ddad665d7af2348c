#!/usr/bin/env bash
# netns-run.sh CMD [ARGS...]
#
# Runs CMD inside a fresh, private network namespace that has:
#   - lo up (127.0.0.1, ::1)
#   - a veth pair with BOTH ends inside the namespace:
#       veth0 10.99.0.1/24   veth1 10.99.0.2/24
#     (browsers and pion leave loopback out of ICE candidates, so WebRTC tests
#     need a non-loopback address; both ends live in the namespace, so nothing
#     can leave it)
#   - no default route: any address outside 127.0.0.0/8 and 10.99.0.0/24 is
#     unreachable (ENETUNREACH), so no test can send a packet off this machine.
#
# Exports to CMD:
#   OPENROOM_NETNS=1  OPENROOM_TEST_IP=10.99.0.1  OPENROOM_TEST_IP2=10.99.0.2
#
# If OPENROOM_NETNS=1 is already set (we are inside such a namespace), just
# runs CMD. Needs root (or CAP_SYS_ADMIN + CAP_NET_ADMIN) and iproute2.
set -euo pipefail

die() { echo "netns-run: $*" >&2; exit 2; }

if [[ $# -eq 0 ]]; then
  die "usage: $0 CMD [ARGS...]"
fi

if [[ "${OPENROOM_NETNS:-}" == "1" ]]; then
  exec "$@"
fi

if [[ "${1:-}" == "--netns-inner" ]]; then
  shift
  # We are now in the fresh namespace created by unshare below.
  ip link set lo up
  ip link add veth0 type veth peer name veth1
  # IPv4 only on the pair: fewer ICE candidates, no IPv6 router solicitations.
  for dev in veth0 veth1; do
    echo 1 >"/proc/sys/net/ipv6/conf/$dev/disable_ipv6" 2>/dev/null || true
  done
  ip addr add 10.99.0.1/24 dev veth0
  ip addr add 10.99.0.2/24 dev veth1
  ip link set veth0 up
  ip link set veth1 up
  # Wait (max ~5 s) until both ends have carrier, so the addresses are usable.
  for _ in $(seq 1 50); do
    if ip -o link show veth0 | grep -q LOWER_UP && ip -o link show veth1 | grep -q LOWER_UP; then
      break
    fi
    sleep 0.1
  done
  # Sanity: nothing but lo and the veth pair, and no default route.
  if ip route show default | grep -q .; then
    die "unexpected default route inside the namespace"
  fi
  export OPENROOM_NETNS=1
  export OPENROOM_TEST_IP=10.99.0.1
  export OPENROOM_TEST_IP2=10.99.0.2
  # Nothing in the namespace can reach a proxy anyway; make sure tools don't try.
  unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
  export no_proxy='*' NO_PROXY='*'
  exec "$@"
fi

command -v unshare >/dev/null 2>&1 || die "unshare not found (apt-get install util-linux)"
command -v ip >/dev/null 2>&1 || die "ip not found (apt-get install iproute2)"

self="$(readlink -f "${BASH_SOURCE[0]}")"
if [[ "$(id -u)" == "0" ]]; then
  exec unshare --net -- "$self" --netns-inner "$@"
fi
# Not root: try an unprivileged user namespace (maps us to root inside).
if unshare --user --map-root-user --net true 2>/dev/null; then
  exec unshare --user --map-root-user --net -- "$self" --netns-inner "$@"
fi
die "cannot create a network namespace: run as root (unshare -n needs CAP_SYS_ADMIN) or enable unprivileged user namespaces"
