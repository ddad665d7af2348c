#!/usr/bin/env bash
# openroom's test command: ./scripts/test.sh
#
#   1. installs what is missing: Debian packages (chromium ffmpeg coturn iproute2, FFmpeg -dev libraries,
#      a CJK font)
#      and node_modules (npm ci, from package-lock.json)
#   2. go vet ./...               (outside the namespace: may fetch Go modules)
#   3. inside a private network namespace (scripts/netns-run.sh: lo + a veth pair
#      10.99.0.1 <-> 10.99.0.2, no route anywhere else):
#        go test -race -count=1 -p 4 ./...
#        scripts/fuzz.sh           (only with OPENROOM_FUZZTIME set, e.g. 5s per target)
#        npm run test:e2e
#
# Environment:
#   OPENROOM_SKIP_INSTALL=1   don't apt-get / npm ci; just check and fail if missing
#   OPENROOM_SKIP_GO=1        skip go vet and go test (e2e only)
#   OPENROOM_SKIP_E2E=1       skip the browser tests
#   OPENROOM_SKIP_FUZZ=1      skip fuzzing even when OPENROOM_FUZZTIME is set
#   OPENROOM_FUZZTIME         fuzz every target this long after go test (e.g. 5s); unset: no fuzzing
#                             (go test still runs every seed and saved input; scripts/fuzz.sh alone fuzzes)
#   OPENROOM_GO_TEST_ARGS     extra args for go test (e.g. "-run TestRoom -v")
#   OPENROOM_E2E_NETWORK=0    skip the Chromium calls of e2e/network.test.mjs (poor link, recovery,
#                             active speaker: about 90 s)
#   OPENROOM_E2E_MEASURE=1    also run the e2e measurements (glass-to-glass latency, first remote frame x5)
set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
ROOT="$(pwd)"

