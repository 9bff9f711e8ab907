//! The watchdog's limit on a test's cleanup: a server whose `kill()` waits
//! for a lock that is never let go (here a ticker holds it and sleeps, as a
//! Raft that calls RPCs under its lock does behind ever more waiters) used
//! to hang the run after the test's verdict, with the time limit already
//! disarmed. The fixture runs in a child process (this binary again), in
//! both modes; in real time it takes the limit's 10 seconds.

mod support;

use labrt::sync::{Arc, Mutex};
use labrt::thread;
use labrt::time::{Duration, sleep};
use tester::common::{CLEANUP_LIMIT, Watchdog, print_begin};
use tester::fatal;

/// The fixture's exit code and output, in the simulation or in real time,
/// with the test failing first or not.
fn run_fixture(sim: bool, fail: bool) -> (Option<i32>, String) {
    support::run_child(
        "fixture_kill_waits_for_ever",
        &[
            ("CLEANUP_FIXTURE", if fail { "fail" } else { "pass" }),
            ("LAB_SIM", if sim { "1" } else { "0" }),
        ],
    )
}

#[test]
fn a_kill_that_never_returns_ends_the_run_at_the_cleanup_limit() {
    for (sim, fail) in [(true, false), (true, true), (false, true)] {
        let (code, text) = run_fixture(sim, fail);
        let case = format!("sim {sim}, failed first {fail}: {text}");
        assert_eq!(code, Some(if sim { 1 } else { 2 }), "{case}");
        assert!(
            text.contains(
                "the test's cleanup (killing the servers, which calls their kill(), and \
                 shutting the network) took longer than 10 seconds (LAB_SEED=1)"
            ),
            "{case}"
        );
        // The failure that came first, which libtest would have printed at
        // the test's end, had it come.
        let failure = "the test had failed: thread 'fixture_kill_waits_for_ever' panicked at \
                       tester/tests/cleanup_limit.rs:";
        assert_eq!(text.contains(failure), fail, "{case}");
        if fail {
            assert!(
                text.contains(":\none(102) failed to reach agreement (LAB_SEED=1)\n"),
                "{case}"
            );
        }
        // Where the cleanup waits, and who holds the lock it wants.
        assert!(
            text.contains("the threads at the cleanup's limit"),
            "{case}"
        );
        assert!(text.contains("'raft-0-ticker'"), "{case}");
        assert!(!text.contains("cleanup returned"), "{case}");
    }
}

/// Cleans up when dropped: at the test's end, or while its failure unwinds
/// (as a lab config's handle does).
struct Cleanup<'a> {
    watchdog: &'a Watchdog,
    server: Arc<Mutex<i32>>,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        // The server's kill() takes its lock.
        self.watchdog.cleanup(|| {
            let _st = self.server.lock();
        });
    }
}

/// A "test" whose one server's kill() waits for a lock its ticker keeps;
/// with `CLEANUP_FIXTURE=fail` the test fails first.
#[test]
fn fixture_kill_waits_for_ever() {
    let Some(mode) = std::env::var_os("CLEANUP_FIXTURE") else {
        return;
    };
    let watchdog = Watchdog::start();
    print_begin("Test (2A): a kill() that waits for a lock held for ever");
    let state = Arc::new(Mutex::new(0));
    let held = state.clone();
    let (locked, is_locked) = labrt::channel::bounded(1);
    thread::spawn_named("raft-0-ticker", move || {
        let _st = held.lock();
        locked.send(()).unwrap();
        loop {
            sleep(Duration::from_millis(100));
        }
    });
    is_locked.recv().unwrap();
    let cleanup = Cleanup {
        watchdog: &watchdog,
        server: state,
    };
    if mode == "fail" {
        fatal!("one({}) failed to reach agreement", 102);
    }
    drop(cleanup);
    // Not reached: the watchdog ends the process first.
    println!("cleanup returned within {CLEANUP_LIMIT:?}");
}
