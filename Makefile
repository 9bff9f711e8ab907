# raftlab — the commands students and staff type.
#
# Lab tests are timing-sensitive and run one at a time (RUST_TEST_THREADS=1,
# set in .cargo/config.toml). Lint is separate from the test targets, so a
# student's test run never fails on formatting.

CARGO ?= cargo

.PHONY: help build test lint bench clean test-2 test-2a test-2b test-2c test-2d test-one

# The Raft tests, in one test binary; a name filter picks a part or a test.
RAFT_TESTS = $(CARGO) test -p raft --test raft_test

help:
	@echo "make test-2a         the 2A tests (likewise test-2b, test-2c, test-2d)"
	@echo "make test-2          all of lab 2"
	@echo "make test-one T=NAME one test by its name, e.g. T=initial_election_2a"
	@echo "make test    run every test of the workspace"
	@echo "make lint    cargo fmt --check and clippy with warnings as errors"
	@echo "make bench   labrt overhead and labrpc throughput figures"

build:
	$(CARGO) build --workspace --all-targets

test:
	$(CARGO) test --workspace

test-2:
	$(RAFT_TESTS) _2

test-2a test-2b test-2c test-2d:
	$(RAFT_TESTS) _$(subst test-,,$@)

test-one:
	@test -n "$(T)" || { echo "usage: make test-one T=<test name>, e.g. T=initial_election_2a" >&2; exit 2; }
	$(RAFT_TESTS) -- --exact $(T)

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

bench:
	$(CARGO) bench -p labrt -p labrpc

clean:
	$(CARGO) clean
