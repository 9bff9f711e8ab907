//! labrt's lock-discipline checker sees labrpc calls: a call made while
//! holding a lock is reported at the caller's line, on real threads and in
//! the simulation; the waits inside labrpc are not reported again, and a
//! call without a lock is not reported. Each fixture runs in a child
//! process (this binary again), so that its findings are its own.

use std::process::Command;

use labrpc::{Network, Server, Service};
use labrt::sync::{Arc, Mutex};
use labrt::thread;

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

fn fixture() -> bool {
    std::env::var_os("DISCIPLINE_FIXTURE").is_some()
}

/// A peer's state, a network with a "Raft" server on it (its handler takes
/// a lock of its own), and an end to it.
fn setup() -> (Arc<Mutex<u64>>, labrpc::ClientEnd) {
    let net = Network::new();
    let theirs = Arc::new(Mutex::new(0u64));
    let server = Server::new();
    server.add_service(
        Service::new("Raft").method("RequestVote", move |term: u64| {
            let mut t = theirs.lock();
            *t = (*t).max(term);
            *t
        }),
    );
    net.add_server(2, server);
    let end = net.make_end("end-0-2");
    net.connect("end-0-2", 2);
    net.enable("end-0-2", true);
    (Arc::new(Mutex::new(5u64)), end)
}

#[test]
fn a_call_under_a_lock_is_reported_at_the_callers_line() {
    let line_of = |code: &str| {
        1 + include_str!("discipline.rs")
            .lines()
            .position(|l| l.trim() == code)
            .unwrap()
    };
    let want = format!(
        "'raft-0-ticker' called Raft.RequestVote at labrpc/tests/discipline.rs:{} while holding \
         the Mutex locked at labrpc/tests/discipline.rs:{}; a peer that does not answer holds \
         every thread that needs this lock for up to 7 s (2 times)",
        line_of("let reply: Option<u64> = end.call(\"Raft.RequestVote\", &*st);"),
        line_of("let st = state.lock();"),
    );
    for sim in [false, true] {
        let (ok, text) = run_fixture("fixture_call_under_lock", sim);
        assert!(ok, "sim {sim}: {text}");
        let block = text.split("FINDINGS\n").nth(1).unwrap_or_default();
        let block = block.split("END").next().unwrap_or_default();
        assert!(block.contains(&want), "sim {sim}: no {want:?} in\n{block}");
        assert_eq!(
            block.matches("  - ").count(),
            1,
            "sim {sim}: one finding only (labrpc's own waits are the call's):\n{block}"
        );
        println!(
            "{}:\n{block}",
            if sim { "LAB_SIM=1" } else { "real threads" }
        );
    }
}

/// The ticker asks for a vote while it holds its state's lock, twice; then
/// the right way, with the lock released.
#[test]
fn fixture_call_under_lock() {
    if !fixture() {
        return;
    }
    let (state, end) = setup();
    thread::spawn_named("raft-0-ticker", move || {
        for _ in 0..2 {
            let st = state.lock();
            let reply: Option<u64> = end.call("Raft.RequestVote", &*st);
            assert_eq!(reply, Some(5));
        }
        let term = *state.lock();
        let reply: Option<u64> = end.call("Raft.RequestVote", &term);
        assert_eq!(reply, Some(5));
    })
    .join()
    .unwrap();
    println!(
        "FINDINGS\n{}END",
        labrt::discipline::warning().unwrap_or_default()
    );
}
