#!/usr/bin/env bash
# Which tests kill which classic mistakes (staff only). Each MISTAKE is a
# patch of course/mistakes/ (its name, or the path of any patch) applied to
# a copy of this tree (the files git tracks or would track, as they are in
# the work tree, so uncommitted work is measured with it) in
# target/mistakes/NAME/tree/; the release test binaries of
# the lab(s) the tests live in are built there and copied to
# target/mistakes/NAME/bin/; then each TEST runs for seeds 1..SEEDS in the
# deterministic simulation (LAB_SIM=1, one process per run, a time limit per
# run; LAB_SIM_STEP, if set, is the simulated machine's speed), WORKERS runs
# at a time. A run that fails, panics or times out kills
# the mistake. Prints a table: mistake, test, killed/seeds, kill rate, and a
# command that replays one killing seed; the log of every failed run is kept
# in target/mistakes/NAME/logs/.
#
# --reference runs the same tests on the unpatched tree: a failure there is a
# false alarm (or a bug of the reference), and makes every kill rate of that
# test suspect. --all-tests LAB (a lab of test-scripts/labs.txt: 2, 3, 4A,
# 4B, or its package: raft, kvraft, shardctrler, shardkv) runs every test of
# the lab's graded test file. A test is run by whichever test binary of the
# labs' packages lists it (raft_test, hardening_test or any other target
# under raft/tests/; likewise for the other packages), the patched package's
# first. Release builds have no overflow checks: an index that underflows
# wraps, and then fails as an index out of bounds.
#
# All copies share one target directory, target/mistakes-target, so the
# dependencies and the framework are built once; only what a patch changes is
# rebuilt. (Cargo's build hashes do not depend on where a workspace is, so
# the copies share their compiled crates: every file of a copy is dated by
# when its content was last seen to change, in target/mistakes-target/versions,
# so that cargo rebuilds exactly what differs from the last copy it built.)
# The machine is shared: run it with nice, and keep SEEDS x TESTS modest.
#
# usage: course/kill-rate.sh [-s SEEDS] [-p WORKERS] [-t SECONDS] [--reference]
#            [--all-tests LAB] [MISTAKE...] [-- TEST...]
#        course/kill-rate.sh --list
# e.g.   nice course/kill-rate.sh -s 20 commit-old-term-by-count -- figure8_2c figure8_unreliable_2c
#        nice course/kill-rate.sh -s 5 --reference kv-stale-read -- persist_partition_unreliable_3a
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
catalogue=$root/course/mistakes
work=$root/target/mistakes
export CARGO_TARGET_DIR=$root/target/mistakes-target

usage() {
    sed -n '/^# usage:/,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0" >&2
    echo "  SEEDS (default 10), WORKERS (default 2) and SECONDS (per run, default 300) are whole numbers;" >&2
    echo "  MISTAKE is a name from --list or a .patch file; at least one MISTAKE or --reference," >&2
    echo "  and at least one TEST or --all-tests LAB." >&2
    exit 2
}
die() { echo "kill-rate: $*" >&2; exit 2; }

