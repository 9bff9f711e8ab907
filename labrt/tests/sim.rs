//! The simulation mode (`LAB_SIM=1`): virtual time, determinism, deadlock
//! reports. Every test of this binary runs simulated.

use labrt::channel;
use labrt::sync::{Arc, Condvar, Mutex};
use labrt::thread;
use labrt::time::{Duration, Instant, sleep};

/// Turns the simulation on for this process (before any labrt call).
fn simulate() {
    // SAFETY: set before any thread of this test binary reads it; every
    // test sets the same value.
    unsafe { std::env::set_var("LAB_SIM", "1") };
    assert!(labrt::sim::enabled());
}

#[test]
// The real clock, to show that the virtual one does not wait for it.
#[allow(clippy::disallowed_types, clippy::disallowed_methods)]
fn virtual_time_jumps_to_the_next_timer() {
    simulate();
    let real = std::time::Instant::now();
    let start = Instant::now();
    sleep(Duration::from_secs(30));
    assert_eq!(start.elapsed(), Duration::from_secs(30));
    assert!(
        real.elapsed() < Duration::from_secs(1),
        "took {:?}",
        real.elapsed()
    );
}

#[test]
fn threads_channels_and_locks_work() {
    simulate();
    let counter = Arc::new(Mutex::new(0));
    let (tx, rx) = channel::bounded(0);
    let handles: Vec<_> = (0..10)
        .map(|i| {
            let (counter, tx) = (counter.clone(), tx.clone());
            thread::spawn_named(format!("worker-{i}"), move || {
                sleep(Duration::from_millis(10 * i));
                *counter.lock() += 1;
                tx.send(i).unwrap();
                i * 2
            })
        })
        .collect();
    drop(tx);
    let mut got: Vec<u64> = rx.iter().collect();
    got.sort();
    assert_eq!(got, (0..10).collect::<Vec<_>>());
    let doubled: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(doubled, (0..10).map(|i| i * 2).collect::<Vec<_>>());
    assert_eq!(*counter.lock(), 10);
}

#[test]
fn condvar_waits_time_out_in_virtual_time() {
    simulate();
    let pair = Arc::new((Mutex::new(false), Condvar::new()));
    let mut ready = pair.0.lock();
    let start = Instant::now();
    let r = pair.1.wait_for(&mut ready, Duration::from_secs(5));
    assert!(r.timed_out());
    assert_about(start.elapsed(), Duration::from_secs(5));
    let pair2 = pair.clone();
    thread::spawn(move || {
        sleep(Duration::from_secs(1));
        *pair2.0.lock() = true;
        pair2.1.notify_all();
    });
    while !*ready {
        pair.1.wait(&mut ready);
    }
    assert_about(start.elapsed(), Duration::from_secs(6));
}

#[test]
fn timers_fire_on_time_among_thousands_of_waits_that_ended_early() {
    simulate();
    let start = Instant::now();
    let sleeper = thread::spawn(move || {
        sleep(Duration::from_secs(2));
        start.elapsed()
    });
    let (tx, rx) = channel::bounded(0);
    let sender = tx.clone();
    thread::spawn(move || {
        for i in 0..3000 {
            sleep(Duration::from_millis(1));
            sender.send(i).unwrap();
        }
    });
    // Each receive arms a 10 s timer that its message makes stale: the
    // scheduler sweeps such timers out as they pile up.
    for i in 0..3000 {
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok(i));
    }
    assert_about(sleeper.join().unwrap(), Duration::from_secs(2));
    let received = start.elapsed();
    assert!(received >= Duration::from_secs(3), "{received:?}");
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(1)),
        Err(channel::RecvTimeoutError::Timeout)
    );
    assert_about(start.elapsed() - received, Duration::from_secs(1));
    drop(tx);
}

/// How many scheduling steps a woken thread may wait. It is up to the
/// seed: a thread woken while another runs is picked at random among the
/// ready ones, one a step, so with two ready it waits k steps or more with
/// a chance of 2^-k (10 steps failed with LAB_SEED=40 and 221).
const SLACK_STEPS: u32 = 100;

/// `elapsed` is `expected` plus the cost of a few scheduling steps.
fn assert_about(elapsed: Duration, expected: Duration) {
    let slack = labrt::sim::step_cost() * SLACK_STEPS;
    assert!(
        elapsed >= expected && elapsed <= expected + slack,
        "{elapsed:?} is not {expected:?} give or take {slack:?}"
    );
}

