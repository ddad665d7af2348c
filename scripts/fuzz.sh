#!/usr/bin/env bash
# fuzz.sh: run every Go fuzz target of the repository for a short, bounded time.
#
#   scripts/fuzz.sh                         every target, 5 s each
#   OPENROOM_FUZZTIME=1m scripts/fuzz.sh    longer
#   scripts/fuzz.sh FuzzFLV                 only targets whose name contains FuzzFLV
#
# Targets are found by grep (func FuzzXxx(f *testing.F) in *_test.go), so new
# ones are picked up. go test takes one -fuzz target per run, so each runs on
# its own: go test -run '^$' -fuzz '^FuzzXxx$' -fuzztime T -parallel 2 ./pkg
# (plain go test ./... already runs every seed and testdata/fuzz input as a
# regression test). A failing input the fuzzer finds is written to
# pkg/testdata/fuzz/FuzzXxx/: fix the bug and commit the file as a regression
# case. The caller's GOFLAGS and GOPROXY (e.g. GOPROXY=off) are used as set:
# nothing is downloaded here.
#
# Environment:
#   OPENROOM_FUZZTIME          -fuzztime per target (default 5s; "10000x" counts executions)
#   OPENROOM_FUZZMINIMIZETIME  -fuzzminimizetime (default 100x). Go's default, 60 s, is spent
#                              shrinking each new corpus entry: a 5 s run would then fuzz
#                              for a fraction of a second.
#   OPENROOM_FUZZPARALLEL      fuzzing workers (default 2)
set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

fuzztime="${OPENROOM_FUZZTIME:-5s}"
minimize="${OPENROOM_FUZZMINIMIZETIME:-100x}"
parallel="${OPENROOM_FUZZPARALLEL:-2}"
filter="${1:-}"

command -v go >/dev/null 2>&1 || { echo "fuzz.sh: go not found on PATH" >&2; exit 2; }

# "pkgdir FuzzName" lines, sorted.
mapfile -t targets < <(
  grep -rE --include='*_test.go' --exclude-dir=node_modules --exclude-dir=.git --exclude-dir=vendor \
    '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' . |
    sed -E 's|^(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\(.*$|\1 \2|' |
    sort -u
)
if [[ -n "$filter" ]]; then
  mapfile -t targets < <(printf '%s\n' "${targets[@]}" | grep -F -- "$filter" || true)
fi
if [[ ${#targets[@]} -eq 0 ]]; then
  echo "fuzz.sh: no fuzz targets found${filter:+ matching $filter}" >&2
  exit 2
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
start=$(date +%s)
failed=()
echo "fuzz.sh: ${#targets[@]} targets, $fuzztime each (-parallel $parallel, -fuzzminimizetime $minimize)"
for t in "${targets[@]}"; do
  dir="${t% *}"
  name="${t#* }"
  t0=$(date +%s)
  rc=0
  go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimize" \
    -parallel "$parallel" "$dir" >"$log" 2>&1 || rc=$?
  execs="$(grep -aoE 'execs: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || true)"
  took=$(($(date +%s) - t0))
  if [[ $rc -eq 0 ]]; then
    result="ok"
  elif ! grep -aq 'Failing input written to' "$log" &&
    grep -a -A1 -E "^--- FAIL: ${name} " "$log" | grep -aqx '    context deadline exceeded' &&
    [[ "$(grep -acE '^\s*--- FAIL' "$log")" == 1 ]]; then
    # go.dev/issue/75804 (Go < 1.27): the coordinator can report its own
    # -fuzztime deadline as a failure when it ends. No input failed.
    result="ok (the run's end was reported as 'context deadline exceeded': go.dev/issue/75804, no failing input)"
  else
    result="FAILED"
    failed+=("$name ($dir)")
  fi
  printf '%-24s %-30s %14s %4ss  %s\n' "$name" "$dir" "${execs:-?} execs" "$took" "$result"
  if [[ "$result" == "FAILED" ]]; then
    grep -avE '^fuzz: elapsed: ' "$log" | sed 's/^/    /' | tail -40
  fi
done

echo "fuzz.sh: ${#targets[@]} targets in $(($(date +%s) - start)) s"
if [[ ${#failed[@]} -gt 0 ]]; then
  printf 'fuzz.sh: FAILED: %s\n' "${failed[@]}" >&2
  echo "fuzz.sh: a failing input is in the package's testdata/fuzz/<target>/: fix the bug, keep the file as a regression case" >&2
  exit 1
fi
echo "fuzz.sh: all passed"
