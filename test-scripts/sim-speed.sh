#!/usr/bin/env bash
# How fast the deterministic simulation runs the labs: seeds 1..SEEDS of
# every test of each of MIT's suites in test-scripts/labs.txt (lab 2's
# raft_test, lab 3's kvraft_test, lab 4A's shardctrler_test and 4B's
# shardkv_test; a lab with a suite per part is reported by part), in a release
# build, each seed a process that runs all of the lab's tests (each test
# seeded with that seed), WORKERS processes at a time. Prints the wall time
# and seeds per second for each lab, and any failing seed with the command
# that replays it.
#
# usage: test-scripts/sim-speed.sh [SEEDS [WORKERS]]   (make sim-speed SEEDS=100 P=2)
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-100}
workers=${2:-2}
case "$seeds$workers" in *[!0-9]*) echo "usage: $0 [SEEDS [WORKERS]] (whole numbers)" >&2; exit 2 ;; esac
# The step cost, as the replay commands must carry it (labrt checks its range).
step=""
if [ -n "${LAB_SIM_STEP+set}" ]; then
    [[ $LAB_SIM_STEP =~ ^\ *[0-9]+\ *(us|µs|ms)\ *$ ]] || {
        echo "sim-speed: LAB_SIM_STEP must be a whole number of us or ms (e.g. 50us), got \"$LAB_SIM_STEP\"" >&2
        exit 2
    }
    step="LAB_SIM_STEP=$(tr -d ' ' <<<"$LAB_SIM_STEP") "
    echo "== ${step% }: each scheduling point takes that much virtual time"
fi

echo "== building the lab tests (release)"
# lab, package and target of each suite of the table but the hardening ones;
# the lab is named with its parts (4A, 4B) when it has a suite per part.
suites=$(awk '!/^[ \t]*(#|$)/ && $1 !~ /\+$/ {
        k++; lab[k] = $1; parts[k] = $2; package[k] = $3; target[k] = $4; rows[$1]++ }
    END { for (i = 1; i <= k; i++) print (rows[lab[i]] > 1 ? lab[i] parts[i] : lab[i]), package[i], target[i] }' \
    test-scripts/labs.txt)
packages=$(awk '{ printf " -p %s", $2 }' <<<"$suites")
# shellcheck disable=SC2086 # one word per package flag
json=$(cargo test --release --no-run $packages --message-format=json 2>/dev/null)
# A copy of each binary runs, so that a rebuild during a long run (cargo
# replaces the file in place) cannot swap code under it.
copies=$(mktemp -d "${CARGO_TARGET_DIR:-target}/sim-speed.XXXXXX")
trap 'rm -rf "$copies"' EXIT
binary() {
    local built
    built=$(grep -o "\"executable\":\"[^\"]*/$1-[0-9a-f]*\"" <<<"$json" | head -1 | cut -d'"' -f4)
    [ -x "$built" ] && cp "$built" "$copies/$1" && echo "$copies/$1"
}

status=0
while read -r number package target; do
    bin=$(binary "$target") || true
    [ -x "$bin" ] || { echo "sim-speed: no $target binary was built" >&2; exit 2; }
    tests=$("$bin" --list 2>/dev/null | grep -c ': test$')
    failed=$(mktemp)
    start=$(date +%s.%N)
    seq 1 "$seeds" | xargs -P "$workers" -I{} sh -c \
        'LAB_SIM=1 LAB_SEED={} "$1" --test-threads=1 -q >/dev/null 2>&1 || echo {} >>"$2"' \
        _ "$bin" "$failed"
    end=$(date +%s.%N)
    awk -v s="$start" -v e="$end" -v n="$seeds" -v t="$tests" -v lab="$number" -v w="$workers" 'BEGIN {
        printf "lab %s: %d seeds of its %d tests in %.1f s wall, %d at a time: %.1f seeds/s\n",
               lab, n, t, e - s, w, n / (e - s) }'
    if [ -s "$failed" ]; then
        status=1
        for seed in $(sort -n "$failed"); do
            echo "  FAILED seed $seed: LAB_SIM=1 ${step}LAB_SEED=$seed cargo test -p $package --test $target"
        done
    fi
    rm -f "$failed"
done <<<"$suites"
exit $status
