#!/usr/bin/env bash
# raftlab against a Go solution of MIT's 6.5840 (2023) labs, side by side in
# one run: for each part, the Go test binary and raftlab's test binary run
# the same tests one after the other (alternating which goes first), each
# under /usr/bin/time, so both see the same machine and the same load. Prints
# a markdown table: per lab, the sum of the `Passed` times, the wall time,
# CPU (user + sys) and peak RSS of the test processes; speed_3a and speed_3b
# in ms per op, snapshot_size_3b's time and the operations of 3A's one-client
# test, when those tests ran; each Go against raftlab, with the ratio.
#
# The Go solution is not ours to ship: give the path of a Go lab checkout
# (its src/ directory, with raft/, kvraft/, shardctrler/ and shardkv/, or the
# checkout holding that src/) whose test binaries are built here with
# `go test -c`, or a directory of binaries built that way (raft.test,
# kvraft.test, shardctrler.test, shardkv.test). raftlab's side is this tree
# (or --tree), built as `make test-2a` builds it. See docs/staff.md,
# "Comparing with a Go solution".
set -euo pipefail

usage() {
    cat <<'EOF'
usage: test-scripts/compare-go.sh [options] GO_DIR

GO_DIR   a Go 6.5840 (2023) lab checkout with a complete solution: its src/
         directory (raft/, kvraft/, shardctrler/, shardkv/) or the checkout
         holding src/; or a directory of test binaries built with `go test -c`
         and named raft.test, kvraft.test, shardctrler.test, shardkv.test

options:
  -p, --parts LIST   what to run, comma- or space-separated: labs (2, 3, 4),
                     parts (2A .. 2D, 3A, 3B, 4A, 4B) or single tests by
                     raftlab's name (speed_3a, snapshot_size_3b, join_leave_4b);
                     default: 2,3
  -o, --out FILE     also write the table to FILE
      --order ORDER  alternate (default: Go first on the 1st, 3rd.. part,
                     raftlab first on the others), go-first or raftlab-first
      --per-test     add a table of each test's `Passed` time, Go against raftlab
      --logs DIR     keep every run's output and time report in DIR (default:
                     TARGET/compare-go/<date>, TARGET being CARGO_TARGET_DIR or
                     the tree's target/)
      --tree DIR     the raftlab tree to measure (default: this one)
      --go CMD       the go command that builds GO_DIR's tests (default: go)
      --go-flags F   more flags for `go test -c`, e.g. '-race'
      --table DIR    run nothing: print the table of an earlier run from its
                     outputs in DIR (its --logs); with -o and --per-test
  -h, --help         this text

Runs the tests one at a time on both sides (no `-p`-style parallelism); a
whole lab takes as long as `make test-N` and `go test` together (lab 2: ~10
min, lab 3: ~14 min). Exit status: 0 if every test passed on both sides, 1 if
one failed (the table is still printed), 2 for a usage error.
EOF
}

die() { echo "compare-go: $*" >&2; exit 2; }
bad_usage() { echo "compare-go: $*" >&2; echo "(test-scripts/compare-go.sh --help for the usage)" >&2; exit 2; }

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
parts_arg="2,3"
out_file=""
order="alternate"
per_test=0
logs=""
tree=$(cd "$script_dir/.." && pwd)
go_cmd="go"
go_flags=""
go_dir=""
table_dir=""

need_value() { [[ "$#" -ge 2 && -n "$2" ]] || bad_usage "$1 needs a value"; }
while [ "$#" -gt 0 ]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        -p|--parts) need_value "$@"; parts_arg=$2; shift 2 ;;
        --parts=*) parts_arg=${1#*=}; shift ;;
        -o|--out) need_value "$@"; out_file=$2; shift 2 ;;
        --out=*) out_file=${1#*=}; shift ;;
        --order) need_value "$@"; order=$2; shift 2 ;;
        --order=*) order=${1#*=}; shift ;;
        --per-test) per_test=1; shift ;;
        --logs) need_value "$@"; logs=$2; shift 2 ;;
        --logs=*) logs=${1#*=}; shift ;;
        --tree) need_value "$@"; tree=$2; shift 2 ;;
        --tree=*) tree=${1#*=}; shift ;;
        --go) need_value "$@"; go_cmd=$2; shift 2 ;;
        --go=*) go_cmd=${1#*=}; shift ;;
        --go-flags) [ "$#" -ge 2 ] || bad_usage "--go-flags needs a value"; go_flags=$2; shift 2 ;;
        --go-flags=*) go_flags=${1#*=}; shift ;;
        --table) need_value "$@"; table_dir=$2; shift 2 ;;
        --table=*) table_dir=${1#*=}; shift ;;
        --) shift; break ;;
        -*) bad_usage "unknown option '$1'" ;;
        *) [ -z "$go_dir" ] || bad_usage "one GO_DIR only ('$go_dir', then '$1')"; go_dir=$1; shift ;;
    esac