seeds=10 workers=2 limit=300 reference=0 all_lab="" all_target=""
mistakes=() tests=()
while [ $# -gt 0 ]; do
    case $1 in
        -s | -p | -t | --all-tests)
            [ $# -ge 2 ] || usage
            case $1 in
                -s) seeds=$2 ;;
                -p) workers=$2 ;;
                -t) limit=$2 ;;
                --all-tests) all_lab=$2 ;;
            esac
            shift 2 ;;
        --reference) reference=1; shift ;;
        -l | --list)
            for p in "$catalogue"/*.patch; do
                printf '%-28s %s\n' "$(basename "$p" .patch)" \
                    "$(sed -n 's/^# Mistake: //p' "$p" | head -1)"
            done
            exit 0 ;;
        -h | --help) usage ;;
        --) shift; tests=("$@"); break ;;
        -*) echo "kill-rate: unknown option $1" >&2; usage ;;
        *) mistakes+=("$1"); shift ;;
    esac
done
for n in "$seeds" "$workers" "$limit"; do
    case $n in '' | *[!0-9]* | 0) echo "kill-rate: not a whole number > 0: '$n'" >&2; usage ;; esac
done
# The labs' packages, and the graded suite's target of each lab (rows
# "lab parts package target ..." of the labs table; 2+ and 3+ are hardening
# suites, not graded ones).
labs_table=$root/test-scripts/labs.txt
all_packages=$(awk '!/^#/ && NF >= 4 && !seen[$3]++ { print $3 }' "$labs_table")
if [ -n "$all_lab" ]; then
    # Exactly one graded suite: "4" names two (4A's and 4B's).
    row=$(awk -v want="$all_lab" '!/^#/ && NF >= 4 && $1 !~ /\+$/ &&
        (want == $3 || want == $1 || toupper(want) == $1 $2) { n++; row = $3 " " $4 }
        END { if (n == 1) print row }' "$labs_table")
    [ -n "$row" ] || { echo "kill-rate: --all-tests takes one lab or package of $labs_table (2, 3, 4A, 4B, raft, ...), not '$all_lab'" >&2; usage; }
    all_lab=${row% *} all_target=${row#* }
fi
[ ${#mistakes[@]} -gt 0 ] || [ $reference = 1 ] || usage
[ ${#tests[@]} -gt 0 ] || [ -n "$all_lab" ] || usage
for t in "${tests[@]}"; do
    case $t in '' | -* | *[!A-Za-z0-9_:]*) die "not a test name: '$t'" ;; esac
done

# The subjects: "name<TAB>patch" ("reference" has no patch).
subjects=()
[ $reference = 1 ] && subjects+=("reference	")
for m in "${mistakes[@]}"; do
    if [ -f "$catalogue/$m.patch" ]; then
        subjects+=("$m	$catalogue/$m.patch")
    elif [ -f "$m" ] && [[ $m == *.patch ]]; then
        subjects+=("$(basename "$m" .patch)	$(cd "$(dirname "$m")" && pwd)/$(basename "$m")")
    else
        die "no mistake '$m' (course/kill-rate.sh --list shows the catalogue)"
    fi
done

mkdir -p "$work" "$CARGO_TARGET_DIR"
lock=$CARGO_TARGET_DIR/.kill-rate.lock

# copy NAME PATCH: writes target/mistakes/NAME/tree from the work tree, with
# the patch applied, and dates its files (see the header).
copy() {
    local name=$1 patch=$2 tree=$work/$1/tree
    rm -rf "$tree"
    mkdir -p "$tree"
    git -C "$root" ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' f; do if [ -f "$root/$f" ]; then printf '%s\0' "$f"; fi; done |
        tar -C "$root" --null -T - -cf - | tar -C "$tree" -xf -
    if [ -n "$patch" ] &&
        ! patch -d "$tree" -p1 -s -N --no-backup-if-mismatch -r - <"$patch" >"$work/$name/patch.log" 2>&1; then
        cat "$work/$name/patch.log" >&2
        die "$patch does not apply to this tree"
    fi
    local versions=$CARGO_TARGET_DIR/versions now
    now=$(date +%s.%N)
    touch "$versions"
    (cd "$tree" && find . -type f -print0 | sort -z | xargs -0 sha256sum) |
        awk -v now="$now" -v old="$versions" '
            BEGIN { while ((getline l < old) > 0) { split(l, f, " "); p = substr(l, length(f[1]) + length(f[2]) + 3); h[p] = f[1]; t[p] = f[2] } }
            { p = substr($0, 67); print $1, ($1 == h[p] ? t[p] : now), p; seen[p] = 1 }
            END { for (p in h) if (!(p in seen)) print h[p], t[p], p }' >"$versions.new"
    mv "$versions.new" "$versions"
    (cd "$tree" && while read -r _ time path; do
        if [ -f "$path" ]; then touch -m -d "@$time" "$path"; fi
    done <"$versions")
}

# build NAME PACKAGE: builds the package's test binaries in the copy and
# copies them to target/mistakes/NAME/bin; prints their paths.
build() {
    local name=$1 package=$2 json exe base
    json=$work/$name/build-$package.json
    if ! (cd "$work/$name/tree" && cargo test --release --no-run -p "$package" --tests \
        --message-format=json-render-diagnostics) >"$json" 2>"$work/$name/build-$package.log"; then
        grep -v '^ *\(Compiling\|Blocking\|Finished\|Executable\)' "$work/$name/build-$package.log" | tail -40 >&2
        die "$name: the $package tests do not build (log: ${work#"$root"/}/$name/build-$package.log)"
    fi
    mkdir -p "$work/$name/bin"
    grep -o '"executable":"[^"]*"' "$json" | cut -d'"' -f4 | while read -r exe; do
        base=$(basename "$exe")
        base=${base%-*}
        # A fresh file, not one rewritten in place: a run of the last
        # invocation may still be executing the old one.
        cp "$exe" "$work/$name/bin/.$base.new" && mv "$work/$name/bin/.$base.new" "$work/$name/bin/$base"
        echo "$work/$name/bin/$base $package"
    done
}

started=$(date +%s)
results=$(mktemp -d "$work/run.XXXXXX")
trap 'rm -rf "$results"' EXIT
rows=()
for subject in "${subjects[@]}"; do
    name=${subject%%	*} patch=${subject#*	}
    # The packages to look in for the tests, the patched lab's first.
    patched=""
    [ -n "$patch" ] && patched=$(sed -n 's|^+++ b/\([^/]*\)/.*|\1|p' "$patch" | head -1)
    packages="$patched $(printf '%s\n' "$all_packages" | grep -vx "$patched" | tr '\n' ' ')"
    [ -n "$all_lab" ] && packages=$all_lab
    declare -A where=() dir=()
    wanted=("${tests[@]}")
    echo "== $name: building ($(date +%T))" >&2
    exec {fd}>"$lock"
    flock "$fd"
    copy "$name" "$patch"
    for package in $packages; do
        missing=()
        for t in "${wanted[@]}"; do [ -n "${where[$t]:-}" ] || missing+=("$t"); done
        [ -z "$all_lab" ] && [ ${#missing[@]} -eq 0 ] && break
        build "$name" "$package" >"$work/$name/binaries"
        while read -r bin pkg; do
            if [ -n "$all_lab" ] && [ "$(basename "$bin")" = "$all_target" ]; then
                mapfile -t -O ${#wanted[@]} wanted < <("$bin" --list 2>/dev/null | sed -n 's/: test$//p')
            fi
            while read -r t; do
                [ -n "${where[$t]:-}" ] && continue
                where[$t]=$bin dir[$t]=$work/$name/tree/$pkg
            done < <("$bin" --list 2>/dev/null | sed -n 's/: test$//p')
        done <"$work/$name/binaries"
    done
    exec {fd}>&-
    for t in "${wanted[@]}"; do
        [ -n "${where[$t]:-}" ] || die "no test binary of $packages lists a test '$t'"
    done
    echo "== $name: running ${#wanted[@]} test(s) x $seeds seed(s), $workers at a time ($(date +%T))" >&2
    mkdir -p "$work/$name/logs"
    for t in "${wanted[@]}"; do rm -rf "$work/$name/logs/$t".*; done
    out=$results/$name
    : >"$out"
    for t in "${wanted[@]}"; do
        for seed in $(seq 1 "$seeds"); do
            printf '%s\0' "$t" "$seed" "${where[$t]}" "${dir[$t]}"
        done
    done | LOGS=$work/$name/logs LIMIT=$limit OUT=$out xargs -0 -n 4 -P "$workers" bash -c '
        t=$1 seed=$2 bin=$3 dir=$4 log=$LOGS/$1.$2.log status=0
        (cd "$dir" && LAB_SIM=1 LAB_SEED=$seed LAB_OUTPUT_DIR=$LOGS/$1.$2.pages \
            timeout -k 10 "$LIMIT" "$bin" --exact "$t" --test-threads=1 -q) >"$log" 2>&1 || status=$?
        if [ $status = 0 ]; then rm -rf "$log" "$LOGS/$1.$2.pages"; fi
        # One short line per run, appended: the workers do not mix them.
        echo "$t $seed $status" >>"$OUT"' _
    for t in "${wanted[@]}"; do
        killed=$(awk -v t="$t" '$1 == t && $3 != 0' "$out" | wc -l)
        ran=$(awk -v t="$t" '$1 == t' "$out" | wc -l)
        first=$(awk -v t="$t" '$1 == t && $3 != 0 { print $2 }' "$out" | sort -n | head -1)
        replay="-" why=""
        if [ -n "$first" ]; then
            replay="(cd ${dir[$t]#"$root"/} && LAB_SIM=1 ${LAB_SIM_STEP:+LAB_SIM_STEP=$LAB_SIM_STEP }LAB_SEED=$first $(realpath --relative-to="${dir[$t]}" "${where[$t]}") --exact $t --test-threads=1)"
            status=$(awk -v t="$t" -v s="$first" '$1 == t && $2 == s { print $3 }' "$out")
            if [ "$status" = 124 ] || [ "$status" = 137 ]; then
                why="timed out after $limit s"
            else
                # A panic's message, else the tester's own report (it
                # names the seed), else the exit status.
                log=$work/$name/logs/$t.$first.log
                why=$(awk 'p { print; exit } /panicked at/ { p = 1 }' "$log")
                [ -n "$why" ] || why=$(awk '/LAB_SEED=/ { print; exit }' "$log")
                [ -n "$why" ] || why="exit status $status"
                why=${why:0:110}
            fi
        fi
        rows+=("$name	$t	$killed/$ran	$(awk -v k="$killed" -v n="$ran" 'BEGIN { printf "%.0f%%", n ? 100 * k / n : 0 }')	$replay	$why")
    done
    unset where dir
done

echo
{
    printf 'MISTAKE\tTEST\tKILLED\tRATE\tREPLAY (one killing seed)\n'
    for r in "${rows[@]}"; do printf '%s\n' "${r%	*}"; done
} | column -t -s '	'
echo
echo "first failure of each killed row:"
for r in "${rows[@]}"; do
    IFS='	' read -r name t _ _ _ why <<<"$r"
    [ -n "$why" ] && printf '  %s / %s: %s\n' "$name" "$t" "$why"
done
printf '%s\n' "${rows[@]}" >"$work/last-run.tsv"
echo "($(($(date +%s) - started)) s; logs of failed runs in ${work#"$root"/}/NAME/logs/; this table in ${work#"$root"/}/last-run.tsv)"
