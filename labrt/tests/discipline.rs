//! The lock-discipline checker (`labrt::discipline`): each classic mistake,
//! written small, and the report it gets, on real threads and in the
//! simulation. Every fixture runs in a child process of its own (this test
//! binary again, with `--exact`), so that the findings, the process-wide
//! lock orders and `LAB_SIM` are the fixture's alone.

use std::process::Command;

use labrt::channel;
use labrt::sync::{Arc, Condvar, Mutex, MutexGuard};
use labrt::thread;
use labrt::time::{Duration, sleep};

/// Runs fixture `test` in a child process, in the simulation if `sim`;
/// returns its exit status's success and its stdout and stderr together.
fn run_fixture(test: &str, sim: bool) -> (bool, String) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env("DISCIPLINE_FIXTURE", "1")
        .env("LAB_SIM", if sim { "1" } else { "0" })
        .env("LAB_SEED", "1")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// Whether this process runs a fixture (else the fixture returns at once).
fn fixture() -> bool {
    std::env::var_os("DISCIPLINE_FIXTURE").is_some()
}

/// Ends a fixture: prints the findings between markers.
fn print_findings() {
    println!(
        "FINDINGS\n{}END",
        labrt::discipline::warning().unwrap_or_default()
    );
}

/// The findings a fixture printed, checked in both modes: each of `want` is
/// in the block, which has exactly `count` findings.
fn check(test: &str, count: usize, want: &[&str]) {
    for sim in [false, true] {
        let (ok, text) = run_fixture(test, sim);
        assert!(ok, "{test} (sim {sim}) failed:\n{text}");
        let block = text
            .split("FINDINGS\n")
            .nth(1)
            .and_then(|t| t.split("END").next())
            .unwrap_or_else(|| panic!("{test} (sim {sim}) printed no findings:\n{text}"));
        let lines = block.lines().filter(|l| l.starts_with("  - ")).count();
        assert_eq!(lines, count, "{test} (sim {sim}):\n{block}");
        for w in want {
            assert!(
                block.contains(w),
                "{test} (sim {sim}): no {w:?} in\n{block}"
            );
        }
        // The quoted report, for whoever reads the test's output.
        println!(
            "{test}, {}:\n{block}",
            if sim { "LAB_SIM=1" } else { "real threads" }
        );
    }
}

#[test]
fn lock_across_a_rendezvous_send_is_reported() {
    check(
        "fixture_apply_under_lock",
        1,
        &[
            "'raft-0-applier' sent on a rendezvous channel (bounded(0), like the apply channel) \
             at labrt/tests/discipline.rs:",
            "while holding the Mutex locked at labrt/tests/discipline.rs:",
            "(3 times)",
        ],
    );
}

/// The applier holds the Raft lock while it sends on the apply channel.
#[test]
fn fixture_apply_under_lock() {
    if !fixture() {
        return;
    }
    let state = Arc::new(Mutex::new(0u64));
    let (apply_tx, apply_rx) = channel::bounded(0);
    let st = state.clone();
    let applier = thread::spawn_named("raft-0-applier", move || {
        for i in 0..3 {
            let mut s = st.lock();
            *s += 1;
            apply_tx.send(i).unwrap();
        }
    });
    let got: Vec<u64> = apply_rx.iter().collect();
    assert_eq!(got, [0, 1, 2]);
    applier.join().unwrap();
    print_findings();
}

#[test]
fn blocking_without_a_lock_or_with_unlocked_is_fine() {
    check("fixture_clean", 0, &[]);
}

/// What the reference does: release (or `unlocked`) before waiting; a send
/// on a bounded channel with room never waits; a condvar wait with its own
/// lock.
#[test]
fn fixture_clean() {
    if !fixture() {
        return;
    }
    let state = Arc::new((Mutex::new(0u64), Condvar::new()));
    let (apply_tx, apply_rx) = channel::bounded(0);
    let (done_tx, done_rx) = channel::bounded(1);
    let st = state.clone();
    let applier = thread::spawn_named("raft-0-applier", move || {
        for i in 0..3 {
            let mut s = st.0.lock();
            *s += 1;
            MutexGuard::unlocked(&mut s, || apply_tx.send(i).unwrap());
            st.1.notify_all();
        }
        let s = st.0.lock();
        done_tx.send(*s).unwrap();
    });
    let got: Vec<u64> = apply_rx.iter().collect();
    assert_eq!(got, [0, 1, 2]);
    {
        let mut s = state.0.lock();
        while *s < 3 {
            state.1.wait_for(&mut s, Duration::from_millis(10));
        }
    }
    assert_eq!(done_rx.recv().unwrap(), 3);
    applier.join().unwrap();
    sleep(Duration::from_millis(1));
    print_findings();
}