done
if [ "$#" -gt 0 ]; then
    [[ -z "$go_dir" && "$#" -eq 1 ]] || bad_usage "one GO_DIR only"
    go_dir=$1
fi
case "$order" in alternate|go-first|raftlab-first) ;; *) bad_usage "--order is alternate, go-first or raftlab-first, not '$order'" ;; esac
if [ -n "$out_file" ]; then
    : >>"$out_file" 2>/dev/null || die "cannot write --out '$out_file'"
fi

# --- the table -------------------------------------------------------------------
# The awk program of print_table. Its input: 4 lines a run (lab, side, name,
# the path of its files without .out/.time/.rc).
table_awk() {
    cat <<'AWK'
function ratio(g, r) { return (g > 0 && r != "") ? sprintf("%.2f", r / g) : "" }
# Passed times have one decimal, /usr/bin/time gives two: kept below 10 s.
function secs(x) { return x == "" ? "—" : sprintf("%.1f s", x) }
function fine(x) { return x == "" ? "—" : sprintf(x < 10 ? "%.2f s" : "%.1f s", x) }
function row(label, g, r, gs, rs, rat) {
    printf "| %s | %s | %s | %s |\n", label, gs, rs, rat
}
# Reads one run: its output (titles, Passed lines) and its time report.
function read_run(lab, side, name, base,    line, f, title, n, t, rc) {
    seen[lab] = 1
    if (!((lab, name) in named)) { named[lab, name] = 1; names[lab] = names[lab] (names[lab] == "" ? "" : "+") name }
    title = ""
    while ((getline line < (base ".out")) > 0) {
        if (line ~ /^Test.* \.\.\.$/) { title = line; sub(/ \.\.\.$/, "", title); titles[lab, side]++; continue }
        if (line ~ /^  \.\.\. Passed/) {
            passed[lab, side]++
            n = split(line, f, /[ \t]+/)
            # "", "...", "Passed", "--", secs, peers, rpcs, bytes or ops[, agreements]
            if (n >= 5 && f[4] == "--") {
                t = f[5] + 0; sum[lab, side] += t; timed[lab, side]++
                if (title != "") {
                    ptime[title, side] = t; pops[title, side] = f[n]
                    if (!(title in tseen)) { tseen[title] = 1; torder[++ntitles] = title }
                }
            }
            title = ""
            continue
        }
        if (side == "raftlab" && line ~ /^info: 1000 appends in/) { info[name] = line }
    }
    close(base ".out")
    while ((getline line < (base ".time")) > 0) {
        n = split(line, f, " ")
        if (f[1] == "wall") {
            wall[lab, side] += f[2]; user[lab, side] += f[4]; sys[lab, side] += f[6]
            if (f[8] + 0 > rss[lab, side]) rss[lab, side] = f[8] + 0
        }
    }
    close(base ".time")
    if ((getline rc < (base ".rc")) > 0 && rc != "0") { failed[lab, side]++; anyfail = 1 }
    close(base ".rc")
}
{ rec[++nrec] = $0 }
END {
    for (i = 1; i + 3 <= nrec; i += 4) read_run(rec[i], rec[i + 1], rec[i + 2], rec[i + 3])
    print "| | Go | raftlab | raftlab / Go |"
    print "|---|---|---|---|"
    for (lab = 2; lab <= 4; lab++) {
        if (!(lab in seen)) continue
        label = "lab " lab " (" names[lab] ")"
        for (s = 1; s <= 2; s++) {
            side = s == 1 ? "go" : "raftlab"
            st[side] = sprintf("%d/%d", passed[lab, side] + 0, titles[lab, side] + 0) \
                (failed[lab, side] ? ", FAILED" : "")
        }
        row(label ", `Passed` lines / titles printed", 0, 0, st["go"], st["raftlab"], "")
        if (timed[lab, "go"] || timed[lab, "raftlab"]) {
            g = timed[lab, "go"] ? sum[lab, "go"] : ""; r = timed[lab, "raftlab"] ? sum[lab, "raftlab"] : ""
            row(label ", sum of `Passed` times", g, r, secs(g), secs(r), ratio(g, r))
        }
        g = wall[lab, "go"]; r = wall[lab, "raftlab"]
        row(label ", wall time of the test processes", g, r, fine(g), fine(r), ratio(g, r))
        gc = user[lab, "go"] + sys[lab, "go"]; rcpu = user[lab, "raftlab"] + sys[lab, "raftlab"]
        row(label ", CPU (user + sys)", gc, rcpu,
            fine(gc) " (" fine(sys[lab, "go"]) " sys)",
            fine(rcpu) " (" fine(sys[lab, "raftlab"]) " sys)", ratio(gc, rcpu))
        g = rss[lab, "go"] / 1024; r = rss[lab, "raftlab"] / 1024
        row(label ", peak RSS", g, r, sprintf("%.0f MB", g), sprintf("%.0f MB", r), ratio(g, r))
    }
    # The figures of single tests, from their Passed lines (same titles on both sides).
    split("Test: ops complete fast enough (3A)|Test: ops complete fast enough (3B)", speed, "|")
    split("speed_3a|speed_3b", speedname, "|")
    for (k = 1; k <= 2; k++) {
        t = speed[k]
        if (!((t, "go") in ptime) && !((t, "raftlab") in ptime)) continue
        g = ((t, "go") in ptime) ? ptime[t, "go"] : ""; r = ((t, "raftlab") in ptime) ? ptime[t, "raftlab"] : ""
        row(speedname[k] ", ms per op (`Passed` time / 1000 appends)", g, r,
            g == "" ? "—" : sprintf("%.1f", g), r == "" ? "—" : sprintf("%.1f", r), ratio(g, r))
    }
    t = "Test: snapshot size is reasonable (3B)"
    if (((t, "go") in ptime) || ((t, "raftlab") in ptime)) {
        g = ((t, "go") in ptime) ? ptime[t, "go"] : ""; r = ((t, "raftlab") in ptime) ? ptime[t, "raftlab"] : ""
        row("snapshot_size_3b, `Passed` time", g, r, secs(g), secs(r), ratio(g, r))
    }
    t = "Test: one client (3A)"
    if (((t, "go") in ptime) || ((t, "raftlab") in ptime)) {
        g = ((t, "go") in pops) ? pops[t, "go"] : ""; r = ((t, "raftlab") in pops) ? pops[t, "raftlab"] : ""
        gt = ((t, "go") in ptime) ? sprintf(" in %.1f s", ptime[t, "go"]) : ""
        rt = ((t, "raftlab") in ptime) ? sprintf(" in %.1f s", ptime[t, "raftlab"]) : ""
        row("one client (3A), clerk ops", g, r, (g == "" ? "—" : g gt), (r == "" ? "—" : r rt), ratio(g, r))
    }
    print ""
    printf "Go: %s (%s); raftlab: %s (%s, %s). Started %s on %d cores, load average %s at the start, %s at the end.", \
        go_dir, go_about, tree, rs_commit, rustc_version, started, nproc, load_start, load_end
    for (n in info) printf " raftlab's own figure for %s: %s.", n, substr(info[n], 7)
    printf " Outputs in %s.\n", logs
    if (per_test && ntitles) {
        print ""
        print "| test | Go | raftlab | raftlab / Go |"
        print "|---|---|---|---|"
        for (k = 1; k <= ntitles; k++) {
            t = torder[k]
            g = ((t, "go") in ptime) ? ptime[t, "go"] : ""; r = ((t, "raftlab") in ptime) ? ptime[t, "raftlab"] : ""
            row(t, g, r, secs(g), secs(r), ratio(g, r))
        }
    }
    exit anyfail ? 1 : 0
}
AWK
}

