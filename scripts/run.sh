#!/usr/bin/env bash
# Build and run openroom on its embedded default config (dev mode):
# HTTP on :8080 (open http://localhost:8080), WebRTC on UDP 7882.
# Any arguments are passed to openroom, e.g. ./scripts/run.sh --node-ip 203.0.113.7
set -euo pipefail
cd "$(dirname "$0")/.."

need_go="1.26"
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
  export PATH="/usr/local/go/bin:$PATH"
fi
if ! command -v go >/dev/null 2>&1; then
  echo "run.sh: Go $need_go or newer is missing. Install it (https://go.dev/dl/, or your platform's" >&2
  echo "        package if it is $need_go+) so that 'go' is on PATH, then run this again." >&2
  exit 1
fi
have=$(go env GOVERSION | sed 's/^go//')
if [ "$(printf '%s\n%s\n' "$need_go" "$have" | sort -V | head -1)" != "$need_go" ]; then
  echo "run.sh: Go $have is too old; openroom needs Go $need_go or newer." >&2
  exit 1
fi
# The mini-program bridge links FFmpeg's audio codecs (libavcodec, libswresample) through cgo.
codec_pkgs="gcc pkg-config libavcodec-dev libavutil-dev libswresample-dev"
if ! command -v gcc >/dev/null 2>&1 || ! command -v pkg-config >/dev/null 2>&1 ||
  ! pkg-config --exists libavcodec libavutil libswresample 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "run.sh: installing $codec_pkgs ..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null && apt-get install -y -q $codec_pkgs >/dev/null ||
      { echo "run.sh: apt-get install $codec_pkgs failed" >&2; exit 1; }
  else
    echo "run.sh: missing build dependencies. Install them, then run this again:" >&2
    echo "        sudo apt-get install $codec_pkgs" >&2
    exit 1
  fi
fi
mkdir -p bin
echo "run.sh: building bin/openroom ..." >&2
go build -o bin/openroom ./cmd/openroom
exec ./bin/openroom "$@"
