# raftlab — the commands students and staff type.
#
# Lab tests are timing-sensitive and run one at a time (RUST_TEST_THREADS=1,
# set in .cargo/config.toml). Lint is separate from the test targets, so a
# student's test run never fails on formatting.

CARGO ?= cargo

.PHONY: help build test lint bench sim-speed clean test-one mutants \
	stress dslogs grade autograder handout check-handout

# SIM=1 runs any test target in labrt's deterministic simulation (virtual
# time; LAB_SEED fixes the whole run).
SIMENV = $(if $(filter 1,$(SIM)),LAB_SIM=1)

# The labs' test suites: one line each in this table (package, test binary,
# parts), which dstest, the grader and the handout read too.
LABS_TABLE = test-scripts/labs.txt

# The tools of test-scripts/ and course/.
TOOL = $(CARGO) run -q -p test-scripts --bin

# make stress: which tests (names, parts like 2A, or pieces of names), how
# many runs of each, how many at once; ARGS passes any other dstest flag.
TESTS ?= 2A
N ?= 10
P ?= 2

# The staff's targets are listed only where course/ is (not in the handout).
help:
	@echo "make test-2a                   the 2A tests (likewise test-2b, test-2c, test-2d)"
	@echo "make test-2                    all of lab 2"
	@echo "make test-3a                   the 3A tests (likewise test-3b); make test-3: all of lab 3"
	@echo "make test-4a                   the 4A tests (likewise test-4b); make test-4: all of lab 4"
	@echo "make test-hardening            tests beyond MIT's, each for a classic mistake (test-hardening-2, -3: one lab)"
	@echo "make test-one T=NAME           one test by its name, e.g. T=initial_election_2a, basic_3a, join_leave_4b"
	@echo "make stress TESTS=2A N=100 P=4 run tests many times in parallel, each with its own seed"
	@echo "  ... SIM=1                    any test target in the deterministic simulation (virtual time)"
	@echo "make dslogs LOG=FILE           pretty-print a LAB_LOG log (ARGS='-c 3' for columns)"
	@echo "make test                      run every test of the workspace"
	@echo "make lint                      the source gate, cargo fmt --check, clippy with warnings as errors"
	@echo "make bench                     labrt overhead, labrpc throughput (idle and under load), linearizability checking times"
	@echo "make sim-speed SEEDS=100 P=2   how many seeds per second the simulation runs of each lab"
	@if [ -d course ]; then \
	    echo "staff:"; \
	    echo "make grade                     grade the lab code in this tree (PARTS='2A 2B', RUNS=k)"; \
	    echo "make grade SUBMISSION=DIR      grade a student's tree (its student files, in a sandbox)"; \
	    echo "make autograder                Gradescope's autograder zip, in target/autograder"; \
	    echo "make handout                   write the student handout to target/handout/raftlab"; \
	    echo "make check-handout             make the handout; build, lint and test it as CI does"; \
	    echo "make mutants LAB=2 SUITE=all SHARD=0/8   mutation testing of the solution regions (LAB=4B: a part; docs/staff.md)"; \
	fi

build:
	$(CARGO) build --workspace --all-targets

# Every test, even after a failure: all failures are reported at the end.
test:
	$(CARGO) test --workspace --no-fail-fast

# make test-2a (a part), test-2 (a lab), test-hardening, test-hardening-2:
# one cargo run per test suite the table lists for it, a name filter picking
# the part (test-4 runs 4A's suite, then 4B's). Every suite runs, even after
# a failure.
test-%:
	@suites=$$(awk -v goal='$*' -f test-scripts/labs.awk $(LABS_TABLE)); \
	if [ -z "$$suites" ]; then \
	    echo "make: no lab, part or suite called '$*': try test-2a, test-3, test-hardening-2 ($(LABS_TABLE))" >&2; \
	    exit 2; \
	fi; \
	printf '%s\n' "$$suites" | { \
	    status=0; \
	    while read -r args; do \
	        echo "$(SIMENV) $(CARGO) test $$args"; \
	        $(SIMENV) $(CARGO) test $$args || status=1; \
	    done; \
	    exit $$status; \
	}