# print_table DIR: the markdown table of the run whose outputs are in DIR:
# DIR/units (a line per run: part, kind, name), DIR/about (key TAB value),
# and for the i-th run NN-name.go.{out,time,rc} and NN-name.raftlab.*. One
# awk reads them all; exits 1 if a run failed.
print_table() {
    local dir=$1 i=0 part kind name side
    local -A about=()
    local -a inputs=()
    while IFS=$'\t' read -r key value; do about[$key]=$value; done <"$dir/about"
    while read -r part kind name; do
        for side in go raftlab; do
            inputs+=("${part:0:1}" "$side" "$name" "$dir/$(printf '%02d' "$i")-$name.$side")
        done
        i=$((i + 1))
    done <"$dir/units"
    printf '%s\n' "${inputs[@]}" | awk -v per_test="$per_test" -v logs="$dir" \
        -v go_dir="${about[go_dir]:-?}" -v go_about="${about[go_about]:-?}" \
        -v tree="${about[tree]:-?}" -v rs_commit="${about[rs_commit]:-?}" \
        -v rustc_version="${about[rustc_version]:-?}" -v started="${about[started]:-?}" \
        -v nproc="${about[nproc]:-?}" -v load_start="${about[load_start]:-?}" \
        -v load_end="${about[load_end]:-? (the run did not finish)}" -f <(table_awk)
}

