# raftlab — the commands students and staff type.
#
# Lab tests are timing-sensitive and run one at a time (RUST_TEST_THREADS=1,
# set in .cargo/config.toml). Lint is separate from the test targets, so a
# student's test run never fails on formatting.

CARGO ?= cargo

.PHONY: help build test lint bench clean

help:
	@echo "make test    run every test of the workspace"
	@echo "make lint    cargo fmt --check and clippy with warnings as errors"
	@echo "make bench   labrt overhead and labrpc throughput figures"

build:
	$(CARGO) build --workspace --all-targets

test:
	$(CARGO) test --workspace

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

bench:
	$(CARGO) bench -p labrt -p labrpc

clean:
	$(CARGO) clean
