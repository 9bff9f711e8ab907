//! The thread dump (issue 16 §2): SIGQUIT (Ctrl-\) prints every labrt
//! thread, what it waits for and where, and who holds each lock, then ends
//! the process with status 2, as Go does; in the simulation too, where a
//! run that never ends is a livelock or a thread that keeps the OS thread.
//! Each stuck fixture runs as a child process (this binary again), and the
//! test sends it SIGQUIT.
#![cfg(unix)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use labrt::channel;
use labrt::sync::{Arc, Condvar, Mutex};
use labrt::thread;
use labrt::time::{Duration, sleep};

/// The line of this file that is exactly `code` (trimmed), for the dump's
/// `file:line`s.
fn line_of(code: &str) -> usize {
    1 + include_str!("dump.rs")
        .lines()
        .position(|l| l.trim() == code)
        .unwrap_or_else(|| panic!("no line {code:?}"))
}

/// Runs `fixture` in a child (`LAB_SIM` = `sim`), sends it SIGQUIT once it
/// prints STUCK, and returns its stderr after checking it exited with 2.
fn quit_when_stuck(fixture: &str, sim: &str) -> String {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", fixture, "--nocapture", "--test-threads=1"])
        .env("DUMP_FIXTURE", "1")
        .env("LAB_SIM", sim)
        .env("LAB_SEED", "7")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the fixture's threads are stuck.
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("STUCK") {
        line.clear();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "the fixture ended early"
        );
    }
    let status = Command::new("kill")
        .args(["-QUIT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    println!("{stderr}");
    assert_eq!(status.code(), Some(2), "{stderr}");
    stderr
}

/// `line:column` of the `lock()` call on the line that is `code`, as the
/// simulation's report gives a lock's place.
fn lock_at(code: &str) -> String {
    let line = line_of(code);
    let text = include_str!("dump.rs").lines().nth(line - 1).unwrap();
    format!("{line}:{}", 1 + text.find("lock()").unwrap())
}

#[test]
fn sigquit_prints_every_lab_thread_and_exits_2() {
    let stderr = quit_when_stuck("fixture_deadlock", "0");
    let here = "labrt/tests/dump.rs";
    let want = [
        "SIGQUIT: quit".to_string(),
        "(LAB_SEED=7)".to_string(),
        format!(
            "'raft-0-ticker' [server 0] is locking a Mutex at {here}:{}\n      which \
             'raft-0-applier' holds, locked at {here}:{}\n      holding the Mutex locked at \
             {here}:{}",
            line_of("let _log = log.lock(); // ticker"),
            line_of("let _log = log2.lock(); // applier"),
            line_of("let _st = state.lock(); // ticker"),
        ),
        format!(
            "'raft-0-applier' [server 0] is locking a Mutex at {here}:{}\n      which \
             'raft-0-ticker' holds, locked at {here}:{}\n      holding the Mutex locked at \
             {here}:{}",
            line_of("let _st = state2.lock(); // applier"),
            line_of("let _st = state.lock(); // ticker"),
            line_of("let _log = log2.lock(); // applier"),
        ),
        format!(
            "'kv-0-handler' [server 0] is receiving on a channel at {here}:{} (2 threads)",
            line_of("let _ = rx.recv();")
        ),
        format!(
            "'raft-0-waiter' [server 0] is waiting on a Condvar at {here}:{}",
            line_of("cv.1.wait(&mut ready);")
        ),
        format!(
            "the test's thread 'fixture_deadlock' is joining a thread at {here}:{}",
            line_of("ticker.join().unwrap();")
        ),
    ];
    for w in want {
        assert!(stderr.contains(&w), "no {w:?} in\n{stderr}");
    }
}

/// Two threads of "server 0" take two locks in opposite orders and
/// deadlock; two more wait on a channel, one on a condvar; the test's own
/// thread joins the first.
#[test]
fn fixture_deadlock() {
    if !fixture_runs() {
        return;
    }
    let state = Arc::new(Mutex::new(0));
    let log = Arc::new(Mutex::new(0));
    let (state2, log2) = (state.clone(), log.clone());
    let (tx, rx) = channel::unbounded::<u64>();
    let cv = Arc::new((Mutex::new(false), Condvar::new()));
    let ticker = labrt::thread_group::Group::new("server 0").run(|| {
        let ticker = thread::spawn_named("raft-0-ticker", move || {
            let _st = state.lock(); // ticker
            sleep(Duration::from_millis(200));
            let _log = log.lock(); // ticker
        });
        thread::spawn_named("raft-0-applier", move || {
            let _log = log2.lock(); // applier
            sleep(Duration::from_millis(200));
            let _st = state2.lock(); // applier
        });
        for _ in 0..2 {
            let rx = rx.clone();
            thread::spawn_named("kv-0-handler", move || {
                let _ = rx.recv();
            });
        }
        thread::spawn_named("raft-0-waiter", move || {
            let mut ready = cv.0.lock();
            while !*ready {
                cv.1.wait(&mut ready);
            }
        });
        ticker
    });
    ticker.join().unwrap();
    drop(tx);
}

#[test]
fn sigquit_in_the_simulation_prints_the_worlds_threads() {
    let stderr = quit_when_stuck("fixture_livelock", "1");
    let here = "labrt/tests/dump.rs";
    let want = [
        "SIGQUIT: quit\nthe simulated threads, what each waits for and where (virtual time"
            .to_string(),
        "LAB_SEED=7)".to_string(),
        format!(
            "'raft-0-waiter' blocked locking a Mutex at {here}:{}\n      which \
             'raft-0-holder' holds, locked at {here}:{}",
            lock_at("let _g = wanted.lock(); // waiter"),
            lock_at("let _g = held.lock(); // holder"),
        ),
    ];
    for w in want {
        assert!(stderr.contains(&w), "no {w:?} in\n{stderr}");
    }
}

#[test]
fn sigquit_in_the_simulation_names_a_thread_that_keeps_the_os_thread() {
    let stderr = quit_when_stuck("fixture_spinner", "1");
    let want = "SIGQUIT: quit\nthread 'raft-0-spinner' has run for";
    assert!(stderr.contains(want), "no {want:?} in\n{stderr}");
    assert!(stderr.contains("LAB_SEED=7"), "{stderr}");
}

/// Prints STUCK from another thread (not a lab thread: not in the dump),
/// after the fixture has had time to get stuck: the fixture's own thread is
/// joining by then, and could not print after it blocks. A std thread,
/// started before any lab thread (which may keep the OS thread for good),
/// so that in the simulation it is outside the world, in real time.
fn say_stuck_soon() {
    #[allow(clippy::disallowed_methods)]
    std::thread::spawn(|| {
        std::thread::sleep(std::time::Duration::from_millis(600));
        println!("STUCK");
    });
}

/// Whether this run is a fixture's (the test asked for it); if so, SIGQUIT
/// will dump, and STUCK will be printed.
fn fixture_runs() -> bool {
    if std::env::var_os("DUMP_FIXTURE").is_none() {
        return false;
    }
    labrt::discipline::dump_on_sigquit();
    say_stuck_soon();
    true
}

/// A livelock in the simulation: a thread that holds a lock wakes every
/// 10 ms forever, so virtual time flies, and another waits for the lock.
#[test]
fn fixture_livelock() {
    if !fixture_runs() {
        return;
    }
    let held = Arc::new(Mutex::new(0));
    let wanted = held.clone();
    let holder = thread::spawn_named("raft-0-holder", move || {
        let _g = held.lock(); // holder
        loop {
            sleep(Duration::from_millis(10));
        }
    });
    thread::spawn_named("raft-0-waiter", move || {
        sleep(Duration::from_millis(1));
        let _g = wanted.lock(); // waiter
    });
    holder.join().unwrap();
}

/// A simulated thread that never calls labrt again keeps the OS thread.
#[test]
fn fixture_spinner() {
    if !fixture_runs() {
        return;
    }
    let spinner = thread::spawn_named("raft-0-spinner", || {
        loop {
            std::hint::spin_loop();
        }
    });
    spinner.join().unwrap();
}
