//! The runner library on the fixture binary (tests/fixture.rs): building
//! and listing test binaries, one run's verdicts, output and seed, and the
//! guards a grader's runs get (the verdict, the output cap, the sandbox).

// Tests of a tool, never run under labrt's simulation.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use test_scripts::runner::{self, RunResult, RunSpec, Sandbox, TestBinary, Verdict};

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
    let mut spec = RunSpec::new(fixture(), test, seed, timeout);
    spec.env = vec![("DSTEST_FIXTURE".to_string(), "1".to_string())];
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
    assert_eq!(
        tests,
        [
            "fail_9a",
            "hang_9b",
            "hostile_allocate_8gb",
            "hostile_escaped_grandchild",
            "hostile_exit_early",
            "hostile_fake_verdict",
            "hostile_flood_output",
            "hostile_grandchild",
            "hostile_read_environ",
            "hostile_signal_parent",
            "hostile_udp",
            "hostile_write_outside",
            "pass_9a",
            "seeded_9c"
        ]
    );
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

// Verdicts, limits and the sandbox. The hostile_* tests of the fixture each
// try one attack on the grader; run as the grader runs them (verdict asked,
// sandboxed), each must fail, with its reason in the output, and leave this
// process, the runner, alive and quick.

/// The grader's way to run a fixture test: verdict asked, sandboxed.
fn guarded(test: &str) -> RunSpec<'static> {
    let mut spec = RunSpec::new(fixture(), leak(test), 1, LONG);
    spec.env = vec![
        ("DSTEST_FIXTURE".to_string(), "1".to_string()),
        (
            "FIXTURE_OUTSIDE".to_string(),
            outside().to_string_lossy().into_owned(),
        ),
    ];
    spec.require_verdict = true;
    spec.sandbox = Some(Sandbox::new(env!("CARGO_BIN_EXE_sandbox")));
    spec
}

fn leak(test: &str) -> &'static str {
    Box::leak(test.to_string().into_boxed_str())
}

/// Where hostile_write_outside writes: a world-writable directory, so that
/// only the sandbox can stop it.
fn outside() -> PathBuf {
    std::env::temp_dir().join(format!("raftlab-hostile-{}.txt", std::process::id()))
}

fn run_spec(spec: &RunSpec<'_>) -> RunResult {
    runner::run(spec, &AtomicBool::new(false)).expect("the fixture runs")
}

/// The TMPDIR the fixture printed.
fn tmpdir_of(result: &RunResult) -> PathBuf {
    let text = output(result);
    let line = text
        .lines()
        .find_map(|line| line.strip_prefix("fixture: TMPDIR="))
        .unwrap_or_else(|| panic!("no TMPDIR in {text}"));
    PathBuf::from(line)
}

#[test]
fn a_verdict_run_passes_when_the_tester_reports_its_end() {
    let mut spec = RunSpec::new(fixture(), "pass_9a", 3, LONG);
    spec.env = vec![("DSTEST_FIXTURE".to_string(), "1".to_string())];
    spec.require_verdict = true;
    let result = run_spec(&spec);
    assert_eq!(result.verdict, Verdict::Passed, "{}", output(&result));
    assert_eq!(result.sandbox, None);
    let private = tmpdir_of(&result);
    assert!(!private.exists(), "{} was left behind", private.display());
}

#[test]
fn an_early_exit_0_is_a_pass_only_without_a_verdict() {
    let plain = run("hostile_exit_early", 1, LONG, &AtomicBool::new(false));
    assert_eq!(plain.verdict, Verdict::Passed);
    let mut spec = RunSpec::new(fixture(), "hostile_exit_early", 1, LONG);
    spec.env = vec![("DSTEST_FIXTURE".to_string(), "1".to_string())];
    spec.require_verdict = true;
    let result = run_spec(&spec);
    assert_eq!(result.verdict, Verdict::ExitedEarly, "{}", output(&result));
    assert!(result.verdict.failed());
    assert_eq!(
        result.verdict.to_string(),
        "the test process exited before the test finished \
         (exit status 0, but the tester never reported the test's end)"
    );
    assert!(result.duration < Duration::from_secs(10));
}

#[test]
fn a_verdict_printed_on_stdout_does_not_count() {
    let result = run_spec(&guarded("hostile_fake_verdict"));
    assert_eq!(result.verdict, Verdict::ExitedEarly, "{}", output(&result));
    assert!(output(&result).contains(" passed hostile_fake_verdict"));
}

#[test]
fn a_sandboxed_run_passes_and_says_how_it_was_sandboxed() {
    let result = run_spec(&guarded("pass_9a"));
    assert_eq!(result.verdict, Verdict::Passed, "{}", output(&result));
    let layers = result
        .sandbox
        .clone()
        .expect("the launcher reports its layers");
    assert!(layers.starts_with("landlock ABI "), "{layers}");
    assert!(
        layers.contains("fs") && layers.contains("signals"),
        "{layers}"
    );
    assert!(layers.contains("data 2 GiB"), "{layers}");
    // Every core for the whole minute, and 10 s more.
    assert!(
        layers.contains(" s)") && layers.contains("cpu "),
        "{layers}"
    );
    assert!(layers.contains("no_new_privs"), "{layers}");
    let private = tmpdir_of(&result);
    assert!(!private.exists(), "{} was left behind", private.display());
}

#[test]
fn a_sandboxed_test_cannot_write_outside_its_directory() {
    let target = outside();
    let _ = std::fs::remove_file(&target);
    let result = run_spec(&guarded("hostile_write_outside"));
    let text = output(&result);
    assert!(
        matches!(result.verdict, Verdict::Failed(s) if s.code() == Some(101)),
        "{:?}: {text}",
        result.verdict
    );
    assert!(text.contains("could not write"), "{text}");
    assert!(text.contains("Permission denied"), "{text}");
    assert!(!target.exists(), "{} was written", target.display());
}