#[test]
fn busy_threads_move_the_clock() {
    // A thread that never sleeps still spends time, so a timer elsewhere
    // comes due while it works: without that, this loop (like clerks over a
    // Raft that replicates at once) would run for ever at one instant.
    simulate();
    let stop = Arc::new(Mutex::new(false));
    let stopper = stop.clone();
    thread::spawn(move || {
        sleep(Duration::from_secs(1));
        *stopper.lock() = true;
    });
    let start = Instant::now();
    let mut rounds = 0u64;
    while !*stop.lock() {
        rounds += 1;
    }
    assert_about(start.elapsed(), Duration::from_secs(1));
    let per_second = Duration::from_secs(1).as_nanos() / labrt::sim::step_cost().as_nanos();
    assert!(
        (per_second as u64 / 2..=per_second as u64 + u64::from(SLACK_STEPS)).contains(&rounds),
        "{rounds} rounds of the loop in one virtual second"
    );
}

/// `busy_threads_move_the_clock` in a child process with `LAB_SIM_STEP`
/// set: its count of rounds in a virtual second comes from
/// `step_cost()`, so it passes only if the clock moves by that cost.
fn busy_loop_with_step(step: &str) -> std::process::Output {
    std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "busy_threads_move_the_clock", "--test-threads=1"])
        .env("LAB_SIM_STEP", step)
        .output()
        .unwrap()
}

#[test]
fn lab_sim_step_sets_the_simulated_machines_speed() {
    let out = busy_loop_with_step("50us");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = busy_loop_with_step("5 seconds");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stdout.contains(
            "LAB_SIM_STEP must be the virtual time of a scheduling point, from 1us to 1ms"
        ) && stdout.contains("got \"5 seconds\""),
        "{stdout}"
    );
}

#[test]
fn a_thread_blocked_in_a_for_loop_over_a_channel_is_reported_where_it_loops() {
    simulate();
    let (tx, rx) = channel::unbounded::<u32>();
    let reader = thread::spawn_named("reader", move || for _ in rx {});
    let reading_at = format!("labrt/tests/sim.rs:{}", line!() - 1);
    let report = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| reader.join()))
        .expect_err("the deadlock is reported");
    drop(tx);
    let report = labrt::thread::panic_message(&*report);
    assert!(
        report.contains(&format!(
            "'reader' blocked receiving on a channel at {reading_at}"
        )),
        "{report}"
    );
}

#[test]
fn a_deadlock_is_reported_with_who_waits_for_what() {
    simulate();
    let a = Arc::new(Mutex::new(()));
    let b = Arc::new(Mutex::new(()));
    let (a2, b2) = (a.clone(), b.clone());
    let _ga = a.lock();
    thread::spawn_named("takes-b-then-a", move || {
        let _gb = b2.lock();
        let _ga = a2.lock();
    });
    sleep(Duration::from_millis(1));
    let report = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _gb = b.lock();
    }))
    .expect_err("the deadlock is reported");
    let report = labrt::thread::panic_message(&*report);
    assert!(
        report.starts_with("deadlock: every thread is blocked"),
        "{report}"
    );
    assert!(
        report.contains("'takes-b-then-a' blocked locking a Mutex at labrt/tests/sim.rs"),
        "{report}"
    );
    assert!(
        report.contains("which 'a_deadlock_is_reported_with_who_waits_for_what' holds"),
        "{report}"
    );
}

#[test]
fn the_same_seed_gives_the_same_run() {
    simulate();
    // Many threads contending for one lock and one channel: the order in
    // which they get through depends on every scheduling decision.
    let order = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = channel::unbounded();
    for i in 0..20 {
        let (order, tx) = (order.clone(), tx.clone());
        thread::spawn(move || {
            for _ in 0..3 {
                order.lock().push(i);
                tx.send(i).unwrap();
            }
        });
    }
    drop(tx);
    assert_eq!(rx.iter().count(), 60);
    let trace = labrt::sim::trace().expect("simulated");
    assert!(trace.steps > 60, "{trace:?}");
    labrt::sim::check_determinism().expect("a deterministic run");
}