# dstest --which finds the test's lab from the test files (and names the
# closest tests if there is no such test), without building anything.
test-one:
	@test -n "$(T)" || { echo "usage: make test-one T=<test name>, e.g. T=initial_election_2a" >&2; exit 2; }
	@lab=$$($(TOOL) dstest -- --which "$(T)") && \
	    echo "$(SIMENV) $(CARGO) test $$lab -- --exact $(T)" && \
	    $(SIMENV) $(CARGO) test $$lab -- --exact $(T)

stress:
	@$(TOOL) dstest -- $(TESTS) -n $(N) -p $(P) $(if $(filter 1,$(SIM)),--sim) $(ARGS)

dslogs:
	@test -n "$(LOG)" || { echo "usage: make dslogs LOG=<file> [ARGS='-c 3']" >&2; exit 2; }
	@$(TOOL) dslogs -- $(LOG) $(ARGS)

# The gate first: it checks the student files for what lab code may not use
# (unsafe, static, std::process, ...; see docs/lab2-raft.md), as the grader does.
lint:
	$(TOOL) gate
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# labrpc's rounds run twice: idle, then under load (LABRPC_BENCH_LOAD busy
# processes, default 2 per core; 0: none). GO_LABRPC_DIR=DIR (MIT's Go labrpc)
# runs Go's TestBenchmark beside them, idle and under the same load.
bench:
	GO_LABRPC_DIR="$(GO_LABRPC_DIR)" $(CARGO) bench -p labrt -p labrpc -p linearizability

# Seeds per second of the simulation on each lab (SEEDS seeds, P at a time).
SEEDS ?= 100
sim-speed:
	bash test-scripts/sim-speed.sh $(SEEDS) $(P)

clean:
	$(CARGO) clean

# The grader and the student handout (staff only: course/ is not in the handout).
GRADE_FLAGS = $(if $(SUBMISSION),--submission "$(SUBMISSION)") $(if $(PARTS),--parts "$(PARTS)") \
	$(if $(RUNS),--runs $(RUNS))

grade:
	@test -d course || { echo "make grade: staff only (this tree is a handout)" >&2; exit 2; }
	@$(CARGO) run -q -p course --bin grade -- $(GRADE_FLAGS)

# Gradescope's autograder zip: this tree without the solutions, setup.sh and
# run_autograder at its root (see docs/staff.md).
AUTOGRADER = target/autograder

autograder:
	@test -d course || { echo "make autograder: staff only (this tree is a handout)" >&2; exit 2; }
	rm -rf $(AUTOGRADER)
	$(CARGO) run --quiet -p course --bin handout -- --autograder --out $(AUTOGRADER)/source
	cp course/autograder/setup.sh course/autograder/run_autograder $(AUTOGRADER)/source/
	cd $(AUTOGRADER)/source && python3 -m zipfile -c ../autograder.zip $$(ls -A)
	@echo "wrote $(AUTOGRADER)/autograder.zip"

HANDOUT = target/handout/raftlab

# Mutation testing of the reference's solution regions (staff; docs/staff.md):
# LAB (2, 3, 4A, 4B), SUITE (mit or all: with the hardening tests), SHARD=K/N for CI matrices;
# ARGS passes cargo-mutants options, e.g. ARGS='--timeout 120'.
LAB ?= 2
SUITE ?= mit
mutants:
	@test -d course || { echo "make mutants: staff only (this tree is a handout)" >&2; exit 2; }
	bash test-scripts/mutants.sh --lab $(LAB) --suite $(SUITE) $(if $(SHARD),--shard $(SHARD)) $(ARGS)

handout:
	@test -d course || { echo "make handout: staff only (this tree is a handout)" >&2; exit 2; }
	rm -rf $(HANDOUT)
	$(CARGO) run --quiet -p course --bin handout -- --out $(HANDOUT)

check-handout:
	bash course/check-handout.sh
