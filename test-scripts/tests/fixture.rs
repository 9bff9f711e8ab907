//! A stand-in for a lab test binary, which dstest's and the runner's own
//! tests run as the children they manage: one test passes, one fails, one
//! hangs, one fails only for odd seeds. The part suffixes (`_9a`, `_9b`,
//! `_9c`) exercise part selection without touching a real lab.
//!
//! Each test misbehaves only when `DSTEST_FIXTURE` is set, as those tests
//! set it for their children; under a plain `cargo test` all four pass at
//! once.

// A test process stands in for a lab, but is no lab code: it never runs under
// labrt's simulation.
#![allow(clippy::disallowed_methods)]

use std::time::Duration;

/// `Some(LAB_SEED)` when armed by `DSTEST_FIXTURE`, after printing the seed
/// as a lab test's failure message would show it.
fn armed_seed() -> Option<u64> {
    std::env::var_os("DSTEST_FIXTURE")?;
    let seed = std::env::var("LAB_SEED").map_or(0, |s| s.parse().expect("LAB_SEED is a u64"));
    println!("fixture: LAB_SEED={seed}");
    Some(seed)
}

#[test]
fn pass_9a() {
    armed_seed();
}

#[test]
fn fail_9a() {
    if let Some(seed) = armed_seed() {
        eprintln!("fixture: about to fail");
        panic!("fixture failure (LAB_SEED={seed})");
    }
}

#[test]
fn hang_9b() {
    if armed_seed().is_some() {
        loop {
            std::thread::sleep(Duration::from_secs(1));
        }
    }
}

#[test]
fn seeded_9c() {
    if let Some(seed) = armed_seed() {
        assert!(seed % 2 == 0, "odd seed (LAB_SEED={seed})");
    }
}