# Prints the table, and writes it to --out; exits with the table's status.
finish() {
    local status=0 table
    table=$(print_table "$1") || status=$?
    printf '%s\n' "$table"
    if [ -n "$out_file" ]; then printf '%s\n' "$table" >"$out_file"; fi
    exit "$status"
}

if [ -n "$table_dir" ]; then
    [ -z "$go_dir" ] || bad_usage "--table prints an earlier run: no GO_DIR"
    [[ -f "$table_dir/units" && -f "$table_dir/about" ]] \
        || die "--table: '$table_dir' holds no run of compare-go.sh (no units, no about)"
    finish "$table_dir"
fi

[ -n "$go_dir" ] || bad_usage "no GO_DIR: give the Go lab checkout's src/ (or a directory of .test binaries)"

# --- what to run ------------------------------------------------------------
# Each unit is one run per side: "part kind name", kind being `part` (all the
# part's tests) or `test` (one test, by raftlab's name).
[[ -d "$tree" && -f "$tree/test-scripts/labs.txt" ]] \
    || die "--tree: '$tree' is not a raftlab tree (no test-scripts/labs.txt)"
tree=$(cd "$tree" && pwd)
labs_txt="$tree/test-scripts/labs.txt"
labs_awk="$tree/test-scripts/labs.awk"
# The parts raftlab's table lists for a lab (MIT's suites, not the hardening ones).
parts_of_lab() {
    awk -v lab="$1" '!/^[ \t]*(#|$)/ && $1 == lab {
        n = split($2, p, ""); for (i = 1; i <= n; i++) print lab p[i] }' "$labs_txt"
}
units=()
for item in ${parts_arg//,/ }; do
    lower=$(tr '[:upper:]' '[:lower:]' <<<"$item")
    case "$lower" in
        [0-9])
            lab_parts=$(parts_of_lab "$lower")
            [ -n "$lab_parts" ] || bad_usage "no lab '$item' (labs: 2, 3, 4)"
            for p in $lab_parts; do units+=("$p part $p"); done ;;
        [0-9][a-z])
            part=$(tr '[:lower:]' '[:upper:]' <<<"$lower")
            grep -qx "$part" <<<"$(parts_of_lab "${part:0:1}")" || bad_usage "no part '$item' (parts: 2A-2D, 3A, 3B, 4A, 4B)"
            units+=("$part part $part") ;;
        *_[0-9][a-z])
            [[ "$lower" =~ ^[a-z0-9_]+$ ]] || bad_usage "'$item' is not a test name (e.g. speed_3a)"
            part=$(tr '[:lower:]' '[:upper:]' <<<"${lower##*_}")
            grep -qx "$part" <<<"$(parts_of_lab "${part:0:1}")" || bad_usage "test '$item': no part ${part}"
            units+=("$part test $lower") ;;
        *) bad_usage "'$item' is neither a lab (2), a part (2A) nor a test name (speed_3a)" ;;
    esac
done
[ "${#units[@]}" -gt 0 ] || bad_usage "--parts names nothing to run"

