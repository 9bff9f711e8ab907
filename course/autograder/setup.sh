#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image,
# from /autograder/source: the raftlab tree that `make autograder` packed
# (the staff tree with the solution regions replaced by their stubs).
#
# It installs a Rust toolchain if there is none, builds the grader, and
# builds the handout's tests once, so that grading a submission compiles
# only the submission (the dependencies are cached in target/grading).
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v cargo >/dev/null && [ -f "$HOME/.cargo/env" ]; then
    . "$HOME/.cargo/env"
fi
if ! command -v cargo >/dev/null; then
    # The workspace's rust-version, the oldest toolchain it builds with.
    toolchain=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml)
    apt-get update
    apt-get install -y --no-install-recommends ca-certificates curl build-essential
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs |
        sh -s -- -y --profile minimal --default-toolchain "$toolchain"
    . "$HOME/.cargo/env"
fi
# bubblewrap is not needed: the grader sandboxes each test with Landlock
# and rlimits (see docs/staff.md).

cargo build --release --locked -p course --bin grade
./target/release/grade --prepare