/// Runs the hostile fixture test `test` sandboxed; it must fail, saying
/// `says`.
fn fails_saying(test: &str, says: &str) {
    let result = run_spec(&guarded(test));
    let text = output(&result);
    assert!(
        matches!(result.verdict, Verdict::Failed(_)),
        "{test}: {:?}: {text}",
        result.verdict
    );
    assert!(text.contains(says), "{test}: {text}");
}

#[test]
fn a_sandboxed_test_cannot_read_proc() {
    fails_saying("hostile_read_environ", "could not read /proc/self/environ");
}

/// Run as root, the test has a network of its own with nothing up in it.
#[test]
fn a_sandboxed_test_cannot_send_udp() {
    if nix::unistd::Uid::effective().is_root() {
        fails_saying("hostile_udp", "could not send UDP");
    }
}

#[test]
fn a_sandboxed_test_cannot_signal_the_runner() {
    fails_saying("hostile_signal_parent", "could not kill its parent");
    // And this process, its parent, is still here to say so.
}

#[test]
fn a_sandboxed_test_runs_out_of_memory_at_its_limit() {
    let result = run_spec(&guarded("hostile_allocate_8gb"));
    let text = output(&result);
    assert!(
        matches!(result.verdict, Verdict::Failed(s) if s.signal() == Some(6)),
        "{:?}: {text}",
        result.verdict
    );
    assert!(text.contains("memory allocation of"), "{text}");
    assert!(!text.contains("fixture: holds"), "{text}");
}

/// Whether `pid` is gone (or a zombie waiting for init).
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

fn grandchild_of(result: &RunResult) -> u32 {
    let text = output(result);
    text.lines()
        .find_map(|line| line.strip_prefix("fixture: grandchild "))
        .unwrap_or_else(|| panic!("no grandchild in {text}"))
        .parse()
        .unwrap()
}

#[test]
fn a_grandchild_holding_the_output_dies_with_the_run() {
    for guard in [false, true] {
        let start = Instant::now();
        let result = if guard {
            run_spec(&guarded("hostile_grandchild"))
        } else {
            run("hostile_grandchild", 1, LONG, &AtomicBool::new(false))
        };
        let elapsed = start.elapsed();
        let expected = if guard {
            Verdict::ExitedEarly
        } else {
            Verdict::Passed
        };
        assert_eq!(result.verdict, expected, "{}", output(&result));
        assert!(
            elapsed < result.duration + Duration::from_secs(2),
            "the run took {elapsed:?}, the child {:?}",
            result.duration
        );
        let pid = grandchild_of(&result);
        let deadline = Instant::now() + Duration::from_secs(5);
        while !gone(pid) {
            assert!(
                Instant::now() < deadline,
                "grandchild {pid} outlived its run"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn a_grandchild_out_of_reach_holds_the_run_up_for_a_second_at_most() {
    let start = Instant::now();
    let result = run(
        "hostile_escaped_grandchild",
        1,
        LONG,
        &AtomicBool::new(false),
    );
    let elapsed = start.elapsed();
    let pid = grandchild_of(&result);
    // It outlives the run (that is the point); this test cleans up.
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
    assert_eq!(result.verdict, Verdict::Passed, "{}", output(&result));
    assert!(
        elapsed < result.duration + Duration::from_secs(2),
        "the run took {elapsed:?}, the child {:?}",
        result.duration
    );
}

/// This process's peak resident set, in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .map(|n| n.trim().parse().unwrap())
        .unwrap();
    kib << 10
}

#[test]
fn a_flood_of_output_keeps_its_head_and_tail_in_bounded_memory() {
    let before = peak_rss();
    let mut spec = RunSpec::new(fixture(), "hostile_flood_output", 1, LONG);
    spec.env = vec![("DSTEST_FIXTURE".to_string(), "1".to_string())];
    spec.require_verdict = true;
    let result = run_spec(&spec);
    let grown = peak_rss().saturating_sub(before);
    assert_eq!(result.verdict, Verdict::Passed);
    assert!(
        result.output.len() <= runner::DEFAULT_OUTPUT_CAP + 100,
        "{} bytes kept",
        result.output.len()
    );
    assert!(
        grown < 3 * runner::DEFAULT_OUTPUT_CAP as u64,
        "the runner grew by {} MiB",
        grown >> 20
    );
    let text = output(&result);
    let head = &text[..text.len().min(4096)];
    assert!(head.contains("fixture: LAB_SEED=1\n"), "{head}");
    assert!(text.contains("fixture: the first MiB is out"));
    let marker = text
        .lines()
        .find(|line| line.starts_with("[... ") && line.ends_with(" bytes cut ...]"))
        .expect("the cut is marked");
    let cut: u64 = marker[5..marker.len() - 15].parse().unwrap();
    assert!(cut > 550 << 20, "{marker}");
    assert!(text.contains("fixture: 600 MiB printed\n"));
}

#[test]
fn a_sandbox_that_cannot_be_set_up_fails_the_run_clearly() {
    let mut spec = guarded("pass_9a");
    if let Some(sandbox) = &mut spec.sandbox {
        sandbox.read.push(PathBuf::from("/no/such/dir"));
    }
    let result = run_spec(&spec);
    assert_eq!(
        result.verdict,
        Verdict::SandboxFailed,
        "{}",
        output(&result)
    );
    assert!(result.verdict.failed());
    assert_eq!(result.sandbox, None);
    let text = output(&result);
    assert!(text.contains("sandbox: cannot open /no/such/dir"), "{text}");
    assert!(!text.contains("fixture: LAB_SEED"), "{text}");
}
