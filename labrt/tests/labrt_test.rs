//! labrt's behaviour in real mode. Tests that need a fresh process (the
//! seed, a panicking thread) run this test binary again with `--exact`.

use std::process::Command;

use labrt::channel::{self, RecvTimeoutError, TryRecvError};
use labrt::sync::{Arc, Condvar, Mutex};
use labrt::thread;
use labrt::time::{Duration, Instant, sleep};

/// Runs one test of this binary in a child process with `env` set.
fn run_alone(test: &str, env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", test, "--nocapture", "--test-threads=1"]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn lab_seed_fixes_the_random_sequence() {
    let run = || {
        let out = run_alone(
            "print_seed_and_draws",
            &[("LAB_SEED", "42"), ("LABRT_CHILD", "1")],
        );
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let first = run();
    assert!(first.contains("seed=42 "), "{first}");
    assert_eq!(first, run(), "same seed, different draws");
}

#[test]
fn print_seed_and_draws() {
    if std::env::var("LABRT_CHILD").is_err() {
        return;
    }
    let draws: Vec<u32> = (0..5).map(|_| labrt::rand::random_range(0..1000)).collect();
    println!("seed={} draws={draws:?}", labrt::rand::seed());
}

#[test]
fn bad_lab_seed_is_a_clear_error() {
    let out = run_alone(
        "print_seed_and_draws",
        &[("LAB_SEED", "abc"), ("LABRT_CHILD", "1")],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("LAB_SEED must be an unsigned 64-bit integer, got \"abc\""),
        "{stderr}"
    );
}

#[test]
fn a_panicking_lab_thread_ends_the_process_naming_the_thread() {
    let out = run_alone("panicking_lab_thread", &[("LABRT_CHILD", "1")]);
    assert_eq!(out.status.code(), Some(101));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("thread 'raft-1-ticker' panicked at"),
        "{stderr}"
    );
    assert!(stderr.contains("index out of bounds"), "{stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("survived"));
}

#[test]
fn panicking_lab_thread() {
    if std::env::var("LABRT_CHILD").is_err() {
        return;
    }
    let h = thread::spawn_named("raft-1-ticker", || {
        let v: Vec<u64> = Vec::new();
        let i = v.len() + 3;
        v[i]
    });
    let _ = h.join();
    sleep(Duration::from_secs(5));
    println!("survived");
}

#[test]
fn threads_have_names() {
    let h = thread::spawn_named("named-one", thread::current_name);
    assert_eq!(h.join().unwrap().as_deref(), Some("named-one"));
    let h = thread::spawn(thread::current_name);
    assert!(h.join().unwrap().unwrap().starts_with("lab-"));
    assert_eq!(thread::current_name(), None);
}

#[test]
fn catch_panic_returns_the_message() {
    assert_eq!(thread::catch_panic(|| 5), Ok(5));
    let err = thread::catch_panic(|| panic!("boom {}", 7)).unwrap_err();
    assert_eq!(err, "boom 7");
}

#[test]
fn condvar_wait_for_times_out_and_wakes() {
    let pair = Arc::new((Mutex::new(false), Condvar::new()));
    let mut g = pair.0.lock();
    let t0 = Instant::now();
    assert!(
        pair.1
            .wait_for(&mut g, Duration::from_millis(20))
            .timed_out()
    );
    assert!(t0.elapsed() >= Duration::from_millis(20));
    drop(g);

    let p2 = pair.clone();
    thread::spawn(move || {
        sleep(Duration::from_millis(10));
        *p2.0.lock() = true;
        p2.1.notify_all();
    });
    let mut g = pair.0.lock();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !*g {
        assert!(
            !pair.1.wait_until(&mut g, deadline).timed_out(),
            "no wake-up"
        );
    }
}

#[test]
fn channels_behave_like_crossbeam() {
    let (tx, rx) = channel::unbounded();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    for i in 0..3 {
        tx.send(i).unwrap();
    }
    assert_eq!(rx.len(), 3);
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), [0, 1, 2]);
    let tx2 = tx.clone();
    thread::spawn(move || tx2.send(9).unwrap());
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok(9));
    drop(tx);
    assert_eq!(
        rx.recv_timeout(Duration::from_millis(1)),
        Err(RecvTimeoutError::Disconnected)
    );
    assert_eq!(rx.iter().count(), 0);

    let (tx, rx) = channel::bounded::<u8>(0);
    assert!(
        tx.try_send(1).is_err(),
        "rendezvous channel took a value with no receiver"
    );
    drop(rx);
    assert!(tx.send(1).is_err());
}

#[test]
fn instants_compare_and_subtract() {
    let a = Instant::now();
    let b = a + Duration::from_millis(5);
    assert!(b > a);
    assert_eq!(b - a, Duration::from_millis(5));
    assert_eq!(a - b, Duration::ZERO);
    assert_eq!(b - Duration::from_millis(5), a);
}

#[test]
fn random_ranges_stay_in_range() {
    for _ in 0..1000 {
        let x = labrt::rand::random_range(150..300u64);
        assert!((150..300).contains(&x));
    }
    let heads = (0..1000).filter(|_| labrt::rand::random_bool(0.5)).count();
    assert!((350..650).contains(&heads), "{heads}");
}
