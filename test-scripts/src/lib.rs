//! The course's test scripts: `dstest`, which runs lab tests many times in
//! parallel, and `dslogs`, which pretty-prints their topic logs (Rust ports
//! of the Python scripts 6.824 students use). The library holds the part
//! other tools reuse: [`runner`], which builds test binaries and runs one
//! test per process, and [`labs`], which says which files are the student's.
//! [`shard`] splits (test, run) pairs over machines (`--shard K/N`).
//! [`gate`] checks the student files for what lab code may not use (`unsafe`,
//! `std::process`, `static`, ...) before a grader builds them.

// These are tools that drive test processes from the outside; they never run
// under labrt's simulation, so the workspace ban on std threads and clocks
// (clippy.toml) does not apply to them.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

pub mod gate;
pub mod labs;
pub mod runner;
pub mod sandbox;
pub mod shard;
