#!/usr/bin/env bash
# Mutation testing of the reference solution with cargo-mutants (https://mutants.rs):
# how much of the solution regions (docs/staff.md) of raft/src/raft.rs (lab 2)
# or kvraft/src/{server,client,common}.rs (lab 3) the lab tests notice when it
# is broken. Staff only: a handout has no regions, and the script says so. Each mutant (one small change: a body
# replaced by a default value, an operator swapped, a condition negated, ...)
# is built and the lab's test suite is run on it in the deterministic
# simulation (LAB_SIM=1), once per seed of MUTANTS_SEEDS (default "1 2"), each
# seed one process running the whole suite one test at a time. A mutant is
# caught if a test fails, missed if every seed passes, a timeout if the run
# outlasts --timeout (a hang), unviable if it does not compile.
#
# --lab names a lab of test-scripts/labs.txt (2, 3), or the part of one whose
# parts are suites of their own (4A, 4B: lab 4's controller and sharded
# service are two packages): its package, student modules and suites come
# from there. --suite mit runs MIT's tests only
# (raft_test, kvraft_test, ...); --suite all adds the lab's hardening suite
# (its `2+` line), if it has one.
# --shard K/N runs the K-th of N round-robin shards (K from 0), for CI
# matrices. --list only lists the mutants of the regions (of the shard).
# Other arguments go to cargo-mutants (e.g. -j 2, --timeout 120).
#
# Results: target/mutants/<lab>-<suite>[-shardK]/mutants.out (cargo-mutants'
# caught.txt, missed.txt, timeout.txt, unviable.txt, outcomes.json and a log
# per mutant); the script ends with the counts, the mutation score
# caught / (caught + missed + timeout) and the missed mutants. It exits 0 when
# the run completed, whatever the score; non-zero on a usage error or when
# the unmutated tree fails its own tests (the baseline).
#
# usage: test-scripts/mutants.sh [--lab 2|3|4A|4B] [--suite mit|all] [--shard K/N] [--list] [cargo-mutants args]
#        (make mutants LAB=2 SUITE=all SHARD=0/8)
set -euo pipefail
cd "$(dirname "$0")/.."

# The version this script was written against: the mutant names it filters on
# (file:line:col: ...) and the $CARGO hook below are cargo-mutants 27's.
version=27.1.0

usage() {
    sed -n 's/^# usage: //p; s/^#        (make/       (make/p' "$0" >&2
    exit 2
}
lab=2 suite=mit shard='' list=0 extra=()
while [ $# -gt 0 ]; do
    case $1 in
        --lab) [ $# -ge 2 ] || usage; lab=$2; shift 2 ;;
        --lab=*) lab=${1#*=}; shift ;;
        --suite) [ $# -ge 2 ] || usage; suite=$2; shift 2 ;;
        --suite=*) suite=${1#*=}; shift ;;
        --shard) [ $# -ge 2 ] || usage; shard=$2; shift 2 ;;
        --shard=*) shard=${1#*=}; shift ;;
        --list) list=1; shift ;;
        -h | --help) usage ;;
        *) extra+=("$1"); shift ;;
    esac
done
# The lab's line in the labs table: lab, parts, package, MIT's target, modules;
# with a part (4B), the line of the lab that lists that part.
number=$lab part=''
if [[ $lab =~ ^[0-9]+[A-Za-z]$ ]]; then
    number=${lab%?} part=$(tr '[:lower:]' '[:upper:]' <<<"${lab: -1}")
    lab=$number$part
fi
row=$(awk -v lab="$number" -v part="$part" \
    '!/^[ \t]*(#|$)/ && $1 == lab && (part == "" || index($2, part))' test-scripts/labs.txt)
[ -n "$row" ] || { echo "mutants: no lab '$lab' in test-scripts/labs.txt" >&2; usage; }
if [ "$(wc -l <<<"$row")" -gt 1 ]; then
    parts=$(awk '{ print $1 $2 }' <<<"$row" | paste -sd' ')
    echo "mutants: lab $lab has a suite per part ($parts); name one of them" >&2
    usage
