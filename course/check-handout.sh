#!/usr/bin/env bash
# CI's check of the student handout (made by course/src/handout.rs): a fresh
# handout must build without a warning and pass `make lint`, and its
# `make test-2a` must fail the way a student's first run does, with the
# tester's "expected one leader, got none" (lab 3's basic_3a with "get wrong
# value", lab 4's basic_4a with "wanted 1 groups, got 0"): not with a compile
# error, a panic, or a test that runs into the 120-second limit. Lab 4B's
# stubs can only fail by that limit (their handlers answer WrongLeader, so
# the clerk retries for ever): static_shards_4b must end there, in the
# simulation, with its clerk the thread that waits.
#
# usage: course/check-handout.sh   (from anywhere in the repository)
#
# It writes the handout to target/handout/raftlab and builds it in
# target/handout-target (CARGO_TARGET_DIR overrides), apart from the main
# build so that neither invalidates the other. Exit status 0 if all is as
# expected; 1, with a message saying what deviated, otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=$root/target/handout/raftlab
logs=$root/target/handout
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target/handout-target}

fail() {
    echo "check-handout: FAILED: $*" >&2
    exit 1
}

echo "== check-handout: making the handout in $out"
rm -rf "$out"
cargo run --quiet -p course --bin handout -- --out "$out" \
    || fail "the generator refused the repository (its messages are above)"
cd "$out"

echo "== check-handout: cargo build in the handout (no warning allowed)"
cargo build --locked --workspace --all-targets 2>&1 | tee "$logs/build.log" \
    || fail "the handout does not build (with --locked, also when its Cargo.lock is stale)"
if grep -q '^warning' "$logs/build.log"; then
    fail "the handout builds with warnings (above); the stubs must leave every crate warning-free"
fi

echo "== check-handout: make lint in the handout"
make lint || fail "make lint fails in the handout (above); the stubs must be rustfmt- and clippy-clean"

echo "== check-handout: make test-2a in the handout (the stubs must fail it)"
# Three 2A tests, each failing in about 5 s; the watchdog stops any test at
# 120 s, so a run still going after 420 s has hung past the watchdog.
status=0
timeout --kill-after=10 420 make test-2a >"$logs/test-2a.log" 2>&1 || status=$?
cat "$logs/test-2a.log"
case $status in
    0) fail "make test-2a passed on the stubs" ;;
    124 | 137) fail "make test-2a hung, and was killed after 420 s" ;;
esac
if grep -q "took longer than 120 seconds" "$logs/test-2a.log"; then
    fail "a 2A test ran into the 120-second limit instead of failing"
fi
if ! grep -q "expected one leader, got none" "$logs/test-2a.log"; then
    fail "make test-2a failed, but not with \"expected one leader, got none\" (see above)"
fi
if ! grep -q "^test result: FAILED" "$logs/test-2a.log"; then
    fail "make test-2a did not run its tests to the end (see above)"
fi

echo "== check-handout: make test-one T=basic_3a in the handout (the stubs must fail it)"
status=0
timeout --kill-after=10 180 make test-one T=basic_3a >"$logs/test-3a.log" 2>&1 || status=$?
cat "$logs/test-3a.log"
case $status in
    0) fail "basic_3a passed on the stubs" ;;
    124 | 137) fail "basic_3a hung, and was killed after 180 s" ;;
esac
if ! grep -q "get wrong value" "$logs/test-3a.log"; then
    fail "basic_3a failed, but not with the tester's \"get wrong value\" (see above)"
fi
echo "== check-handout: make test-4a in the handout (the stubs must fail it)"
status=0
timeout --kill-after=10 300 make test-4a >"$logs/test-4a.log" 2>&1 || status=$?
cat "$logs/test-4a.log"
case $status in
    0) fail "make test-4a passed on the stubs" ;;
    124 | 137) fail "make test-4a hung, and was killed after 300 s" ;;
esac
if ! grep -q "wanted 1 groups, got 0" "$logs/test-4a.log"; then
    fail "make test-4a failed, but not with the tester's \"wanted 1 groups, got 0\" (see above)"
fi

echo "== check-handout: make test-one T=static_shards_4b SIM=1 in the handout (the stubs must fail it)"
# The stub server answers every request WrongLeader, so the test's first Put
# retries until the watchdog ends the test. In the simulation the 120 s are
# virtual and pass in seconds (on real threads they would cost CI two
# minutes), and the watchdog names where each thread waits: the test's own
# thread in the clerk's retry loop.
status=0
timeout --kill-after=10 300 make test-one T=static_shards_4b SIM=1 >"$logs/test-4b.log" 2>&1 || status=$?
cat "$logs/test-4b.log"
case $status in
    0) fail "static_shards_4b passed on the stubs" ;;
    124 | 137) fail "static_shards_4b hung in the simulation, and was killed after 300 s" ;;
esac
if ! grep -q "test took longer than 120 seconds" "$logs/test-4b.log"; then
    fail "static_shards_4b failed, but not by the tester's 120-second limit (see above)"
fi
if ! grep -q "'static_shards_4b' blocked .* at shardkv/src/client.rs" "$logs/test-4b.log"; then
    fail "static_shards_4b ran into the limit, but its clerk is not what waited (see above)"
fi
echo "check-handout: OK: the handout builds, passes make lint, and its lab tests fail as they should"
