//! `labrt::thread::Spin`: it spins while its waits end in time, and stops,
//! but for a probe now and then, once they do not.
//!
//! Whether a wait spun shows in how often it looked at its condition: a
//! wait that does not spin looks once. No labrt thread runs in this test
//! binary, so none takes a core's turn to spin.

use std::cell::Cell;

use labrt::thread::Spin;

/// Runs one wait on `spin` whose condition holds from the `ready_at`-th
/// look on (never, if `None`); returns whether it held and how many looks
/// the wait took.
fn wait(spin: &Spin, ready_at: Option<u32>) -> (bool, u32) {
    let looks = Cell::new(0);
    let done = spin.spin_until(|| {
        looks.set(looks.get() + 1);
        ready_at.is_some_and(|n| looks.get() >= n)
    });
    (done, looks.get())
}

#[test]
fn a_wait_that_ends_in_time_is_spun_and_ends_done() {
    let spin = Spin::new();
    // 20 looks come before the spin first reads the clock: no timing here.
    for _ in 0..100 {
        assert_eq!(wait(&spin, Some(20)), (true, 20));
    }
}

#[test]
fn a_condition_that_already_holds_is_looked_at_once() {
    assert_eq!(wait(&Spin::new(), Some(1)), (true, 1));
}

#[test]
fn waits_that_do_not_end_in_time_stop_the_spinning_but_for_one_probe_in_16() {
    let spin = Spin::new();
    let (done, looks) = wait(&spin, None);
    assert!(
        !done,
        "a condition that never holds cannot end the wait done"
    );
    assert!(looks > 1, "a fresh Spin spins: {looks} look(s)");

    // From now on the score is negative: one wait in 16 probes.
    let spun: Vec<bool> = (0..64).map(|_| wait(&spin, None).1 > 1).collect();
    let probes = spun.iter().filter(|&&s| s).count();
    assert_eq!(
        probes, 4,
        "64 waits after a miss probed {probes} times: {spun:?}"
    );
}

#[test]
fn good_probes_bring_the_spinning_back() {
    let spin = Spin::new();
    wait(&spin, None);
    // Probes that end in time raise the score until every wait spins.
    for _ in 0..16 * 16 {
        wait(&spin, Some(10));
    }
    for _ in 0..20 {
        assert_eq!(wait(&spin, Some(10)), (true, 10), "the spinning came back");
    }
}