#[test]
fn a_run_that_escapes_the_simulation_is_caught() {
    simulate();
    // SAFETY: as in simulate().
    unsafe { std::env::set_var("LAB_SIM_CHECK", "1") };
    // What this thread does depends on something the seed does not fix: whether
    // it is the check's second run (a stand-in for a std clock or a HashMap's
    // random order).
    let escaped = std::env::var_os("LAB_SIM_CHECK_CHILD").is_some();
    if escaped {
        thread::spawn_named("only-in-the-second-run", || ());
    }
    let (tx, rx) = channel::unbounded();
    for i in 0..4 {
        let tx = tx.clone();
        thread::spawn(move || tx.send(i).unwrap());
    }
    if escaped {
        sleep(Duration::from_millis(1));
    }
    drop(tx);
    assert_eq!(rx.iter().count(), 4);
    let divergence = labrt::sim::check_determinism().expect_err("the runs differ");
    assert!(
        divergence.contains("the runs differ at step"),
        "{divergence}"
    );
}

#[test]
fn drop_in_a_world_that_ends_with_blocked_threads() {
    simulate();
    // Threads still blocked (holding guards, waiting on channels) when the
    // test ends are abandoned, not unwound.
    let m = Arc::new(Mutex::new(0));
    let (_tx, rx) = channel::bounded::<()>(0);
    let m2 = m.clone();
    thread::spawn(move || {
        let _guard = m2.lock();
        let _ = rx.recv();
    });
    sleep(Duration::from_millis(1));
    assert!(m.try_lock().is_none());
}

/// A lock every world of the process shares, as a `static` is.
static SHARED: Mutex<u64> = Mutex::new(0);

/// A small lab run on a fresh OS thread, so in a world of its own: threads
/// that sleep for random times, contend for a lock of their own world and
/// for one shared with every other world, and report over a channel. Gives
/// the trace and what the threads drew, in the order they finished.
// An OS thread of its own: what a test thread of cargo's harness is.
#[allow(clippy::disallowed_methods)]
fn a_world_on_its_own_thread() -> std::thread::JoinHandle<(labrt::sim::Trace, Vec<u64>)> {
    std::thread::spawn(|| {
        let lock = Arc::new(Mutex::new(()));
        let (tx, rx) = channel::unbounded();
        for i in 0..20 {
            let (lock, tx) = (lock.clone(), tx.clone());
            thread::spawn(move || {
                for _ in 0..20 {
                    let drawn = labrt::rand::random_range(0..1_000u64);
                    sleep(Duration::from_micros(drawn));
                    let _mine = lock.lock();
                    *SHARED.lock() += 1;
                    tx.send(i * 1_000 + drawn).unwrap();
                }
            });
        }
        drop(tx);
        let drawn: Vec<u64> = rx.iter().collect();
        (labrt::sim::trace().expect("simulated"), drawn)
    })
}

#[test]
fn a_seed_replays_the_same_with_worlds_running_at_once() {
    simulate();
    // Whether tests run one at a time (--test-threads=1) or side by side
    // on two OS threads (=2), a world must make the same decisions: it draws
    // from a generator of its own, and waits for a lock another world holds
    // without a decision of its own.
    let alone = a_world_on_its_own_thread().join().unwrap();
    for round in 0..5 {
        let (a, b) = (a_world_on_its_own_thread(), a_world_on_its_own_thread());
        for (which, run) in [("first", a), ("second", b)] {
            let run = run.join().unwrap();
            assert_eq!(
                run, alone,
                "round {round}: the {which} of two worlds at once"
            );
        }
    }
    assert!(alone.0.steps > 800, "{:?}", alone.0);
}

#[test]
fn a_lab_thread_panic_is_printed_while_another_thread_is_in_catch_panic() {
    // The child is run with cargo's output capture on (no --nocapture), as
    // tests are: a message that went through the capture dies with the
    // process.
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "ticker_panics_beside_a_catch_panic",
            "--test-threads=1",
        ])
        .env("LABRT_SIM_CHILD", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(101), "{stderr}");
    assert!(
        stderr.contains("thread 'raft-1-ticker' panicked at labrt/tests/sim.rs"),
        "{stderr}"
    );
    assert!(stderr.contains("the ticker's own message"), "{stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("survived"));
}

/// Run by the test above, in a child process: a lab thread panics while
/// another simulated thread (an RPC handler, say) waits inside
/// `catch_panic` on the same OS thread.
#[test]
fn ticker_panics_beside_a_catch_panic() {
    if std::env::var_os("LABRT_SIM_CHILD").is_none() {
        return;
    }
    simulate();
    let (tx, rx) = channel::bounded::<()>(0);
    thread::spawn_named("rpc-handler", move || thread::catch_panic(|| rx.recv()));
    thread::spawn_named("raft-1-ticker", || {
        sleep(Duration::from_millis(1));
        panic!("the ticker's own message");
    });
    sleep(Duration::from_secs(1));
    println!("survived");
    drop(tx);
}