say() { printf '\n==> %s\n' "$*"; }
die() { printf '\ntest.sh: FAILED: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------
# Phase 2: inside the namespace (re-exec'd below via scripts/netns-run.sh).
if [[ "${1:-}" == "--inside-netns" ]]; then
  [[ "${OPENROOM_NETNS:-}" == "1" ]] || die "--inside-netns given but not inside the namespace"
  say "inside private network namespace: $(ip -br -4 addr | awk '{print $1" "$3}' | tr '\n' ' ')"
  # No network in here: Go must use only what go vet already downloaded.
  export GOPROXY=off GOFLAGS="${GOFLAGS:--mod=readonly}" GOTOOLCHAIN=local
  phase_start=$(date +%s)
  took() { echo "test.sh: $1 took $(( $(date +%s) - phase_start )) s"; phase_start=$(date +%s); }
  if [[ "${OPENROOM_SKIP_GO:-}" != "1" ]]; then
    # -p 4: four test binaries at once on two cores. Many packages spend most of their time
    # waiting on real time (a shaped link, coturn's client, ffmpeg): with two at once the
    # phase took 145 s, with four 106-112 s, every test within its bounds.
    say "go test -race -count=1 -p 4 ./... ${OPENROOM_GO_TEST_ARGS:-}"
    # shellcheck disable=SC2086
    go test -race -count=1 -p 4 ${OPENROOM_GO_TEST_ARGS:-} ./... || die "go test failed (see above)"
    took "go test"
  fi
  # Fuzzing is opt-in (OPENROOM_FUZZTIME=5s, or scripts/fuzz.sh alone): go test above already
  # ran every seed and saved input, and a useful fuzz run does not fit the 20-minute CI budget.
  if [[ -n "${OPENROOM_FUZZTIME:-}" && "${OPENROOM_SKIP_FUZZ:-}" != "1" ]]; then
    say "scripts/fuzz.sh (every fuzz target for $OPENROOM_FUZZTIME)"
    scripts/fuzz.sh || die "fuzzing found a failing input (see above; it is in the package's testdata/fuzz/)"
  else
    say "fuzzing skipped (seeds and saved inputs ran in go test); OPENROOM_FUZZTIME=5s fuzzes each target"
  fi
  if [[ "${OPENROOM_SKIP_E2E:-}" != "1" ]]; then
    # One build for every e2e file (each is its own node process and would link the binary again).
    if [[ -z "${OPENROOM_BIN:-}" ]]; then
      say "go build ./cmd/openroom (once, for every e2e file)"
      mkdir -p /tmp/openroom-e2e
      go build -o /tmp/openroom-e2e/openroom ./cmd/openroom || die "go build ./cmd/openroom failed"
      export OPENROOM_BIN=/tmp/openroom-e2e/openroom
      took "go build"
    fi
    say "npm run test:e2e"
    npm run --silent test:e2e || die "e2e tests failed (see above; server and page logs are in each failure)"
    took "the e2e tests"
  fi
  say "all tests passed"
  exit 0
fi

# ---------------------------------------------------------------------------
# Phase 1: outside. Check and install dependencies.
start=$(date +%s)

as_root() {
  if [[ "$(id -u)" == "0" ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -n "$@"
  else
    die "need root to run: $* (run as root, or install it by hand)"
  fi
}

say "checking tools"
command -v go >/dev/null 2>&1 || die "go not found on PATH (install Go $(sed -n 's/^go //p' go.mod) to /usr/local/go)"
command -v node >/dev/null 2>&1 || die "node not found on PATH (need Node.js >= 20 with npm)"
command -v npm >/dev/null 2>&1 || die "npm not found on PATH (need Node.js >= 20 with npm)"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[[ "$node_major" -ge 20 ]] || die "node $(node --version) is too old: need >= 20 (node --test --test-concurrency)"
echo "go: $(go version)"
echo "node: $(node --version), npm: $(npm --version 2>/dev/null)"

# Debian packages: command -> package
declare -A PKG_OF=(
  [chromium]=chromium
  [ffmpeg]=ffmpeg
  [turnserver]=coturn
  [ip]=iproute2
  [unshare]=util-linux
  [gcc]=gcc # go test -race needs cgo
  [openssl]=openssl # e2e/tls.test.mjs makes a self-signed certificate
  [redis-server]=redis-server # cluster tests run a real Redis
)
missing_pkgs=()
for cmd in chromium ffmpeg turnserver ip unshare gcc openssl redis-server; do
  if ! command -v "$cmd" >/dev/null 2>&1; then
    missing_pkgs+=("${PKG_OF[$cmd]}")
  fi
done
# The mini-program bridge links FFmpeg's audio codecs through cgo.
if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists libavcodec libavutil libswresample 2>/dev/null; then
  missing_pkgs+=(pkg-config libavcodec-dev libavutil-dev libswresample-dev)
fi
# A CJK font, so that names like 李雷 render in the browser tests' screenshots (not boxes).
dpkg -s fonts-wqy-zenhei >/dev/null 2>&1 || missing_pkgs+=(fonts-wqy-zenhei)
# playwright-core drives /usr/bin/chromium by that exact path.
[[ -x /usr/bin/chromium ]] || { [[ " ${missing_pkgs[*]} " == *" chromium "* ]] || missing_pkgs+=(chromium); }

if [[ ${#missing_pkgs[@]} -gt 0 ]]; then
  if [[ "${OPENROOM_SKIP_INSTALL:-}" == "1" ]]; then
    die "missing Debian packages: ${missing_pkgs[*]} (apt-get install ${missing_pkgs[*]})"
  fi
  command -v apt-get >/dev/null 2>&1 || die "missing packages ${missing_pkgs[*]} and no apt-get to install them"
  say "apt-get install ${missing_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Another apt may be running (e.g. a provisioning step): wait for its lock.
  apt_opts=(-y -q -o DPkg::Lock::Timeout=900 -o Acquire::Retries=3)
  [[ " ${missing_pkgs[*]} " == *" chromium "* ]] && missing_pkgs+=(fonts-liberation)
  [[ " ${missing_pkgs[*]} " == *" gcc "* ]] && missing_pkgs+=(libc6-dev)
  apt_retry() { # apt_retry LOG ARGS...: up to 3 tries (another apt may hold a lock)
    local log=$1 try
    shift
    for try in 1 2 3; do
      if as_root apt-get "${apt_opts[@]}" "$@" >"$log" 2>&1; then return 0; fi
      echo "apt-get $1 failed (try $try/3), see $log" >&2
      [[ $try -lt 3 ]] && sleep 20
    done
    tail -30 "$log" >&2
    return 1
  }
  apt_retry /tmp/openroom-apt-update.log update || die "apt-get update failed"
  apt_retry /tmp/openroom-apt-install.log install "${missing_pkgs[@]}" ||
    die "apt-get install ${missing_pkgs[*]} failed"
  for cmd in chromium ffmpeg turnserver ip unshare gcc openssl redis-server; do
    command -v "$cmd" >/dev/null 2>&1 || die "$cmd still missing after apt-get install ${missing_pkgs[*]}"
  done
  echo "installed: ${missing_pkgs[*]}"
fi
echo "chromium: $(/usr/bin/chromium --version 2>/dev/null | head -1)"
echo "ffmpeg: $(ffmpeg -version 2>/dev/null | head -1)"
echo "turnserver: $(dpkg-query -W -f='${Version}' coturn 2>/dev/null || echo present)"

# node_modules from the lockfile (npm ci), unless already installed from this lockfile.
[[ -f package-lock.json ]] || die "package-lock.json missing (it pins playwright-core)"
stamp=node_modules/.package-lock.json
if [[ ! -f "$stamp" || package-lock.json -nt "$stamp" || package.json -nt "$stamp" || ! -d node_modules/playwright-core ]]; then
  if [[ "${OPENROOM_SKIP_INSTALL:-}" == "1" ]]; then
    die "node_modules missing or stale: run npm ci"
  fi
  say "npm ci"
  # playwright-core never downloads a browser; be explicit anyway.
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error || die "npm ci failed"
fi
echo "playwright-core: $(node -p 'require("./node_modules/playwright-core/package.json").version')"

# The mini-program component's own npm project (jest + miniprogram-simulate).
mp_stamp=miniprogram/node_modules/.package-lock.json
if [[ ! -f "$mp_stamp" || miniprogram/package-lock.json -nt "$mp_stamp" || miniprogram/package.json -nt "$mp_stamp" ]]; then
  [[ "${OPENROOM_SKIP_INSTALL:-}" == "1" ]] && die "miniprogram/node_modules missing or stale: run (cd miniprogram && npm ci)"
  say "npm ci (miniprogram)"
  (cd miniprogram && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci in miniprogram/ failed"
fi
if [[ "${OPENROOM_SKIP_MINIPROGRAM:-}" != "1" ]]; then
  say "mini-program component tests (jest)"
  (cd miniprogram && npx jest --ci 2>&1) || die "mini-program component tests failed (see above)"
fi

if [[ "${OPENROOM_SKIP_GO:-}" != "1" ]]; then
  say "go vet ./..."
  go vet ./... || die "go vet failed (see above)"
  # Everything go test needs (test-only modules too) must be in the module
  # cache before we enter the namespace, which has no network.
  go list -deps -test ./... >/dev/null || die "go list -deps -test failed (missing modules?)"
fi

echo "test.sh: checks, installs, jest and go vet took $(( $(date +%s) - start )) s"
say "entering a private network namespace (scripts/netns-run.sh)"
set +e
"$ROOT/scripts/netns-run.sh" "$ROOT/scripts/test.sh" --inside-netns
rc=$?
set -e
echo "test.sh: total $(( $(date +%s) - start )) s"
exit $rc
