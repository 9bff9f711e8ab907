//! The testers and labrt's lock-discipline checker: a finding is printed
//! after the `Passed` line, and with `LAB_STRICT=1` it fails the test (with
//! the findings in the failure's message). The fixture runs in a child
//! process (this binary again), in both modes.

mod support;

use labrt::sync::{Arc, Mutex};
use labrt::thread;
use labrt::time::{Duration, sleep};
use tester::common::{Watchdog, print_begin, print_passed};

fn run_fixture(sim: bool, strict: bool) -> (bool, String) {
    let (code, text) = support::run_child(
        "fixture_sleep_under_lock",
        &[
            ("DISCIPLINE_FIXTURE", "1"),
            ("LAB_SIM", if sim { "1" } else { "0" }),
            ("LAB_STRICT", if strict { "1" } else { "0" }),
        ],
    );
    (code == Some(0), text)
}

#[test]
fn findings_follow_the_passed_line_and_fail_the_test_when_strict() {
    let line = 1 + include_str!("discipline.rs")
        .lines()
        .position(|l| l.trim() == "sleep(Duration::from_millis(1));")
        .unwrap();
    let finding = format!(
        "'raft-0-ticker' slept (1 ms) at tester/tests/discipline.rs:{line} while holding the Mutex \
         locked at tester/tests/discipline.rs:{}",
        line - 1
    );
    for sim in [false, true] {
        let (ok, text) = run_fixture(sim, false);
        assert!(ok, "sim {sim}: {text}");
        let passed = text.find("  ... Passed --").expect("a Passed line");
        let warning = text
            .find("warning: labrt's lock-discipline check found 1 problem")
            .unwrap_or_else(|| panic!("sim {sim}: no warning in {text}"));
        assert!(passed < warning, "sim {sim}: {text}");
        assert!(text.contains(&finding), "sim {sim}: {text}");

        let (ok, text) = run_fixture(sim, true);
        assert!(!ok, "sim {sim}: LAB_STRICT=1 passed: {text}");
        assert!(
            text.contains(
                "the test passed, but labrt's lock-discipline check found problems, and \
                 LAB_STRICT=1 makes them failures (LAB_SEED=1)"
            ),
            "sim {sim}: {text}"
        );
        assert!(text.contains(&finding), "sim {sim}: {text}");
    }
}

/// A tiny "test": a ticker that sleeps while holding its lock.
#[test]
fn fixture_sleep_under_lock() {
    if std::env::var_os("DISCIPLINE_FIXTURE").is_none() {
        return;
    }
    let watchdog = Watchdog::start();
    print_begin("Test (2A): a ticker that sleeps with its lock");
    let state = Arc::new(Mutex::new(0));
    thread::spawn_named("raft-0-ticker", move || {
        for _ in 0..3 {
            let _st = state.lock();
            sleep(Duration::from_millis(1));
        }
    })
    .join()
    .unwrap();
    watchdog.cleanup(|| {});
    print_passed(Duration::from_millis(3), 1, "0 0 0");
}
