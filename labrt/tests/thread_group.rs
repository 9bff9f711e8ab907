//! The kill check (`labrt::thread_group`): after its group is stopped, a thread
//! that wakes from a timer and goes on waiting is a straggler; time inside
//! a labrpc call is excused, for the thread and the threads it starts.
//! Each test runs on real threads, and again in the simulation through
//! `the_same_in_the_simulation`.

use std::panic::Location;
use std::sync::atomic::{AtomicBool, Ordering};

use labrt::channel;
use labrt::sync::Arc;
use labrt::thread;
use labrt::thread_group::{self, Group};
use labrt::time::{Duration, sleep};

const GRACE: Duration = Duration::from_secs(1);

/// A flag the test sets when it is done with a thread.
fn flag() -> (Arc<AtomicBool>, Arc<AtomicBool>) {
    let flag = Arc::new(AtomicBool::new(false));
    (flag.clone(), flag)
}

/// Starts thread `name`, which naps `nap` at a time until `seen` is set.
fn napper(name: &str, nap: Duration, seen: Arc<AtomicBool>) -> thread::JoinHandle<()> {
    thread::spawn_named(name, move || {
        while !seen.load(Ordering::Relaxed) {
            sleep(nap);
        }
    })
}

#[test]
fn a_thread_that_checks_killed_is_no_straggler() {
    let peer = Group::new("server 0");
    let (killed, seen) = flag();
    let ticker = peer.run(|| napper("raft-0-ticker", Duration::from_millis(300), seen));
    sleep(Duration::from_millis(100));
    peer.stop();
    killed.store(true, Ordering::Relaxed);
    sleep(GRACE * 2);
    assert!(ticker.is_finished());
    assert!(peer.check(GRACE).is_empty());
    ticker.join().unwrap();
}

#[test]
fn a_ticker_that_ignores_killed_is_a_straggler() {
    let peer = Group::new("server 1 (start 0)");
    let (done, seen) = flag();
    let ticker = peer.run(|| napper("raft-1-ticker", Duration::from_millis(100), seen));
    peer.stop();
    sleep(GRACE + Duration::from_millis(600));
    let stragglers = peer.check(GRACE);
    done.store(true, Ordering::Relaxed);
    ticker.join().unwrap();

    assert_eq!(stragglers.len(), 1, "{stragglers:?}");
    let s = &stragglers[0];
    assert_eq!(s.thread, "raft-1-ticker");
    assert!(s.late > GRACE, "{s:?}");
    assert!(s.woke_from.file().ends_with("group.rs"), "{s:?}");
    assert!(s.waiting.starts_with("sleeping at "), "{s:?}");
    let findings = labrt::discipline::findings().join("\n");
    assert!(
        findings.contains("'raft-1-ticker' of server 1 (start 0) still ran")
            && findings.contains("check killed() and return"),
        "{findings}"
    );
    labrt::discipline::reset();
}

#[test]
fn time_in_a_call_is_excused_for_the_caller_and_its_threads() {
    let peer = Group::new("server 2");
    let (done, seen) = flag();
    let (tx, rx) = channel::unbounded::<()>();
    let (started, start) = channel::unbounded();
    let caller = peer.run(|| {
        thread::spawn_named("raft-2-heartbeat", move || {
            start.recv().unwrap();
            {
                // A call the network holds for 1.5 s, as labrpc does: its
                // own sleep is the call's, not a timer of the thread's.
                let _call = labrt::discipline::calling(
                    "Raft.AppendEntries",
                    Duration::from_secs(7),
                    Location::caller(),
                );
                sleep(GRACE + Duration::from_millis(500));
            }
            let child = thread::spawn_named("raft-2-reply", move || {
                sleep(Duration::from_millis(100));
                let _ = rx.recv();
            });
            sleep(Duration::from_millis(100));
            while !seen.load(Ordering::Relaxed) {
                sleep(Duration::from_millis(10));
            }
            child.join().unwrap();
        })
    });
    peer.stop();
    started.send(()).unwrap();
    sleep(GRACE + Duration::from_millis(800));

    assert!(peer.check(GRACE).is_empty(), "{:?}", peer.check(GRACE));
    // Both woke about 0.1 s "late": the 1.5 s of the call do not count.
    let all = peer.stragglers(Duration::ZERO);
    let mut names: Vec<&str> = all.iter().map(|s| s.thread.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["raft-2-heartbeat", "raft-2-reply"], "{all:?}");
    assert!(
        all.iter().all(|s| s.late < Duration::from_millis(600)),
        "{all:?}"
    );
    done.store(true, Ordering::Relaxed);
    drop(tx);
    caller.join().unwrap();
}

#[test]
fn threads_started_outside_belong_to_no_group() {
    let peer = Group::new("server 3");
    let (done, seen) = flag();
    let handler = peer.run(|| {
        thread_group::outside(|| napper("labrpc-handler", Duration::from_millis(100), seen))
    });
    peer.stop();
    sleep(GRACE + Duration::from_millis(500));
    assert!(peer.stragglers(Duration::ZERO).is_empty());
    done.store(true, Ordering::Relaxed);
    handler.join().unwrap();
}

#[test]
fn the_same_in_the_simulation() {
    if labrt::sim::enabled() {
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--test-threads=1", "--skip", "the_same_in_the_simulation"])
        .env("LAB_SIM", "1")
        .env("LAB_SEED", "3")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "LAB_SIM=1:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
