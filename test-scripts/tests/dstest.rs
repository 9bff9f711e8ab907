//! dstest, the binary, on the fixture (tests/fixture.rs): the list of the
//! tests selected, counts, saved logs and how many are kept, seeds, time
//! limits, replay commands, exit codes, progress lines, the final line, and
//! its errors; and on the real labs, the warning for a piece of a name that
//! selects tests of more than one lab, and `--lab`.

// Tests of a tool, never run under labrt's simulation.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A fresh directory for one test's logs.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("dstest")
        .join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// dstest on the fixture, armed, with its logs in `dir`.
fn dstest(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dstest"));
    command
        .args(["--package", "test-scripts", "--test", "fixture", "-o"])
        .arg(dir)
        .args(args)
        .env("DSTEST_FIXTURE", "1")
        .stdin(Stdio::null());
    command
}

fn run(dir: &Path, args: &[&str]) -> (Output, String) {
    let output = dstest(dir, args).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (output, stdout)
}

fn last_line(stdout: &str) -> &str {
    stdout.lines().last().unwrap_or_default()
}

/// The names of the files in `dir`, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn failures_are_counted_logged_and_replayable() {
    let dir = scratch("failures");
    let summary = dir.join("summary.json");
    let (output, stdout) = run(
        &dir,
        &[
            "9A",
            "-n",
            "3",
            "-p",
            "2",
            "--json",
            summary.to_str().unwrap(),
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert_eq!(last_line(&stdout), "3 passed, 3 failed");
    // The tests selected, before any runs.
    assert!(
        stdout.starts_with("dstest: 2 tests: fixture: fail_9a, pass_9a\n"),
        "{stdout}"
    );
    // Each failed run's pages are kept beside its log.
    assert_eq!(
        files(&dir),
        [
            "fail_9a_1",
            "fail_9a_1.log",
            "fail_9a_2",
            "fail_9a_2.log",
            "fail_9a_3",
            "fail_9a_3.log",
            "summary.json"
        ]
    );

    let summary = json(&summary);
    assert_eq!(
        (summary["passed"].as_u64(), summary["failed"].as_u64()),
        (Some(3), Some(3))
    );
    let fail = &summary["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "fail_9a")
        .unwrap();
    assert_eq!(fail["failed"], 3);
    for run in fail["runs"].as_array().unwrap() {
        let seed = run["seed"].as_u64().unwrap();
        let log = fs::read_to_string(run["log"].as_str().unwrap()).unwrap();
        let replay = format!(
            "LAB_SEED={seed} cargo test -p test-scripts --test fixture -- --exact fail_9a --nocapture"
        );
        assert_eq!(run["replay"].as_str(), Some(replay.as_str()));
        assert!(log.contains(&format!("replay: {replay}\n")), "{log}");
        assert!(stdout.contains(&format!("replay: {replay}\n")), "{stdout}");
        // The seed reached the test, whose output is in the log.
        assert!(
            log.contains(&format!("fixture failure (LAB_SEED={seed})")),
            "{log}"
        );
        // So did LAB_OUTPUT_DIR: the page the log names is there.
        let page = log
            .lines()
            .find_map(|l| l.strip_prefix("info: wrote history visualization to "))
            .unwrap_or_else(|| panic!("no page in {log}"));
        let run_dir = fs::canonicalize(&dir)
            .unwrap()
            .join(format!("fail_9a_{}", run["run"]));
        assert_eq!(Path::new(page).parent(), Some(run_dir.as_path()), "{log}");
        assert!(Path::new(page).is_file(), "{page}");
    }

    // The replay command reproduces the failure, with the same seed.
    let replay = fail["runs"][0]["replay"].as_str().unwrap();
    let seed = fail["runs"][0]["seed"].as_u64().unwrap();
    let replayed = Command::new("sh")
        .args(["-c", replay])
        .env("DSTEST_FIXTURE", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&replayed.stdout).into_owned()
        + &String::from_utf8_lossy(&replayed.stderr);
    assert!(!replayed.status.success(), "{text}");
    assert!(
        text.contains(&format!("fixture failure (LAB_SEED={seed})")),
        "{text}"
    );
}

#[test]
fn every_run_gets_its_own_seed() {
    let dir = scratch("seeds");
    let summary = dir.join("summary.json");
    let (output, stdout) = run(
        &dir,
        &[
            "seeded_9c",
            "-n",
            "8",
            "-p",
            "2",
            "--json",
            summary.to_str().unwrap(),
        ],
    );
    let runs = json(&summary)["tests"][0]["runs"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(runs.len(), 8);
    let mut seeds: Vec<u64> = runs.iter().map(|r| r["seed"].as_u64().unwrap()).collect();
    // The fixture fails exactly for odd seeds, naming the directory dstest
    // gave it for its other output: the run's own, beside its log, as an
    // absolute path.
    let logs = fs::canonicalize(&dir).unwrap();
    for run in &runs {
        assert_eq!(
            run["passed"].as_bool(),
            Some(run["seed"].as_u64().unwrap() % 2 == 0)
        );
        if let Some(log) = run["log"].as_str() {
            let log = fs::read_to_string(log).unwrap();
            let pages = logs.join(format!("seeded_9c_{}", run["run"]));
            assert!(
                log.contains(&format!("output to {}\n", pages.display())),
                "{log}"
            );
        }
    }
    let failed = seeds.iter().filter(|&&s| s % 2 == 1).count();
    assert_eq!(
        last_line(&stdout),
        format!("{} passed, {failed} failed", 8 - failed)
    );
    assert_eq!(output.status.success(), failed == 0);
    seeds.sort();
    seeds.dedup();
    assert_eq!(seeds.len(), 8, "seeds repeat: {seeds:?}");
}

#[test]
fn only_the_first_failures_of_a_test_keep_their_logs_and_pages() {
    let dir = scratch("keep");
    let summary = dir.join("summary.json");
    let (output, stdout) = run(
        &dir,
        &[
            "fail_9a",
            "pass_9a",
            "-n",
            "6",
            "-p",
            "3",
            "--keep",
            "2",
            "--json",
            summary.to_str().unwrap(),
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert_eq!(last_line(&stdout), "6 passed, 6 failed");
    assert!(
        stdout.contains(
            "\ndstest: 4 failed runs kept no log (only the first 2 of each test do: --keep 2)\n"
        ),
        "{stdout}"
    );
    let summary = json(&summary);
    assert_eq!(summary["logs_not_kept"], 4);
    let runs = summary["tests"][0]["runs"].as_array().unwrap().clone();
    let kept: Vec<u64> = runs
        .iter()
        .filter(|r| r["log"].is_string())
        .map(|r| r["run"].as_u64().unwrap())
        .collect();
    assert_eq!(kept.len(), 2, "{runs:?}");
    // The logs kept, and beside each the page its run wrote; no other run's.
    let mut expected: Vec<String> = kept
        .iter()
        .flat_map(|run| [format!("fail_9a_{run}"), format!("fail_9a_{run}.log")])
        .chain(["summary.json".to_string()])
        .collect();
    expected.sort();
    assert_eq!(files(&dir), expected);
    for run in &kept {
        assert_eq!(files(&dir.join(format!("fail_9a_{run}"))).len(), 1);
    }
    // A failure whose log was not kept is still announced, with its seed.
    for run in runs.iter().filter(|r| r["log"].is_null()) {
        let line = format!(
            "FAIL fail_9a run {} failed (exit status: 101) after ",
            run["run"]
        );
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&line))
            .unwrap_or_else(|| panic!("no {line:?} in {stdout}"));
        assert!(
            line.ends_with(&format!(
                " s (LAB_SEED={}); log not kept (--keep 2)",
                run["seed"]
            )),
            "{line}"
        );
    }
}

#[test]
fn a_log_that_cannot_be_written_is_counted_and_the_table_still_comes() {
    let dir = scratch("unwritable");
    // A directory where the first failed run's log would go.
    fs::create_dir(dir.join("fail_9a_1.log")).unwrap();
    let (output, stdout) = run(
        &dir,
        &[
            "fail_9a",
            "pass_9a",
            "-n",
            "3",
            "--sequential",
            "--keep",
            "2",
        ],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("fail_9a_1.log: ") && stderr.contains("the run is counted, its log lost"),
        "{stderr}"
    );
    assert!(stdout.contains("\ntest "), "no table: {stdout}");
    assert!(
        stdout.contains("\ndstest: 1 log could not be written (see the errors above)\n")
            && stdout.contains("\ndstest: 1 failed run kept no log "),
        "{stdout}"
    );
    assert_eq!(last_line(&stdout), "3 passed, 3 failed");
    // Run 1's page went with its log; run 2 kept both; run 3 neither.
    assert_eq!(files(&dir), ["fail_9a_1.log", "fail_9a_2", "fail_9a_2.log"]);

    // With no failed run, a lost log makes the exit status 2.
    let dir = scratch("unwritable-archive");
    fs::create_dir(dir.join("pass_9a_1.log")).unwrap();
    let (output, stdout) = run(&dir, &["pass_9a", "-n", "2", "--archive"]);
    assert_eq!(output.status.code(), Some(2), "{stdout}");
    assert!(stdout.contains("\npass_9a "), "no table: {stdout}");
    assert_eq!(last_line(&stdout), "2 passed, 0 failed");
}

#[test]
fn without_a_terminal_progress_comes_as_lines() {
    let dir = scratch("progress");
    let (output, stdout) = run(&dir, &["pass_9a", "-n", "20", "-p", "2"]);
    assert!(output.status.success(), "{stdout}");
    let lines: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("dstest: ") && l.contains(" runs, "))
        .collect();
    // One line for each tenth of the runs but the last.
    assert_eq!(lines.len(), 9, "{stdout}");
    for (i, line) in lines.iter().enumerate() {
        let head = format!("dstest: {}/20 runs, 0 failed, ", 2 * (i + 1));
        assert!(
            line.starts_with(&head) && line.ends_with('s'),
            "{line:?} in {stdout}"
        );
    }
    assert_eq!(last_line(&stdout), "20 passed, 0 failed");

    // And every 10 s while no run ends.
    let (_, stdout) = run(&dir, &["hang_9b", "-n", "1", "--timeout", "11"]);
    assert!(
        stdout.contains("\ndstest: 0/1 runs, 0 failed, 10s\n"),
        "{stdout}"
    );
}

#[test]
fn a_hung_run_is_killed_and_counted_as_failed() {
    let dir = scratch("timeout");
    // The first dstest run builds the fixture; time only the run (a cold
    // build on a busy machine alone took more than 30 s).
    run(&scratch("timeout-build"), &["pass_9a", "-n", "1"]);
    let start = Instant::now();
    let (output, stdout) = run(&dir, &["hang_9b", "-n", "1", "--timeout", "0.5"]);
    assert!(start.elapsed() < Duration::from_secs(30));
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(last_line(&stdout), "0 passed, 1 failed");
    let log = fs::read_to_string(dir.join("hang_9b_1.log")).unwrap();
    assert!(
        log.starts_with("dstest: hang_9b run 1 timed out (killed) after 0."),
        "{log}"
    );
    assert!(log.contains("fixture: LAB_SEED="), "{log}");
}

#[test]
fn archive_keeps_the_logs_of_passed_runs() {
    let dir = scratch("archive");
    let (output, stdout) = run(&dir, &["pass_9a", "-n", "2", "--archive", "--sequential"]);
    assert!(output.status.success(), "{stdout}");
    assert_eq!(last_line(&stdout), "2 passed, 0 failed");
    assert!(
        stdout.contains("pass_9a") && stdout.contains(" ± "),
        "{stdout}"
    );
    assert_eq!(files(&dir), ["pass_9a_1.log", "pass_9a_2.log"]);
}

#[test]
fn fail_fast_stops_at_the_first_failure() {
    let dir = scratch("fail-fast");
    let (output, stdout) = run(&dir, &["fail_9a", "pass_9a", "-n", "5", "--fail-fast"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(last_line(&stdout), "0 passed, 1 failed");
}

#[test]
fn unknown_tests_are_errors_naming_the_closest() {
    let dir = scratch("unknown");
    for (arg, expected) in [
        (
            "pas_9a",
            "no test is named \"pas_9a\" or has it in its name; closest: pass_9a,",
        ),
        (
            "9D",
            "no test of part 9D (no name ends in _9d); parts: 9A, 9B, 9C",
        ),
    ] {
        let (output, _) = run(&dir, &[arg]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
    }
}

#[test]
fn bad_flags_are_usage_errors() {
    let dir = scratch("flags");
    for (args, expected) in [
        (&["2A", "-p", "0"][..], "--workers <N>"),
        (&["2A", "-n", "0"], "--iter <N>"),
        (&["2A", "--timeout", "-1"], "--timeout <SECONDS>"),
        (&["2A", "--timeout", "soon"], "--timeout <SECONDS>"),
        (&["2A", "--growth", "5"], "--loop"),
        (&["2A", "--keep", "few"], "--keep <N>"),
        (
            &["2A", "--lab", "9"],
            "no lab \"9\" in test-scripts/labs.txt; its labs: 2, 2+, 3, 3+, 4",
        ),
        (
            &["pass_9a", "--lab", "2"],
            "no test binary of lab 2 was built",
        ),
        (&[], "<TEST>"),
        (
            &["pass_9a", "--json", "/nonexistent/dir/summary.json"],
            "cannot write /nonexistent/dir/summary.json",
        ),
    ] {
        let (output, _) = run(&dir, args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_the_runs_and_prints_what_finished() {
    let dir = scratch("ctrl-c");
    let start = Instant::now();
    let mut child = dstest(
        &dir,
        &["hang_9b", "pass_9a", "-n", "1", "-p", "2", "--archive"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    // Once pass_9a's log is saved, hang_9b is surely running.
    let log = dir.join("pass_9a_1.log");
    while !log.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "pass_9a never ran"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{stdout}");
    assert!(start.elapsed() < Duration::from_secs(60));
    assert!(stdout.contains("interrupted"), "{stdout}");
    let table_row = |name: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(name))
            .map(String::from)
    };
    let row = table_row("hang_9b").unwrap();
    assert!(
        row.split_whitespace().take(3).eq(["hang_9b", "0", "0"]),
        "{row}"
    );
    assert_eq!(last_line(&stdout), "1 passed, 0 failed");
}

/// `--which` (for `make test-one`) names a test's lab, or fails with the
/// closest names: a typo must not run zero tests and pass.
#[test]
fn which_names_the_lab_of_a_test_or_the_closest_tests() {
    let which = |test: &str| {
        Command::new(env!("CARGO_BIN_EXE_dstest"))
            .args(["--which", test])
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
            .output()
            .unwrap()
    };
    for (test, args) in [
        ("basic_3a", "-p kvraft --test kvraft_test"),
        // Both labs' hardening suites are `hardening_test`.
        (
            "late_duplicates_are_not_applied_again_3a_plus",
            "-p kvraft --test hardening_test",
        ),
        (
            "votes_survive_a_crash_2c_plus",
            "-p raft --test hardening_test",
        ),
    ] {
        let found = which(test);
        assert!(found.status.success(), "{test}");
        assert_eq!(String::from_utf8_lossy(&found.stdout).trim(), args);
    }
    let typo = which("no_such_test_2b");
    assert_eq!(typo.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&typo.stderr);
    assert!(
        stderr.contains("no test is named") && stderr.contains("_2b"),
        "{stderr}"
    );
}

/// dstest on the labs' own suites, from the repository's root.
fn dstest_on_labs(dir: &Path, args: &[&str]) -> (Output, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_dstest"))
        .args(args)
        .args(["-n", "1", "--sim", "--keep", "0", "-o"])
        .arg(dir)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, stdout, stderr)
}

/// `persist` is a piece of names in lab 2 (`persist1_2c`) and lab 3
/// (`persist_concurrent_3a`): a student stressing lab 2 with it also ran
/// lab 3's tests, which failed on its stubs. dstest warns, naming each lab's
/// tests, and `--lab` restricts the selection. (The verdicts of the runs,
/// one each in the simulation, do not matter here: in the handout the
/// stubs fail.)
#[test]
fn a_piece_of_a_name_in_two_labs_is_warned_about_and_lab_restricts() {
    let dir = scratch("labs");
    let (_, stdout, stderr) = dstest_on_labs(
        &dir,
        &[
            "persist",
            "--package",
            "raft",
            "--package",
            "kvraft",
            "--test",
            "raft_test",
            "--test",
            "kvraft_test",
        ],
    );
    let raft = "persist1_2c, persist2_2c, persist3_2c";
    let kvraft = "persist_concurrent_3a, persist_concurrent_unreliable_3a, persist_one_client_3a, \
                  persist_partition_3a, persist_partition_unreliable_3a, \
                  persist_partition_unreliable_linearizable_3a";
    assert!(
        stderr.contains(&format!(
            "dstest: warning: \"persist\" is a piece of the names of tests of 2 labs, and \
             selects them all:\n  lab 2 (raft_test): {raft}\n  lab 3 (kvraft_test): {kvraft}\n  \
             to run the tests of some labs only, add --lab for each (e.g. --lab 2)"
        )),
        "{stderr}"
    );
    assert!(
        stdout.starts_with(&format!(
            "dstest: 9 tests: raft_test (lab 2): {raft}; kvraft_test (lab 3): {kvraft}\n"
        )),
        "{stdout}"
    );
    assert!(stdout.ends_with("9 passed, 0 failed\n") || stdout.contains(" failed\n"));

    let (output, stdout, stderr) = dstest_on_labs(&dir, &["persist", "--lab", "2"]);
    assert!(!stderr.contains("warning"), "{stderr}");
    assert!(
        stdout.starts_with(&format!("dstest: 3 tests: raft_test (lab 2): {raft}\n")),
        "{stdout}"
    );
    assert!(
        output.status.code().is_some_and(|code| code < 2),
        "{stdout}\n{stderr}"
    );
}

/// The (test, seed) pairs of a `--json` summary, sorted.
fn pairs(summary: &serde_json::Value) -> Vec<(String, u64)> {
    let mut pairs: Vec<(String, u64)> = summary["tests"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|test| {
            test["runs"].as_array().unwrap().iter().map(|run| {
                (
                    test["name"].as_str().unwrap().to_string(),
                    run["seed"].as_u64().unwrap(),
                )
            })
        })
        .collect();
    pairs.sort();
    pairs
}

/// `--shard K/N`: the slices are disjoint, together they are the whole
/// sweep, and in the simulation a run keeps its seed (its run number).
#[test]
fn shards_split_a_sweep_into_disjoint_slices_with_the_same_seeds() {
    let dir = scratch("shards");
    let args = ["pass_9a", "seeded_9c", "-n", "5", "--sim", "-p", "2"];
    let whole = dir.join("whole.json");
    let (_, stdout) = run(
        &dir.join("whole"),
        &[&args[..], &["--json", whole.to_str().unwrap()]].concat(),
    );
    let whole = pairs(&json(&whole));
    assert_eq!(whole.len(), 10, "{stdout}");
    let mut union = Vec::new();
    for k in 1..=3 {
        let path = dir.join(format!("shard-{k}.json"));
        let shard = format!("{k}/3");
        let (output, stdout) = run(
            &dir.join(format!("logs-{k}")),
            &[
                &args[..],
                &["--shard", &shard, "--json", path.to_str().unwrap()],
            ]
            .concat(),
        );
        assert!(output.status.code().is_some_and(|c| c < 2), "{stdout}");
        assert!(stdout.contains(&format!("(shard {shard}: ")), "{stdout}");
        let slice = pairs(&json(&path));
        // Each test's runs round-robin, the second test's one slice on:
        // slices of 3, 4 and 3 pairs, each with runs of both tests.
        assert_eq!(slice.len(), if k == 2 { 4 } else { 3 }, "{slice:?}");
        assert!(slice.iter().any(|(test, _)| test == "pass_9a"), "{slice:?}");
        assert!(
            slice.iter().any(|(test, _)| test == "seeded_9c"),
            "{slice:?}"
        );
        union.extend(slice);
    }
    union.sort();
    let count = union.len();
    union.dedup();
    assert_eq!(count, union.len(), "slices overlap: {union:?}");
    assert_eq!(union, whole);
}

#[test]
fn a_bad_shard_is_a_usage_error_naming_the_flag() {
    let dir = scratch("bad-shard");
    for shard in ["0/3", "4/3", "1", "a/b", "1/0"] {
        let (output, _) = run(&dir, &["pass_9a", "--shard", shard]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{shard}: {stderr}");
        assert!(
            stderr.contains("--shard <K/N>") && stderr.contains("1 <= K <= N"),
            "{shard}: {stderr}"
        );
    }
}

fn merge(files: &[&Path]) -> (Output, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_dstest"))
        .arg("merge")
        .args(files)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, stdout, stderr)
}

/// The table of a dstest output: from its header to the final line, times
/// left out (they differ from run to run).
fn table_rows(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .skip_while(|l| !l.starts_with("test "))
        .take_while(|l| {
            l.starts_with(|c: char| c.is_ascii_lowercase())
                && !l.ends_with(" failed")
                && !l.starts_with("failures by message")
        })
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .collect()
}

/// `dstest merge`: the shards' summaries make the unsharded run's table,
/// final line and exit status.
#[test]
fn merge_combines_the_shards_summaries() {
    let dir = scratch("merge");
    let args = [
        "fail_9a",
        "pass_9a",
        "seeded_9c",
        "-n",
        "4",
        "--sim",
        "-p",
        "2",
    ];
    let (whole_output, whole) = run(&dir.join("whole"), &args);
    assert_eq!(whole_output.status.code(), Some(1), "{whole}");
    let mut files = Vec::new();
    for k in 1..=4 {
        let path = dir.join(format!("shard-{k}.json"));
        let shard = format!("{k}/4");
        run(
            &dir.join(format!("logs-{k}")),
            &[
                &args[..],
                &["--shard", &shard, "--json", path.to_str().unwrap()],
            ]
            .concat(),
        );
        files.push(path);
    }
    let merged_json = dir.join("merged.json");
    let mut merge_args: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let (output, stdout, stderr) = {
        let output = Command::new(env!("CARGO_BIN_EXE_dstest"))
            .arg("merge")
            .args(&merge_args)
            .arg("--json")
            .arg(&merged_json)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        (output, stdout, stderr)
    };
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.starts_with("dstest merge: 4 summaries, 3 tests\n"),
        "{stdout}"
    );
    assert_eq!(table_rows(&stdout), table_rows(&whole), "{stdout}\n{whole}");
    // The failures by message, of all shards.
    assert!(
        stdout.contains(
            "\n      4  fixture failure (LAB_SEED=#)\n         in fail_9a; replay: LAB_SIM=1 \
             LAB_TRACE=replay.html LAB_SEED=1 cargo test -p test-scripts --test fixture -- --exact fail_9a --nocapture\n"
        ),
        "{stdout}"
    );
    assert_eq!(table_rows(&stdout).len(), 4, "{stdout}");
    assert_eq!(last_line(&stdout), last_line(&whole));
    let merged = json(&merged_json);
    assert_eq!(merged["failed"], 6);
    // Runs in order, whichever shard ran them.
    let runs: Vec<u64> = merged["tests"][0]["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run"].as_u64().unwrap())
        .collect();
    assert_eq!(runs, [1, 2, 3, 4]);

    // Only passed runs: 0. The same file twice: a warning.
    let passed = dir.join("passed.json");
    run(
        &dir.join("passed"),
        &["pass_9a", "-n", "2", "--json", passed.to_str().unwrap()],
    );
    let (output, stdout, stderr) = merge(&[&passed]);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_eq!(last_line(&stdout), "2 passed, 0 failed");
    let (_, stdout, stderr) = merge(&[&passed, &passed]);
    assert!(
        stderr.contains("warning: run 1 of pass_9a is in both "),
        "{stderr}"
    );
    assert_eq!(last_line(&stdout), "4 passed, 0 failed");

    // A missing or bad file is named.
    let missing = dir.join("missing.json");
    let bad = dir.join("bad.json");
    fs::write(&bad, "{\"passed\": 1}").unwrap();
    merge_args.push(&missing);
    let (output, _, stderr) = merge(&merge_args);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot read {}: ", missing.display())),
        "{stderr}"
    );
    let (output, _, stderr) = merge(&[&passed, &bad]);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{} is not a dstest --json summary: ",
            bad.display()
        )),
        "{stderr}"
    );
    let (output, _, stderr) = merge(&[]);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("<JSON>"), "{stderr}");
}

