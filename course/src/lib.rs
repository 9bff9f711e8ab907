//! The raftlab course kit, for staff: the student handout generator (the
//! `handout` binary, `make handout`) and the grader (the `grade` binary,
//! `make grade`; points in `course/points.txt`, reports in [`grade`],
//! a grading split over machines and merged in [`shard`]).
//!
//! The handout is the repository as students get it: the files git tracks,
//! with every solution region of the student directories replaced by its
//! stub ([`regions`]), a README written for students, and the staff-only
//! files left out ([`handout`]). `course/check-handout.sh` builds, lints and
//! tests a fresh handout, as CI does; `docs/staff.md` explains the whole.
//!
//! This crate is a tool, not lab code: it never runs in the lab simulation,
//! so it uses `std::fs` and `std::process` directly.

// A tool, not lab code: the workspace's ban on std clocks and threads
// (clippy.toml) is for code the simulation runs.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

pub mod grade;
pub mod handout;
pub mod refusal;
pub mod regions;
pub mod shard;
pub mod stage;
