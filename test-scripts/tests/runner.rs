//! The runner library on the fixture binary (tests/fixture.rs): building
//! and listing test binaries, and one run's verdicts, output and seed.

// Tests of a tool, never run under labrt's simulation.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use test_scripts::runner::{self, RunResult, RunSpec, TestBinary, Verdict};

/// The fixture, built once for all these tests.
fn fixture() -> &'static TestBinary {
    static FIXTURE: OnceLock<TestBinary> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let selection = ["--quiet", "-p", "test-scripts", "--test", "fixture"].map(String::from);
        let mut binaries = runner::build(&selection).expect("the fixture builds");
        assert_eq!(binaries.len(), 1, "{binaries:?}");
        binaries.remove(0)
    })
}

/// Runs one fixture test, armed, with `seed`.
fn run(test: &str, seed: u64, timeout: Duration, cancel: &AtomicBool) -> RunResult {
    let spec = RunSpec {
        binary: fixture(),
        test,
        seed,
        timeout,
        env: vec![("DSTEST_FIXTURE".to_string(), "1".to_string())],
    };
    runner::run(&spec, cancel).expect("the fixture runs")
}

fn output(result: &RunResult) -> String {
    String::from_utf8_lossy(&result.output).into_owned()
}

const LONG: Duration = Duration::from_secs(60);

#[test]
fn finds_and_lists_the_fixture() {
    let binary = fixture();
    assert_eq!(binary.package, "test-scripts");
    assert_eq!(binary.target, "fixture");
    assert!(binary.dir.join("Cargo.toml").is_file(), "{binary:?}");
    let mut tests = binary.list().unwrap();
    tests.sort();
    assert_eq!(tests, ["fail_9a", "hang_9b", "pass_9a", "seeded_9c"]);
    assert_eq!(
        binary.replay_command("fail_9a", 12),
        "LAB_SEED=12 cargo test -p test-scripts --test fixture -- --exact fail_9a --nocapture"
    );
}

#[test]
fn runs_a_private_copy_that_goes_with_the_last_handle() {
    // A rebuild during a stress run rewrites the binary under target/; the
    // run must keep testing the code it started with.
    let selection = ["--quiet", "-p", "test-scripts", "--test", "fixture"].map(String::from);
    let binary = runner::build(&selection).unwrap().remove(0);
    assert!(
        binary
            .executable
            .to_string_lossy()
            .contains("/raftlab-copies/"),
        "{binary:?}"
    );
    assert!(!binary.list().unwrap().is_empty());
    let copy = binary.executable.clone();
    let clone = binary.clone();
    drop(binary);
    assert!(copy.is_file(), "a clone still uses {}", copy.display());
    drop(clone);
    assert!(
        !copy.exists(),
        "{} outlived its last handle",
        copy.display()
    );
}

#[test]
fn a_passing_run_gets_its_seed() {
    let result = run("pass_9a", 42, LONG, &AtomicBool::new(false));
    assert_eq!(result.verdict, Verdict::Passed);
    assert!(
        output(&result).contains("fixture: LAB_SEED=42\n"),
        "{}",
        output(&result)
    );
}

#[test]
fn a_failing_run_keeps_both_streams() {
    let result = run("fail_9a", 7, LONG, &AtomicBool::new(false));
    let Verdict::Failed(status) = result.verdict else {
        panic!("{:?}", result.verdict);
    };
    assert_eq!(status.code(), Some(101));
    let text = output(&result);
    assert!(text.contains("fixture: about to fail"), "{text}");
    assert!(text.contains("fixture failure (LAB_SEED=7)"), "{text}");
    assert_eq!(
        run("seeded_9c", 8, LONG, &AtomicBool::new(false)).verdict,
        Verdict::Passed
    );
}

#[test]
fn a_hung_run_is_killed_at_the_time_limit() {
    let limit = Duration::from_millis(300);
    let result = run("hang_9b", 1, limit, &AtomicBool::new(false));
    assert_eq!(result.verdict, Verdict::TimedOut);
    assert!(result.duration >= limit, "{:?}", result.duration);
    assert!(
        result.duration < Duration::from_secs(5),
        "{:?}",
        result.duration
    );
    assert!(output(&result).contains("fixture: LAB_SEED=1"));
}

#[test]
fn a_run_stops_when_cancelled() {
    let cancel = AtomicBool::new(false);
    let result = std::thread::scope(|scope| {
        scope.spawn(|| {
            std::thread::sleep(Duration::from_millis(200));
            cancel.store(true, Ordering::SeqCst);
        });
        run("hang_9b", 1, LONG, &cancel)
    });
    assert_eq!(result.verdict, Verdict::Cancelled);
    assert!(
        result.duration < Duration::from_secs(5),
        "{:?}",
        result.duration
    );
}
