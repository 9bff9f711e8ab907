#!/usr/bin/env bash
# CI's check of the Gradescope autograder (`make autograder`): unpacks the
# zip into a directory laid out as Gradescope's (source/, submission/,
# results/), runs its setup.sh and run_autograder there as Gradescope would,
# with the reference's lab-2 student files as the submission, and checks
# results.json: full marks on the parts graded (2A, to keep CI short).
#
# usage: course/check-autograder.sh   (from anywhere in the repository)
#
# setup.sh installs a toolchain only where cargo is missing; here it uses
# the one CI has. Exit status 0 if all is as expected; 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
ag=$root/target/autograder-check

fail() {
    echo "check-autograder: FAILED: $*" >&2
    exit 1
}

rm -rf "$ag"
mkdir -p "$ag/source" "$ag/submission/raft/src" "$ag/results"
make autograder
python3 -m zipfile -e target/autograder/autograder.zip "$ag/source"
# Gradescope copies run_autograder out of the source; the zip has no modes
# that python restores, so run both scripts with bash.
cp "$ag/source/run_autograder" "$ag/run_autograder"
cp raft/src/raft.rs "$ag/submission/raft/src/"
# Every lab's student directory: the src/ of each package of the labs table.
mapfile -t student_dirs < <(awk '!/^[ \t]*(#|$)/ { print $3 "/src" }' test-scripts/labs.txt | sort -u)
grep -rq "SOLUTION BEGIN" "${student_dirs[@]/#/$ag/source/}" &&
    fail "the autograder holds the reference solution"

echo "== check-autograder: setup.sh"
(cd "$ag/source" && bash setup.sh) || fail "setup.sh failed (above)"
echo "== check-autograder: run_autograder"
AUTOGRADER_ROOT=$ag GRADE_ARGS="--parts 2A" bash "$ag/run_autograder" ||
    fail "run_autograder failed (above)"
python3 - "$ag/results/results.json" <<'PY' || fail "results.json is not full marks (above)"
import json, sys
results = json.load(open(sys.argv[1]))
tests = results.get("tests", [])
lost = [t["name"] for t in tests if t["score"] != t["max_score"]]
print(f"check-autograder: score {results.get('score')} over {len(tests)} tests")
assert tests and not lost, f"lost points on {lost or 'everything'}: {results.get('output', '')}"
PY
echo "check-autograder: ok"