fi
read -r _ _ package mit modules <<<"$row"
files=()
for m in $modules; do files+=("$package/src/$m.rs"); done
timeout=$([ "$number" = 2 ] && echo 60 || echo 120)
case $suite in mit | all) ;; *) echo "mutants: --suite is mit or all, not '$suite'" >&2; usage ;; esac
if [ -n "$shard" ] && ! [[ $shard =~ ^[0-9]+/[0-9]+$ && ${shard%/*} -lt ${shard#*/} ]]; then
    echo "mutants: --shard is K/N with 0 <= K < N, not '$shard'" >&2
    usage
fi
seeds=${MUTANTS_SEEDS:-1 2}
case "$seeds" in *[!0-9\ ]* | "") echo "mutants: MUTANTS_SEEDS is a list of whole numbers" >&2; exit 2 ;; esac

if ! command -v cargo-mutants >/dev/null; then
    echo "== cargo-mutants is not installed: cargo install --locked cargo-mutants --version $version"
    cargo install --locked cargo-mutants --version "$version"
fi
installed=$(cargo-mutants mutants --version | awk '{print $2}')
[ "$installed" = "$version" ] ||
    echo "mutants: warning: cargo-mutants $installed, written for $version" >&2

# The test targets: MIT's, and with --suite all the hardening tests. cargo
# test takes --test NAME as often as needed; it is given as a cargo argument
# (-C, for every cargo command cargo-mutants runs) rather than as a test
# argument (after --, for the test phase only) so that the build phase
# builds only these binaries too.
targets=("$mit")
if [ "$suite" = all ]; then
    hardening=$(awk -v lab="$number+" -v part="$part" \
        '!/^[ \t]*#/ && $1 == lab && (part == "" || index($2, part)) { print $4 }' test-scripts/labs.txt)
    if [ -n "$hardening" ]; then
        targets+=("$hardening")
    else
        echo "mutants: warning: lab $lab has no hardening suite; --suite all runs $mit only" >&2
    fi