#[test]
fn blocking_ops_under_a_lock_are_each_reported() {
    check(
        "fixture_waits_under_lock",
        4,
        &[
            "'kv-1-handler' waited to receive on a channel at labrt/tests/discipline.rs:",
            "'kv-1-handler' slept (10 ms) at labrt/tests/discipline.rs:",
            "'kv-1-handler' joined a thread at labrt/tests/discipline.rs:",
            "'kv-1-handler' waited on a Condvar at labrt/tests/discipline.rs:",
            "the wait releases only its own Mutex (locked at labrt/tests/discipline.rs:",
        ],
    );
}

/// A handler that holds the server's lock while it waits for its op, in
/// each of the ways there are to wait.
#[test]
fn fixture_waits_under_lock() {
    if !fixture() {
        return;
    }
    let server = Arc::new(Mutex::new(()));
    let other = Arc::new((Mutex::new(false), Condvar::new()));
    let (tx, rx) = channel::unbounded::<u64>();
    let (srv, oth) = (server.clone(), other.clone());
    thread::spawn_named("kv-1-handler", move || {
        let _st = srv.lock();
        rx.recv_timeout(Duration::from_millis(10)).ok();
        sleep(Duration::from_millis(10));
        thread::spawn(|| ()).join().unwrap();
        let mut ready = oth.0.lock();
        oth.1.wait_for(&mut ready, Duration::from_millis(10));
    })
    .join()
    .unwrap();
    drop(tx);
    print_findings();
}

#[test]
fn lock_order_inversion_is_reported_without_a_deadlock() {
    check(
        "fixture_abba",
        1,
        &[
            "potential deadlock (lock-order inversion): 'raft-0-applier' locked the Mutex at \
             labrt/tests/discipline.rs:",
            "and 'raft-0-ticker' locked them the other way round",
        ],
    );
}

/// Two threads take two locks in opposite orders, one after the other (so
/// this run does not deadlock).
#[test]
fn fixture_abba() {
    if !fixture() {
        return;
    }
    let a = Arc::new(Mutex::new(0));
    let b = Arc::new(Mutex::new(0));
    let (a1, b1) = (a.clone(), b.clone());
    thread::spawn_named("raft-0-ticker", move || {
        let _a = a1.lock();
        let _b = b1.lock();
    })
    .join()
    .unwrap();
    thread::spawn_named("raft-0-applier", move || {
        let _b = b.lock();
        let _a = a.lock();
    })
    .join()
    .unwrap();
    print_findings();
}

#[test]
fn a_ring_of_three_lock_orders_is_reported() {
    check(
        "fixture_ring",
        1,
        &[
            "potential deadlock (a ring of 3 lock orders): 'raft-0-applier' locked the Mutex at \
             labrt/tests/discipline.rs:",
            "'raft-0-ticker' locked the Mutex at",
            "'raft-0-heartbeat' locked the Mutex at",
            "3 threads doing these at once wait for each other for ever",
        ],
    );
}

/// Three threads take three locks in a ring of orders (A then B, B then
/// C, C then A), one after the other: no two of them in opposite orders,
/// and this run does not deadlock.
#[test]
fn fixture_ring() {
    if !fixture() {
        return;
    }
    let locks: Vec<Arc<Mutex<u8>>> = (0..3).map(|_| Arc::new(Mutex::new(0))).collect();
    for (i, name) in ["raft-0-ticker", "raft-0-heartbeat", "raft-0-applier"]
        .into_iter()
        .enumerate()
    {
        let (first, then) = (locks[i].clone(), locks[(i + 1) % 3].clone());
        thread::spawn_named(name, move || {
            let _first = first.lock();
            let _then = then.lock();
        })
        .join()
        .unwrap();
    }
    print_findings();
}

#[test]
fn locking_a_mutex_twice_fails_at_once() {
    // The fixture's two lines, found in this file.
    let line_of = |code: &str| {
        1 + include_str!("discipline.rs")
            .lines()
            .position(|l| l.trim() == code)
            .unwrap()
    };
    let want = format!(
        "'raft-2-ticker' locked a Mutex at labrt/tests/discipline.rs:{} that it already holds \
         (locked at labrt/tests/discipline.rs:{}): it would wait for itself for ever",
        line_of("let again = m.lock();"),
        line_of("let st = m.lock();"),
    );
    for sim in [false, true] {
        let (ok, text) = run_fixture("fixture_double_lock", sim);
        assert!(!ok, "sim {sim}: {text}");
        assert!(text.contains(&want), "sim {sim}: no {want:?} in {text}");
        assert!(!text.contains("survived"), "{text}");
        println!("sim {sim}:\n{text}");
    }
}

/// A helper called with the lock held locks it again.
#[test]
fn fixture_double_lock() {
    if !fixture() {
        return;
    }
    let m = Arc::new(Mutex::new(0));
    thread::spawn_named("raft-2-ticker", move || {
        let st = m.lock();
        let term = *st;
        let again = m.lock();
        println!("survived {term} {}", *again);
    })
    .join()
    .unwrap();
    sleep(Duration::from_secs(2));
}