/// A run on a simulated machine of another speed replays only at that
/// speed: `--sim-step`, or `LAB_SIM_STEP` inherited from dstest's
/// environment, reaches each run and its replay command; a cost that is no
/// duration, or out of range, is refused before anything runs.
#[test]
fn the_simulated_machines_speed_reaches_the_runs_and_their_replays() {
    let dir = scratch("sim-step");
    let args = ["fail_9a", "-n", "1", "--sim", "--no-timeline"];
    let flag = ["--sim-step", "50us"];
    for (step, extra, env) in [("50us", &flag[..], None), ("1ms", &[][..], Some("1ms"))] {
        let mut command = dstest(&dir, &args);
        command.args(extra);
        if let Some(step) = env {
            command.env("LAB_SIM_STEP", step);
        }
        let output = command.output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(1), "{stdout}");
        assert!(
            stdout.contains(&format!(
                "replay: LAB_SIM=1 LAB_SIM_STEP={step} LAB_SEED=1 cargo test"
            )),
            "{stdout}"
        );
        let log = fs::read_to_string(dir.join("fail_9a_1.log")).unwrap();
        assert!(
            log.contains(&format!("fixture: LAB_SIM_STEP={step}\n")),
            "{log}"
        );
    }
    let output = dstest(&dir, &args)
        .env("LAB_SIM_STEP", "0.05ms")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("from 1us to 1ms") && stderr.contains("\"0.05ms\" (from the environment)"),
        "{stderr}"
    );
    for bad in ["5", "0us", "2ms", "fast"] {
        let output = dstest(&dir, &args)
            .args(["--sim-step", bad])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{bad}: {stderr}");
        assert!(stderr.contains("from 1us to 1ms"), "{bad}: {stderr}");
    }
    let output = dstest(&dir, &["fail_9a", "--sim-step", "50us"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--sim"));
}

/// A sweep's failures end in a table by message: numbers made `#`, a count,
/// the tests, and the replay of the smallest seed.
#[test]
fn failures_are_grouped_by_message() {
    let dir = scratch("signatures");
    let summary = dir.join("summary.json");
    let (output, stdout) = run(
        &dir,
        &[
            "fail_9a",
            "hang_9b",
            "pass_9a",
            "-n",
            "3",
            "-p",
            "2",
            "--sim",
            "--timeout",
            "0.5",
            "--keep",
            "0",
            "--json",
            summary.to_str().unwrap(),
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let replay = |test: &str| {
        format!(
            "replay: LAB_SIM=1 LAB_TRACE=replay.html LAB_SEED=1 cargo test -p test-scripts --test fixture -- --exact {test} --nocapture"
        )
    };
    assert!(
        stdout.contains(&format!(
            "\nfailures by message (numbers as #):\n  count  message\n      \
             3  fixture failure (LAB_SEED=#)\n         in fail_9a; {}\n      \
             3  timed out (killed)\n         in hang_9b; {}\n3 passed, 6 failed\n",
            replay("fail_9a"),
            replay("hang_9b")
        )),
        "{stdout}"
    );
    // Each failed run's message is in the summary, even with no log kept.
    let summary = json(&summary);
    let second = &summary["tests"][0]["runs"][1];
    assert_eq!(second["log"], serde_json::Value::Null);
    assert_eq!(second["message"], "fixture failure (LAB_SEED=2)");

    // No failure, no such table.
    let (_, stdout) = run(&dir, &["pass_9a", "-n", "2"]);
    assert!(!stdout.contains("failures by message"), "{stdout}");
}