# The Go side: MIT's packages, and the `-test.run` pattern of a unit. MIT
# names lab 2 and 3's tests TestXxx2A, and selects a part with `-run 2A`;
# lab 4's tests have no suffix (TestJoinLeave), and a part is its package.
go_package() {
    case "$1" in 2?) echo raft ;; 3?) echo kvraft ;; 4A) echo shardctrler ;; 4B) echo shardkv ;; esac
}
go_pattern() { # part kind name
    if [ "$2" = part ]; then
        case "$1" in 4?) echo '.' ;; *) echo "$1" ;; esac
    else
        local name=$3
        case "$1" in 4?) name=${name%_*} ;; esac
        echo "^Test(?i:${name//_/})\$"
    fi
}

# --- the Go binaries --------------------------------------------------------
[ -e "$go_dir" ] || die "GO_DIR '$go_dir' does not exist"
[ -d "$go_dir" ] || die "GO_DIR '$go_dir' is not a directory"
go_dir=$(cd "$go_dir" && pwd)
needed_go_packages=$(for u in "${units[@]}"; do go_package "${u%% *}"; done | sort -u)
if [ -d "$go_dir/src/raft" ] && [ ! -d "$go_dir/raft" ]; then
    go_dir="$go_dir/src"
fi
go_mode=""
if [ -f "$go_dir/go.mod" ] || [ -d "$go_dir/raft" ]; then
    go_mode=source
    for pkg in $needed_go_packages; do
        compgen -G "$go_dir/$pkg/*_test.go" >/dev/null \
            || die "GO_DIR '$go_dir' has no Go tests in $pkg/ (need a 6.5840 src/ with raft/, kvraft/, shardctrler/, shardkv/)"
    done
    command -v "$go_cmd" >/dev/null || die "no '$go_cmd' command to build GO_DIR's tests (--go /path/to/go)"
else
    go_mode=binaries
    for pkg in $needed_go_packages; do
        [ -x "$go_dir/$pkg.test" ] \
            || die "GO_DIR '$go_dir' is neither a Go lab src/ (no go.mod, no raft/) nor holds an executable $pkg.test (go test -c -o $pkg.test ./$pkg)"
    done
fi

[ -x /usr/bin/time ] || die "/usr/bin/time (GNU time) is needed for CPU and peak RSS (apt-get install time)"
command -v cargo >/dev/null || die "no cargo on PATH"

# --- where the runs go -------------------------------------------------------
target_dir=${CARGO_TARGET_DIR:-$tree/target}
if [ -z "$logs" ]; then
    logs="$target_dir/compare-go/$(date -u +%Y%m%d-%H%M%S)"
fi
mkdir -p "$logs" || die "cannot make the log directory '$logs'"
logs=$(cd "$logs" && pwd)
bins=$(mktemp -d "${TMPDIR:-/tmp}/compare-go.XXXXXX")
trap 'rm -rf "$bins"' EXIT
echo "compare-go: ${#units[@]} runs a side; outputs in $logs" >&2

if [ "$go_mode" = source ]; then
    echo "compare-go: building the Go tests in $go_dir ($("$go_cmd" version))" >&2
    for pkg in $needed_go_packages; do
        # shellcheck disable=SC2086 # go_flags is a list of flags
        (cd "$go_dir" && "$go_cmd" test -c $go_flags -o "$bins/$pkg.test" "./$pkg") \
            || die "go test -c ./$pkg failed in $go_dir"
    done
    go_bin_dir=$bins
else
    go_bin_dir=$go_dir
fi

# raftlab's test binaries, built as `make test-2a` builds them (cargo test's
# profile); copies run, so a rebuild meanwhile cannot swap one under a run.
cargo_suites=$(for u in "${units[@]}"; do
    awk -v goal="${u%% *}" -f "$labs_awk" "$labs_txt" | awk '{ print $2, $4 }'
done | sort -u)
cargo_args=()
while read -r package target; do cargo_args+=(-p "$package" --test "$target"); done <<<"$cargo_suites"
echo "compare-go: building raftlab's tests in $tree" >&2
json=$(cd "$tree" && cargo test --no-run "${cargo_args[@]}" --message-format=json) \
    || die "cargo test --no-run failed in $tree"
while read -r package target; do
    built=$(grep -m1 -o "\"executable\":\"[^\"]*/$target-[0-9a-f]*\"" <<<"$json" | cut -d'"' -f4) || true
    [[ -n "$built" && -x "$built" ]] || die "cargo built no $target binary"
    cp "$built" "$bins/$package.$target"
done <<<"$cargo_suites"

