//! What labrt's wrappers cost over the types they wrap (real mode).
//!
//! Run with `cargo bench -p labrt` (or `make bench`). Each figure is the
//! median of 7 rounds; the ratio column is labrt / wrapped.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::hint::black_box;
use std::time::Instant;

const OPS: u32 = 2_000_000;
const ROUNDS: usize = 7;

fn median_ns_per_op(mut f: impl FnMut()) -> f64 {
    let mut samples: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..OPS {
                f();
            }
            start.elapsed().as_nanos() as f64 / f64::from(OPS)
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[ROUNDS / 2]
}

fn compare(what: &str, labrt: impl FnMut(), wrapped: impl FnMut()) {
    let ours = median_ns_per_op(labrt);
    let theirs = median_ns_per_op(wrapped);
    println!(
        "{what:<34} labrt {ours:7.2} ns   wrapped {theirs:7.2} ns   ratio {:.3}",
        ours / theirs
    );
}

fn main() {
    println!("labrt overhead, median of {ROUNDS} rounds of {OPS} operations");

    let ours = labrt::sync::Mutex::new(0u64);
    let theirs = parking_lot::Mutex::new(0u64);
    compare(
        "Mutex lock + increment + unlock",
        || *ours.lock() += 1,
        || *theirs.lock() += 1,
    );

    let ours = labrt::sync::Condvar::new();
    let theirs = parking_lot::Condvar::new();
    compare(
        "Condvar notify_one (no waiter)",
        || {
            black_box(ours.notify_one());
        },
        || {
            black_box(theirs.notify_one());
        },
    );

    let (tx, rx) = labrt::channel::unbounded();
    let (ctx, crx) = crossbeam_channel::unbounded();
    compare(
        "unbounded send + recv",
        || {
            tx.send(1u64).unwrap();
            black_box(rx.recv().unwrap());
        },
        || {
            ctx.send(1u64).unwrap();
            black_box(crx.recv().unwrap());
        },
    );

    compare(
        "Instant::now",
        || {
            black_box(labrt::time::Instant::now());
        },
        || {
            black_box(std::time::Instant::now());
        },
    );

    use rand::{Rng, SeedableRng};
    let theirs = parking_lot::Mutex::new(rand::rngs::StdRng::seed_from_u64(1));
    compare(
        "random_range(0..1000)",
        || {
            black_box(labrt::rand::random_range(0..1000u32));
        },
        || {
            black_box(theirs.lock().random_range(0..1000u32));
        },
    );
}