fi
name=$lab-$suite${shard:+-shard${shard%/*}}
out=${CARGO_TARGET_DIR:-target}/mutants/$name
mkdir -p "$out"
out=$(cd "$out" && pwd)

# Only the solution regions. cargo-mutants' --file picks the lab's files;
# within them, a mutant is kept if the line its span starts on lies inside a
# region (between BEGIN and END; the stub's lines are comments, which have no
# mutants). The regions are read from the files, the mutants listed with
# --list (names are "file:line:col: what"), and the kept ones given back as
# one --re per file, "^file:(line|line|...):", matched against those names.
# That is exact on line numbers and needs nothing but the names. (--in-diff
# with a diff synthesized over the regions would also work in 27.1, but it
# keeps every mutant whose span touches a region, such as a whole function
# body replaced when only part of it is solution, and it checks the diff's
# text against the source.)
# (The markers are spelled in two pieces: the handout's own test fails on any
# handed-out file that holds one, and test-scripts/ is handed out.)
regions() { # file -> "first last" lines inside each region
    local marker=SOLUTION
    awk -v begin="^[ \t]*// $marker BEGIN[ \t]*\$" -v end="^[ \t]*// $marker END[ \t]*\$" '
        $0 ~ begin { start = NR + 1 }
        $0 ~ end && start { print start, NR - 1; start = 0 }' "$1"
}
file_args=()
for f in "${files[@]}"; do file_args+=(--file "$f"); done
common=(--package "$package" "${file_args[@]}")
all=$(cargo-mutants mutants --list "${common[@]}")
filters=()
for f in "${files[@]}"; do
    lines=$(awk -v file="$f" -v ranges="$(regions "$f" | tr '\n' ';')" '
        BEGIN { n = split(ranges, r, ";"); for (i = 1; i < n; i++) { split(r[i], b, " "); lo[i] = b[1]; hi[i] = b[2] } }
        { split($0, p, ":") }
        p[1] == file { for (i = 1; i < n; i++) if (p[2] >= lo[i] && p[2] <= hi[i]) { print p[2]; break } }
    ' <<<"$all" | sort -un | paste -sd'|')
    [ -n "$lines" ] && filters+=(--re "^${f//./\\.}:($lines):")
done
if [ ${#filters[@]} -eq 0 ]; then
    echo "mutants: no mutants in the solution regions of ${files[*]}" >&2
    exit 1
fi
common+=("${filters[@]}")
total=$(cargo-mutants mutants --list "${common[@]}" | wc -l)
echo "== lab $lab: $(wc -l <<<"$all") mutants in ${files[*]}, $total in the solution regions"

sharding=()
[ -n "$shard" ] && sharding=(--shard "$shard" --sharding round-robin)
if [ "$list" = 1 ]; then
    cargo-mutants mutants --list "${common[@]}" "${sharding[@]}" "${extra[@]}"
    exit 0
fi

# The test command. cargo-mutants runs cargo test once per mutant, with one
# environment; a run per seed needs more. It calls cargo through $CARGO when
# that is set (cargo sets it for `cargo mutants`, so cargo-mutants is run here
# by its own name), so $CARGO is this wrapper: a test run (cargo test without
# --no-run) runs once per seed in the simulation and stops at the first
# failing seed; every other cargo command goes through unchanged. The
# wrapper lives in the output directory, which cargo-mutants does not copy
# into its scratch tree.
real_cargo=$(command -v cargo)
cat >"$out/cargo" <<EOF
#!/usr/bin/env bash
# Written by test-scripts/mutants.sh: cargo for cargo-mutants, a test run once per seed.
if [ "\${1:-}" = test ] && ! printf '%s\n' "\$@" | grep -qx -- --no-run; then
    for seed in $seeds; do
        echo "== LAB_SIM=1 LAB_SEED=\$seed"
        LAB_SIM=1 LAB_SEED=\$seed RUST_TEST_THREADS=1 "$real_cargo" "\$@" || exit
    done
    exit 0
fi
exec "$real_cargo" "\$@"
EOF
chmod +x "$out/cargo"

target_args=()
for t in "${targets[@]}"; do target_args+=(--cargo-arg="--test=$t"); done
echo "== lab $lab, suite $suite (${targets[*]}), seeds $seeds${shard:+, shard $shard}: output in $out/mutants.out"
# cargo-mutants passes what follows its -- to cargo test: here "-- --test-threads=1"
# for the test binaries, unless the extra arguments have a -- of their own
# (the wrapper's RUST_TEST_THREADS=1 keeps one test at a time then).
test_args=(-- -- --test-threads=1)
for a in "${extra[@]}"; do [ "$a" = -- ] && test_args=(); done
# The timeout per mutant: lab 2's suite takes under a second a seed here, lab
# 3's about two; a mutant that hangs is cut there (and counted as a timeout).
timeout_args=(--timeout "$timeout")
for a in "${extra[@]}"; do case $a in -t | --timeout | --timeout=*) timeout_args=() ;; esac; done
status=0
# The dev profile, not --profile release: the suite runs in well under a
# second either way, so the build decides, and dev's incremental build of raft
# and tester is the faster (0.5 s against 5 s for a one-line change to
# raft.rs, measured); it also keeps the debug assertions and overflow checks
# the labs are tested with, so an index that underflows panics.
CARGO=$out/cargo cargo-mutants mutants "${common[@]}" "${sharding[@]}" \
    --test-tool cargo "${target_args[@]}" "${timeout_args[@]}" \
    --output "$out" "${extra[@]}" "${test_args[@]}" || status=$?
# 2: some mutants were missed, 3: some timed out. Both are results.
case $status in 0 | 2 | 3) ;; *) echo "mutants: cargo-mutants failed (exit $status)" >&2; exit $status ;; esac

results=$out/mutants.out
count() { if [ -s "$results/$1.txt" ]; then wc -l <"$results/$1.txt"; else echo 0; fi; }
caught=$(count caught) missed=$(count missed) timeouts=$(count timeout) unviable=$(count unviable)
echo
echo "== lab $lab, suite $suite${shard:+, shard $shard}: $caught caught, $missed missed, $timeouts timeout, $unviable unviable"
awk -v c="$caught" -v m="$missed" -v t="$timeouts" 'BEGIN {
    if (c + m + t > 0) printf "mutation score: %d / %d = %.1f%%\n", c, c + m + t, 100 * c / (c + m + t) }'
if [ "$missed" -gt 0 ]; then
    echo "missed (file:line:col: the change; diffs and logs in $results):"
    sed 's/^/  /' "$results/missed.txt"
fi