# The raftlab suite of a part: "package target".
rs_suite() { awk -v goal="$1" -f "$labs_awk" "$labs_txt" | awk 'NR == 1 { print $2, $4 }'; }

# Single tests must exist on both sides before anything runs.
for u in "${units[@]}"; do
    read -r part kind name <<<"$u"
    [ "$kind" = test ] || continue
    read -r package target <<<"$(rs_suite "$part")"
    # (The lists are read whole: `| grep -q` could end the writer early, a
    # SIGPIPE that pipefail would report.)
    listed=$("$bins/$package.$target" --list --exact "$name" 2>/dev/null) || true
    grep -q ': test$' <<<"$listed" \
        || die "raftlab has no test '$name' in $package/tests/$target.rs"
    pkg=$(go_package "$part")
    listed=$("$go_bin_dir/$pkg.test" -test.list "$(go_pattern "$part" test "$name")" 2>/dev/null) || true
    grep -q '^Test' <<<"$listed" \
        || die "the Go $pkg tests have no test matching '$(go_pattern "$part" test "$name")' (raftlab's $name)"
done

# --- the runs ------------------------------------------------------------------
# run SIDE UNIT_INDEX: one side of one unit, its output in $logs/<i>-<name>.<side>.out,
# /usr/bin/time's figures in .time, the exit status in .rc.
run_side() {
    local side=$1 i=$2 part kind name base rc=0
    read -r part kind name <<<"${units[$i]}"
    base="$logs/$(printf '%02d' "$i")-$name.$side"
    local tf=(/usr/bin/time -f 'wall %e user %U sys %S maxrss_kb %M' -o "$base.time")
    echo "compare-go: [$((i + 1))/${#units[@]}] $name, $side" >&2
    if [ "$side" = go ]; then
        local pkg
        pkg=$(go_package "$part")
        # Go's binaries, like `go test`, in a directory of their own.
        mkdir -p "$logs/go-cwd"
        (cd "$logs/go-cwd" && "${tf[@]}" "$go_bin_dir/$pkg.test" \
            -test.run "$(go_pattern "$part" "$kind" "$name")" -test.timeout 60m) >"$base.out" 2>&1 || rc=$?
    else
        local package target filter
        read -r package target <<<"$(rs_suite "$part")"
        if [ "$kind" = test ]; then filter=(--exact "$name"); else filter=("_$(tr '[:upper:]' '[:lower:]' <<<"$part")"); fi
        # As cargo test runs them: from the package's directory, one test at a time.
        (cd "$tree/$package" && RUST_TEST_THREADS=1 "${tf[@]}" "$bins/$package.$target" \
            "${filter[@]}" --test-threads=1) >"$base.out" 2>&1 || rc=$?
    fi
    echo "$rc" >"$base.rc"
    if [ "$rc" -ne 0 ]; then
        echo "compare-go:   $side's $name exited with status $rc (see $base.out)" >&2
    fi
}

if [ "$go_mode" = source ]; then
    go_about="$(git -C "$go_dir" rev-parse --short HEAD 2>/dev/null || echo "no git commit"), $("$go_cmd" version)"
else
    go_about="prebuilt test binaries"
fi
rs_commit=$(git -C "$tree" rev-parse --short HEAD 2>/dev/null || echo "?")
if [ -n "$(git -C "$tree" status --porcelain --untracked-files=no 2>/dev/null)" ]; then rs_commit="$rs_commit+changes"; fi
printf '%s\n' "${units[@]}" >"$logs/units"
{
    printf 'go_dir\t%s\n' "$go_dir"
    printf 'go_about\t%s\n' "$go_about"
    printf 'tree\t%s\n' "$tree"
    printf 'rs_commit\t%s\n' "$rs_commit"
    printf 'rustc_version\t%s\n' "$(cd "$tree" && rustc --version 2>/dev/null || echo "rustc ?")"
    printf 'started\t%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
    printf 'nproc\t%s\n' "$(nproc)"
    printf 'load_start\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$logs/about"

for i in "${!units[@]}"; do
    go_first=1
    case "$order" in
        raftlab-first) go_first=0 ;;
        alternate) [ $((i % 2)) -eq 0 ] || go_first=0 ;;
    esac
    if [ "$go_first" -eq 1 ]; then run_side go "$i"; run_side raftlab "$i"
    else run_side raftlab "$i"; run_side go "$i"; fi
done
printf 'load_end\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$logs/about"
finish "$logs"
