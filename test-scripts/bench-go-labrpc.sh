#!/usr/bin/env bash
# The Go anchor of labrpc's benchmark: MIT's TestBenchmark (100,000
# sequential RPCs through Go's labrpc) RUNS times, idle and then under the
# load `make bench` uses (BUSY busy processes, default 2 per core), printing
# each round, the median and the worst. Go's sources are MIT's, not ours to
# ship: point GO_LABRPC_DIR at the labrpc directory of a 6.5840 (or 6.824)
# checkout, whose go.mod is one directory up with labgob beside it, e.g.
# src/labrpc of a public 6.5840 repository.
#
# To have the side-by-side in one run, under the same load, in the same
# minutes: `make bench GO_LABRPC_DIR=DIR` (labrpc's bench then runs Go's
# TestBenchmark itself after its own rounds, idle and loaded).
#
# usage: test-scripts/bench-go-labrpc.sh GO_LABRPC_DIR [RUNS [BUSY]]
set -euo pipefail
dir=${1:?usage: $0 GO_LABRPC_DIR [RUNS [BUSY]]}
runs=${2:-5}
busy=${3:-$((2 * $(nproc)))}
case "$runs$busy" in *[!0-9]*) echo "usage: $0 GO_LABRPC_DIR [RUNS [BUSY]] (whole numbers)" >&2; exit 2 ;; esac
[ -f "$dir/labrpc.go" ] || { echo "$0: no labrpc.go in $dir" >&2; exit 2; }
command -v go >/dev/null || { echo "$0: no go on PATH" >&2; exit 2; }

# One test binary, built before any timing, run directly.
bin=$(mktemp -d)/labrpc.test
spinners=()
cleanup() {
    for p in "${spinners[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$(dirname "$bin")"
}
trap cleanup EXIT
(cd "$dir" && go test -c -o "$bin" .)

# Seconds of each run, from its `<duration> for 100000` line.
rounds() {
    local what=$1 i line
    local secs=()
    for ((i = 1; i <= runs; i++)); do
        line=$(cd "$dir" && "$bin" -test.run '^TestBenchmark$' -test.count=1 | grep ' for 100000$') ||
            { echo "$0: TestBenchmark printed no '... for 100000' line" >&2; exit 1; }
        secs+=("$(awk '{ d = $1; m = 0
            if (d ~ /m[0-9]/) { split(d, p, "m"); m = p[1]; d = p[2] }
            if (d ~ /ms$/) s = d / 1e3; else if (d ~ /µs$/) s = d / 1e6; else s = d + 0
            printf "%.3f", m * 60 + s }' <<<"$line")")
    done
    printf '%s\n' "${secs[@]}" | sort -n | awk -v what="$what" -v n="$runs" '
        { s[NR] = $1 }
        END { med = s[int(n / 2) + 1]; worst = s[n]
              printf "%-28s %6.3f s for 100000 RPCs   %6.2f µs/RPC   %9.0f RPCs/s   (rounds %.3f..%.3f s, worst %.1fx the median)\n",
                     what, med, med * 10, 100000 / med, s[1], worst, worst / med }'
}

echo "Go's labrpc TestBenchmark ($dir), median of $runs runs"
rounds "idle"
if [ "$busy" -gt 0 ]; then
    for ((i = 0; i < busy; i++)); do
        sh -c 'while :; do :; done' &
        spinners+=($!)
    done
    rounds "under load ($busy busy)"
fi
