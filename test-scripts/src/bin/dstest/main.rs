//! dstest — runs lab tests many times, in parallel, to catch the failures
//! that show once in a hundred runs (a port of the `dstest` script of
//! 6.824 students).
//!
//! ```text
//! cargo run -p test-scripts --bin dstest -- [OPTIONS] TEST...
//! dstest 2A -n 100 -p 4            # each 2A test 100 times, 4 at a time
//! dstest backup_2b figure8 -n 50   # one test by name, the figure8 ones by a piece of name
//! ```
//!
//! It builds the test binaries once (`cargo test --no-run`), prints the
//! tests it selected (`dstest: 4 tests: raft_test (lab 2): persist1_2c, …`),
//! then runs each selected test `-n` times, `-p` runs at a time. Each run is
//! a process of its own that runs one test (`<binary> --exact <test>
//! --test-threads=1 --nocapture`) with a fresh random `LAB_SEED`; a run still
//! going after `--timeout` seconds is killed and counts as a failure.
//! Progress bars show each test's runs and failures; when stdout or stderr
//! is not a terminal, a line instead, at every tenth of the runs and every
//! 10 s (`dstest: 120/900 runs, 3 failed, 2m10s`). At the end a table gives
//! each test's failures, runs and mean time ± standard deviation, lines say
//! how many logs were not kept or could not be written, and the last line
//! is `N passed, N failed` (runs); the table comes even after an error. The
//! exit code is 0 if every run passed, 1 if any failed, 130 after Ctrl-C,
//! and 2 on bad input, a build failure, a run that could not be started, or
//! (with no failed run) a log that could not be written.
//!
//! A failed run's output (stdout and stderr, as interleaved) is saved to
//! `<output>/<test>_<run>.log`, headed by its seed and the command that
//! replays it, which dstest also prints:
//! `LAB_SEED=<seed> cargo test -p raft --test raft_test -- --exact <test> --nocapture`.
//! Only the first `--keep` (5) failed runs of each test keep their logs: a
//! stress run of a broken test fails hundreds of times, and would fill the
//! disk. The others are counted, and announced with their seed. `dslogs`
//! pretty-prints logs.
//!
//! Each run's `LAB_OUTPUT_DIR`, where a failed linearizability check writes
//! its HTML page, is `<output>/<test>_<run>/`, beside the log: kept with the
//! log if the test wrote anything there, removed otherwise. A failed run
//! also writes there the timeline of the run, `timeline.html` (the
//! tester's `LAB_TRACE`, with `LAB_TRACE_ONLY_FAILED=1`; see
//! `docs/debugging.md`), which the failure line names. The poller that
//! draws the peers' roles changes the schedule, so a simulated run with a
//! timeline is replayed with `LAB_TRACE` set: the replay command says so
//! (`LAB_TRACE=replay.html`, in the directory it runs in).
//! `--no-timeline` turns timelines off.
//!
//! TEST is an exact test name, a part (`2A`, `2b`, `3B`: the tests whose
//! names end in `_2a`, …) or a piece of test names (`election`); an
//! argument that matches nothing is an error naming the closest tests. A
//! piece that selects tests of more than one lab (the `lab` column of
//! `test-scripts/labs.txt`: `persist` is in lab 2's and lab 3's names) is
//! warned about, naming each lab's tests; `--lab` restricts the selection.
//!
//! Flags:
//!
//! * `-n, --iter N` runs of each test (10); `-p, --workers N` runs at once
//!   (1). Lab tests are timing-sensitive: more workers than cores can fail
//!   tests that are correct.
//! * `-o, --output DIR` where logs go (`dstest-logs`); `-a, --archive` saves
//!   the logs of passed runs too; `--keep N` the logs of the first N failed
//!   runs of each test (5).
//! * `--lab LAB` (repeatable) selects among the tests of that lab's suite
//!   only (`2`, `2+` for its hardening suite, `3`, …), and builds only
//!   those suites unless `--package` or `--test` say otherwise.
//! * `-t, --timeout SECONDS` per run (150, above the tester's own 120).
//! * `-s, --sequential` runs all of one test's runs before the next test's,
//!   instead of taking the tests in turn.
//! * `-f, --fail-fast` stops at the first failure, killing the runs under
//!   way (they are not counted).
//! * `-l, --loop` runs round after round until Ctrl-C, multiplying the runs
//!   per test by `-g, --growth FACTOR` (10) each round.
//! * `--sim` runs the tests in labrt's deterministic simulation
//!   (`LAB_SIM=1`): run k of a test gets `LAB_SEED=k`, so a command runs
//!   the same seeds every time, and a failed seed's replay command
//!   (`LAB_SIM=1 LAB_SEED=k cargo test ...`) repeats the very same run, log
//!   included. A simulated run takes milliseconds to seconds: `-n 1000`.
//! * `--sim-step COST` (with `--sim`; `LAB_SIM_STEP` from the environment
//!   too) runs on a simulated machine of that speed: the virtual time of a
//!   scheduling point, 5us by default. A slower machine (`50us`) runs a
//!   busy test (lab 3's many clients) several times faster, each run making
//!   fewer operations; the replay command carries it.
//! * `--json FILE` writes every run's seed, verdict, time and log to FILE.
//! * `--shard K/N` (K from 1 to N) runs only the K-th of N disjoint slices of
//!   the (test, run) pairs: run r (from 1) of the t-th test selected (from
//!   0) goes to slice `(t + r - 1) mod N + 1`, so each test's runs go
//!   round-robin over the slices. N machines run `--shard 1/N` …
//!   `--shard N/N` of one sweep. Run numbers, and so `--sim` seeds and log
//!   names, are those of the whole sweep, so a failing seed replays the same
//!   whatever the sharding; `dstest merge` combines the slices' `--json`.
//! * `--package PACKAGE`, `--test TARGET` (repeatable) choose what cargo
//!   builds: by default every integration-test target named `*_test` in the
//!   workspace (the labs' `raft_test`, … and the framework's own).
//!
//! When runs failed, a second table groups them by message: each failed
//! run's first panic message (the tester's `expected one leader, got none
//! (LAB_SEED=8412)`), or its verdict if it has none, with numbers, seeds and
//! hex hashes made `#`; for each, how many runs, in which tests, and the
//! replay command of the run with the smallest seed. `--json` holds each
//! failed run's `message`.
//!
//! `dstest merge a.json b.json …` combines `--json` summaries (of the
//! shards of one sweep, say) into the same tables and final line, and one
//! exit status: 0 if every run passed, 1 if any failed, 2 if a file cannot
//! be read or is no summary (the message names it), or a summary was
//! interrupted. `--json FILE` writes the merged summary.
//!
//! Ctrl-C (or SIGTERM) kills the runs under way, which count neither way,
//! and prints the table of the finished runs and the final line.

// A tool that drives test processes from the outside; it never runs under
// labrt's simulation, so the workspace ban on std threads and clocks
// (clippy.toml) does not apply.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

mod merge;
mod report;
mod select;
mod signature;

use std::fs;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use clap::Parser;
use console::style;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use report::{RunRecord, Summary, TestRuns};
use select::Candidate;
use test_scripts::labs::{self, LABS, Lab};
use test_scripts::runner::{self, RunResult, RunSpec, TestBinary, Verdict};
use test_scripts::shard::Shard;

/// The exit code after Ctrl-C, as for a shell command ended by SIGINT.
const INTERRUPTED: u8 = 130;
/// The exit code for bad input or a build that failed.
const ERROR: u8 = 2;

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Runs lab tests many times in parallel, each run in its own process with its own LAB_SEED.",
    after_help = "Examples:\n  dstest 2A -n 100 -p 4\n  dstest backup_2b figure8 -n 50 --timeout 200\n  \
                  dstest 2B -n 1000 --sim --shard 3/8 --json shard-3.json   # machine 3 of 8\n  \
                  dstest merge shard-1.json ... shard-8.json                # their one table\n\n\
                  Failed runs' logs hold their seed and the command that replays them."
)]
struct Cli {
    /// Tests to run: names (initial_election_2a), parts (2A: the tests whose names end in _2a),
    /// or pieces of names (election)
    #[arg(required_unless_present = "which", value_name = "TEST")]
    tests: Vec<String>,

    /// Print the cargo arguments that run the test named TEST, like `-p raft
    /// --test raft_test`, or fail naming the closest tests; builds nothing
    /// (`make test-one` uses it)
    #[arg(long, value_name = "TEST", conflicts_with = "tests")]
    which: Option<String>,

    /// Runs of each test
    #[arg(short = 'n', long = "iter", value_name = "N", default_value = "10", value_parser = at_least_one)]
    iterations: usize,

    /// Runs at once, each in a process of its own
    #[arg(short = 'p', long = "workers", value_name = "N", default_value = "1", value_parser = at_least_one)]
    workers: usize,

    /// Directory for the logs of failed runs, `<test>_<run>.log`
    #[arg(short, long, value_name = "DIR", default_value = "dstest-logs")]
    output: PathBuf,

    /// Seconds a run may take before it is killed and counted as failed
    #[arg(short, long, value_name = "SECONDS", default_value = "150", value_parser = seconds,
          allow_negative_numbers = true)]
    timeout: Duration,

    /// Run all runs of one test before the next test's (default: tests take turns)
    #[arg(short, long)]
    sequential: bool,

    /// Save the logs of passed runs too
    #[arg(short, long)]
    archive: bool,

    /// Keep the logs of the first N failed runs of each test (and the pages they wrote to
    /// LAB_OUTPUT_DIR); the rest are counted
    #[arg(long, value_name = "N", default_value = "5")]
    keep: usize,

    /// Select only among the tests of lab LAB's suite (a row of test-scripts/labs.txt: 2, 2+ for
    /// its hardening suite, 3, ...); repeatable
    #[arg(long = "lab", value_name = "LAB", value_parser = lab_name)]
    labs: Vec<String>,

    /// Stop at the first failure, killing the runs under way
    #[arg(short, long)]
    fail_fast: bool,

    /// Do not write a timeline (timeline.html) for each failed run
    #[arg(long)]
    no_timeline: bool,

    /// Run until Ctrl-C, multiplying the runs per test by --growth each round
    #[arg(short, long = "loop")]
    looping: bool,

    /// With --loop: the factor by which each round's runs per test grow
    #[arg(short, long, value_name = "FACTOR", default_value = "10", value_parser = at_least_one, requires = "looping")]
    growth: usize,

    /// Run in labrt's deterministic simulation (LAB_SIM=1), run k of a test with LAB_SEED=k:
    /// the same command runs the same seeds, and a failing seed replays exactly
    #[arg(long)]
    sim: bool,

    /// With --sim: the simulated machine's speed, the virtual time of each scheduling point,
    /// from 1us to 1ms (LAB_SIM_STEP; 5us by default). A slower machine runs busy tests faster,
    /// each making fewer operations; the replay command carries it
    #[arg(long, value_name = "COST", value_parser = sim_step, requires = "sim")]
    sim_step: Option<String>,

    /// Write a summary of every run (seed, verdict, time, log, replay command) as JSON to FILE
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,

    /// Run only the K-th of N disjoint slices of the (test, run) pairs, K from 1 to N (one
    /// machine's part of a sweep; `dstest merge` combines the slices' --json summaries)
    #[arg(long, value_name = "K/N", value_parser = Shard::parse)]
    shard: Option<Shard>,

    /// Build the tests of PACKAGE only, as cargo test -p (repeatable; default: the workspace)
    #[arg(long = "package", value_name = "PACKAGE")]
    packages: Vec<String>,

    /// Build the test target TARGET only, as cargo test --test (repeatable; globs allowed)
    #[arg(long = "test", value_name = "TARGET", default_value = "*_test")]
    targets: Vec<String>,
}

impl Cli {
    /// The arguments of `cargo test` that pick the binaries to build: those
    /// of `--package` and `--test`, or with `--lab` and neither, the labs'
    /// suites.
    fn cargo_selection(&self) -> Vec<String> {
        let default_targets = self.targets.len() == 1 && self.targets[0] == "*_test";
        if !self.labs.is_empty() && self.packages.is_empty() && default_targets {
            let mut packages: Vec<&str> = Vec::new();
            let mut targets: Vec<&str> = Vec::new();
            for suite in self.lab_suites() {
                if !packages.contains(&suite.package) {
                    packages.push(suite.package);
                }
                if !targets.contains(&suite.test_target) {
                    targets.push(suite.test_target);
                }
            }
            let packages = packages.into_iter().flat_map(|p| ["-p", p]);
            let targets = targets.into_iter().flat_map(|t| ["--test", t]);
            return packages.chain(targets).map(String::from).collect();
        }
        let packages = if self.packages.is_empty() {
            vec!["--workspace".to_string()]
        } else {
            self.packages
                .iter()
                .flat_map(|p| ["-p".to_string(), p.clone()])
                .collect()
        };
        let targets = self
            .targets
            .iter()
            .flat_map(|t| ["--test".to_string(), t.clone()]);
        packages.into_iter().chain(targets).collect()
    }

    /// The suites of the labs of `--lab`.
    fn lab_suites(&self) -> impl Iterator<Item = &'static Lab> + '_ {
        LABS.iter()
            .filter(|suite| self.labs.iter().any(|lab| lab == suite.lab))
    }

    /// `lab 2` or `labs 2, 3`, for messages.
    fn labs_named(&self) -> String {
        let s = if self.labs.len() == 1 { "" } else { "s" };
        format!("lab{s} {}", self.labs.join(", "))
    }
}

/// The lab of the suite `binary` is, if it is one: the row of the labs'
/// table of its package and test target (whose test file lists its tests).
fn lab_of(binary: &TestBinary) -> Option<&'static str> {
    LABS.iter()
        .find(|suite| suite.package == binary.package && suite.test_target == binary.target)
        .map(|suite| suite.lab)
}

/// How the list of selected tests names a binary: `raft_test (lab 2)`, or
/// its target alone if it is no lab's suite.
fn suite_label(binary: &TestBinary) -> String {
    match lab_of(binary) {
        Some(lab) => format!("{} (lab {lab})", binary.target),
        None => binary.target.clone(),
    }
}

fn lab_name(text: &str) -> Result<String, String> {
    let lab = text.trim();
    if LABS.iter().any(|suite| suite.lab == lab) {
        return Ok(lab.to_string());
    }
    let mut labs: Vec<&str> = LABS.iter().map(|suite| suite.lab).collect();
    labs.dedup();
    Err(format!(
        "no lab {lab:?} in test-scripts/labs.txt; its labs: {}",
        labs.join(", ")
    ))
}

fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("expected a whole number, 1 or more".to_string()),
    }
}

fn seconds(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .filter(|&secs| secs > 0.0)
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .ok_or_else(|| "expected a positive number of seconds, like 150 or 0.5".to_string())
}

/// The environment of each run: the simulation if asked for, and
/// `LAB_OUTPUT_DIR`, `pages` (absolute: a run starts in its package's
/// directory), so that a failed check's linearizability page lands next to
/// the run's log.
fn run_env(cli: &Cli, pages: &Path) -> Vec<(String, String)> {
    let mut env = vec![(
        "LAB_OUTPUT_DIR".to_string(),
        pages.to_string_lossy().into_owned(),
    )];
    if cli.sim {
        env.push(("LAB_SIM".to_string(), "1".to_string()));
    }
    if let Some(step) = &cli.sim_step {
        env.push(("LAB_SIM_STEP".to_string(), step.clone()));
    }
    if !cli.no_timeline {
        let timeline = pages.join(TIMELINE);
        env.push((
            "LAB_TRACE".to_string(),
            timeline.to_string_lossy().into_owned(),
        ));
        env.push(("LAB_TRACE_ONLY_FAILED".to_string(), "1".to_string()));
    }
    env
}

/// A step cost as `LAB_SIM_STEP` takes it (`50us`), checked, as given.
fn sim_step(text: &str) -> Result<String, String> {
    labrt::sim::parse_step(text).map(|_| text.trim().to_string())
}

/// The name of a failed run's timeline, in its `LAB_OUTPUT_DIR`.
const TIMELINE: &str = "timeline.html";
/// Where a replay writes its timeline: a name of its own, so that replaying
/// leaves the kept one as it was, and the same for every run, so that
/// failures grouped by message show one replay command.
const REPLAY_TIMELINE: &str = "replay.html";

/// The prefix of the pages the linearizability checker writes: the only
/// files dstest removes from a run's `LAB_OUTPUT_DIR`.
const PAGE_PREFIX: &str = "linearizability-";

/// Removes the pages a run wrote to `dir`, and `dir` if that empties it;
/// anything else stays (`-o` could name a directory with other files).
fn remove_pages(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(PAGE_PREFIX) || name == TIMELINE {
            let _ = fs::remove_file(entry.path());
        }
    }
    let _ = fs::remove_dir(dir);
}

/// Why runs end early. `cancel` is what the runner watches; `interrupted`
/// says that the user asked for it (Ctrl-C) rather than `--fail-fast`.
#[derive(Default)]
struct Stop {
    cancel: AtomicBool,
    interrupted: AtomicBool,
}

impl Stop {
    fn interrupt(&self) {
        self.interrupted.store(true, Ordering::SeqCst);
        self.cancel.store(true, Ordering::SeqCst);
    }

    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }

    fn interrupted(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }
}

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|arg| arg == "merge") {
        return merge::main(&args[1..]);
    }
    let mut cli = Cli::parse();
    // A step cost already in the environment is the runs' (they inherit
    // it), so their replay commands must carry it too.
    if let (true, None, Some(text)) = (cli.sim, &cli.sim_step, std::env::var_os("LAB_SIM_STEP")) {
        match sim_step(&text.to_string_lossy()) {
            Ok(step) => cli.sim_step = Some(step),
            Err(message) => {
                eprintln!("dstest: {message} (from the environment)");
                return ExitCode::from(ERROR);
            }
        }
    }
    if let Some(test) = &cli.which {
        return which(test);
    }
    let stop = Arc::new(Stop::default());
    let handler = Arc::clone(&stop);
    if let Err(err) = ctrlc::set_handler(move || handler.interrupt()) {
        eprintln!("dstest: cannot catch Ctrl-C: {err}");
        return ExitCode::from(ERROR);
    }
    match dstest(&cli, &stop) {
        Ok(code) => code,
        // Ctrl-C during the build also stops cargo, which then fails.
        Err(_) if stop.interrupted() => conclude(&cli, &[], 0, None, &stop),
        Err(message) => {
            eprintln!("dstest: {message}");
            ExitCode::from(ERROR)
        }
    }
}

/// `--which`: the lab test named `test`, from the labs' test files under
/// the current directory.
fn which(test: &str) -> ExitCode {
    let mut candidates = Vec::new();
    for lab in LABS.iter() {
        match lab.test_names(Path::new(".")) {
            Ok(names) => candidates.extend(names.into_iter().map(|name| Candidate {
                name,
                target: lab.test_target.to_string(),
                lab: Some(lab.lab.to_string()),
            })),
            Err(e) => {
                eprintln!(
                    "dstest: cannot read {}: {e} (run from the repository's root)",
                    lab.test_file
                );
                return ExitCode::from(ERROR);
            }
        }
    }
    // The suite whose file lists the test: two labs' suites may share a
    // target's name (each lab's hardening_test).
    match labs::lab_of_test(Path::new("."), test).ok().flatten() {
        Some(lab) => {
            println!("-p {} --test {}", lab.package, lab.test_target);
            ExitCode::SUCCESS
        }
        None => {
            let closest = select::closest(test, &candidates);
            eprintln!(
                "dstest: no test is named {test:?}; closest: {}",
                closest.join(", ")
            );
            ExitCode::from(ERROR)
        }
    }
}

fn dstest(cli: &Cli, stop: &Stop) -> Result<ExitCode, String> {
    // Written at the end; a path that cannot be written must not cost the
    // whole sweep first.
    if let Some(path) = &cli.json {
        fs::File::create(path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    let mut binaries = runner::build(&cli.cargo_selection()).map_err(|e| e.to_string())?;
    // The labs' suites in the course's order (the table's), then the rest.
    binaries.sort_by_key(|binary| {
        LABS.iter()
            .position(|suite| suite.package == binary.package && suite.test_target == binary.target)
            .unwrap_or(usize::MAX)
    });
    if binaries.is_empty() {
        return Err(format!(
            "cargo built no test binaries for `cargo test {}`",
            cli.cargo_selection().join(" ")
        ));
    }
    let mut candidates = Vec::new();
    let mut owners = Vec::new();
    for binary in &binaries {
        let lab = lab_of(binary);
        if !cli.labs.is_empty() && !lab.is_some_and(|lab| cli.labs.iter().any(|l| l == lab)) {
            continue;
        }
        for name in binary.list().map_err(|e| e.to_string())? {
            candidates.push(Candidate {
                name,
                target: binary.target.clone(),
                lab: lab.map(String::from),
            });
            owners.push(binary);
        }
    }
    if candidates.is_empty() && !cli.labs.is_empty() {
        return Err(format!(
            "no test binary of {} was built (`cargo test {}`); its suites: {}",
            cli.labs_named(),
            cli.cargo_selection().join(" "),
            cli.lab_suites()
                .map(|suite| format!("-p {} --test {}", suite.package, suite.test_target))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let selection = select::select(&cli.tests, &candidates).map_err(|e| {
        if cli.labs.is_empty() {
            e.to_string()
        } else {
            format!("{e} (among the tests of {} only: --lab)", cli.labs_named())
        }
    })?;
    let tests: Vec<(&TestBinary, &str)> = selection
        .chosen
        .iter()
        .map(|&i| (owners[i], candidates[i].name.as_str()))
        .collect();
    let listed: Vec<(String, &str)> = tests
        .iter()
        .map(|&(binary, name)| (suite_label(binary), name))
        .collect();
    println!("{}", report::selection_line(&listed));
    for warning in &selection.cross_lab {
        eprintln!(
            "{} {warning}",
            style("dstest: warning:").yellow().bold().for_stderr()
        );
    }
    fs::create_dir_all(&cli.output).map_err(|e| {
        format!(
            "cannot make the log directory {}: {e}",
            cli.output.display()
        )
    })?;
    let output = cli.output.display();
    let logs = match (cli.archive, cli.keep) {
        (false, 0) => "no logs kept (--keep 0)".to_string(),
        (true, 0) => format!("logs of passed runs in {output}"),
        (archive, keep) => format!(
            "logs of {}the first {keep} failed run{} of each test in {output}",
            if archive { "passed runs and " } else { "" },
            if keep == 1 { "" } else { "s" }
        ),
    };
    let slice = match cli.shard {
        Some(Shard { index, count }) => {
            format!(" (shard {index}/{count}: one (test, run) pair in {count} of those)")
        }
        None => String::new(),
    };
    println!(
        "dstest: {} run{} of each{slice}, {} at a time; {logs}",
        cli.iterations,
        if cli.iterations == 1 { "" } else { "s" },
        cli.workers,
    );

    let mut session = Session::new(cli, stop, &tests);
    let ran = session.rounds();
    session.progress.close(stop.interrupted());
    Ok(conclude(
        cli,
        &session.results,
        session.log_errors,
        ran.err(),
        stop,
    ))
}

/// Prints the table, what became of the logs, an `error` that stopped the
/// runs, and the final line; writes `--json`; and says how dstest should
/// exit. Whatever happened, the table and the final line come.
fn conclude(
    cli: &Cli,
    results: &[TestRuns],
    log_errors: usize,
    error: Option<String>,
    stop: &Stop,
) -> ExitCode {
    let interrupted = stop.interrupted();
    if !results.is_empty() {
        print!("{}", report::table(results));
    }
    let not_kept: usize = results.iter().map(|t| t.logs_not_kept).sum();
    if not_kept > 0 {
        let which = match cli.keep {
            0 => String::new(),
            keep => format!("only the first {keep} of each test do: "),
        };
        println!(
            "dstest: {not_kept} failed run{} kept no log ({which}--keep {})",
            if not_kept == 1 { "" } else { "s" },
            cli.keep,
        );
    }
    if log_errors > 0 {
        println!(
            "dstest: {log_errors} log{} could not be written (see the errors above)",
            if log_errors == 1 { "" } else { "s" },
        );
    }
    if interrupted {
        println!("dstest: interrupted; the runs under way were stopped and are not counted");
    }
    print!("{}", signature::table(results));
    let (passed, failed) = report::totals(results);
    let mut code = if interrupted {
        INTERRUPTED
    } else if error.is_some() {
        ERROR
    } else if failed > 0 {
        1
    } else if log_errors > 0 {
        ERROR
    } else {
        0
    };
    if let Some(error) = error {
        eprintln!("dstest: {error}; stopped, the runs under way are not counted");
    }
    if let Some(path) = &cli.json {
        let written = fs::File::create(path).and_then(|file| {
            serde_json::to_writer_pretty(file, &Summary::new(results, interrupted, log_errors))
                .map_err(std::io::Error::from)
        });
        if let Err(err) = written {
            eprintln!("dstest: cannot write {}: {err}", path.display());
            code = ERROR;
        }
    }
    println!("{passed} passed, {failed} failed");
    ExitCode::from(code)
}

/// How often the progress line comes at least, when there are no bars.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// The bars: one per test, and one for all runs; or, when stdout or stderr
/// is not a terminal (a log file, CI), a line now and then on stdout.
struct Progress {
    multi: MultiProgress,
    tests: Vec<ProgressBar>,
    all: ProgressBar,
    /// `None` with bars.
    lines: Option<Lines>,
    /// Runs to make so far (rounds add to it), finished, failed.
    total: usize,
    done: usize,
    failed: usize,
}

/// The state of the progress lines.
struct Lines {
    start: Instant,
    /// When the last line came, and how many runs were finished then.
    last: Instant,
    last_done: usize,
}

impl Progress {
    fn new(names: &[&str]) -> Progress {
        let bars = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
        let width = names
            .iter()
            .map(|n| n.len())
            .max()
            .unwrap_or_default()
            .max(8);
        let style = |prefix_style: &str, extra: &str| {
            let template = format!(
                "{{prefix:<{width}{prefix_style}}} [{{bar:30}}] {{pos:>5}}/{{len:<5}} {{msg}}{extra}"
            );
            ProgressStyle::with_template(&template)
                .expect("dstest's progress template is valid")
                .progress_chars("=> ")
        };
        let multi = if bars {
            MultiProgress::new()
        } else {
            MultiProgress::with_draw_target(ProgressDrawTarget::hidden())
        };
        let tests = names
            .iter()
            .map(|name| {
                let bar = ProgressBar::new(0)
                    .with_style(style(".cyan.bold", ""))
                    .with_prefix(name.to_string());
                multi.add(bar)
            })
            .collect();
        let all = ProgressBar::new(0)
            .with_style(style(".bold", " {elapsed_precise} (eta {eta})"))
            .with_prefix("all runs");
        let all = multi.add(all);
        let now = Instant::now();
        let lines = if bars {
            all.enable_steady_tick(Duration::from_millis(500));
            None
        } else {
            Some(Lines {
                start: now,
                last: now,
                last_done: 0,
            })
        };
        Progress {
            multi,
            tests,
            all,
            lines,
            total: 0,
            done: 0,
            failed: 0,
        }
    }

    /// Takes the bars off the terminal for good: clears them, or after
    /// Ctrl-C leaves them as they are. indicatif pads the bars' lines to the
    /// terminal's width, so the `^C` that the terminal echoes wraps to a new
    /// line, and a clear would then miss the top bar.
    fn close(&self, interrupted: bool) {
        if !interrupted {
            for bar in self.tests.iter().chain([&self.all]) {
                bar.finish_and_clear();
            }
        } else if !self.multi.is_hidden() {
            self.multi.set_draw_target(ProgressDrawTarget::hidden());
            eprintln!();
        }
    }

    /// Adds `runs[i]` runs of test `i` to make.
    fn add_round(&mut self, runs: &[usize]) {
        for (bar, &runs) in self.tests.iter().zip(runs) {
            bar.inc_length(runs as u64);
        }
        let all: usize = runs.iter().sum();
        self.all.inc_length(all as u64);
        self.total = self.total.saturating_add(all);
    }

    /// Counts one more run of test `test`, which has `failed` failed runs.
    fn advance(&mut self, test: usize, failed: usize, this_failed: bool) {
        self.done += 1;
        self.failed += usize::from(this_failed);
        Progress::advance_bar(&self.tests[test], failed);
        Progress::advance_bar(&self.all, self.failed);
        // A line at every tenth of the runs, except the last (the table
        // follows at once).
        let step = self.total.div_ceil(10).max(1);
        if let Some(lines) = &self.lines
            && self.done < self.total
            && self.done - lines.last_done >= step
        {
            self.print_line();
        }
    }

    /// A line, if the last came [`PROGRESS_EVERY`] ago: called when no run
    /// finished for a while.
    fn tick(&mut self) {
        if self
            .lines
            .as_ref()
            .is_some_and(|lines| lines.last.elapsed() >= PROGRESS_EVERY)
        {
            self.print_line();
        }
    }

    /// `dstest: 120/900 runs, 3 failed, 2m10s`.
    fn print_line(&mut self) {
        let Some(lines) = &mut self.lines else {
            return;
        };
        println!(
            "dstest: {}/{} runs, {} failed, {}",
            self.done,
            self.total,
            self.failed,
            report::short_duration(lines.start.elapsed())
        );
        lines.last = Instant::now();
        lines.last_done = self.done;
    }

    /// Prints `line` (stdout), out of the bars' way.
    fn println(&self, line: &str) {
        self.multi.suspend(|| println!("{line}"));
    }

    /// Prints `line` on stderr, out of the bars' way.
    fn eprintln(&self, line: &str) {
        self.multi.suspend(|| eprintln!("{line}"));
    }

    /// Counts one more run on `bar`, of which `failed` failed.
    fn advance_bar(bar: &ProgressBar, failed: usize) {
        bar.inc(1);
        if failed > 0 {
            bar.set_message(
                style(format!("{failed} failed"))
                    .red()
                    .for_stderr()
                    .to_string(),
            );
        }
    }
}

/// The state of a dstest run across its rounds.
struct Session<'a> {
    cli: &'a Cli,
    stop: &'a Stop,
    tests: &'a [(&'a TestBinary, &'a str)],
    /// The log directory, absolute, for the runs' `LAB_OUTPUT_DIR`.
    output: PathBuf,
    results: Vec<TestRuns>,
    /// Each test's failed runs so far (also in `results`, counted here
    /// once rather than at every run).
    failures: Vec<usize>,
    /// Each test's failed runs whose logs dstest kept (or tried to: a log
    /// that could not be written counts, so that a full disk costs at most
    /// `--keep` attempts a test).
    kept: Vec<usize>,
    /// Logs that could not be written.
    log_errors: usize,
    progress: Progress,
}

impl<'a> Session<'a> {
    fn new(cli: &'a Cli, stop: &'a Stop, tests: &'a [(&'a TestBinary, &'a str)]) -> Self {
        let names: Vec<&str> = tests.iter().map(|&(_, name)| name).collect();
        Session {
            cli,
            stop,
            tests,
            output: std::path::absolute(&cli.output).unwrap_or_else(|_| cli.output.clone()),
            results: tests
                .iter()
                .map(|&(binary, name)| TestRuns {
                    name: name.to_string(),
                    package: binary.package.clone(),
                    target: binary.target.clone(),
                    runs: Vec::new(),
                    logs_not_kept: 0,
                })
                .collect(),
            failures: vec![0; tests.len()],
            kept: vec![0; tests.len()],
            log_errors: 0,
            progress: Progress::new(&names),
        }
    }

    /// Runs the rounds: one of `-n` runs per test, or with `--loop` ever
    /// longer ones until stopped.
    fn rounds(&mut self) -> Result<(), String> {
        let mut iterations = self.cli.iterations;
        let mut done = 0;
        loop {
            self.round(done, iterations)?;
            done = done.saturating_add(iterations);
            if !self.cli.looping || self.stop.cancelled() {
                return Ok(());
            }
            iterations = iterations.saturating_mul(self.cli.growth);
            self.progress.multi.suspend(|| {
                print!("{}", report::table(&self.results));
                println!("dstest: {done} runs of each test done; next round, {iterations} more");
            });
        }
    }

    /// Runs each test `iterations` more times; `done` runs of each came
    /// before, in earlier rounds. Stops at the first run that could not be
    /// made, and returns its error.
    fn round(&mut self, done: usize, iterations: usize) -> Result<(), String> {
        let count = self.tests.len();
        // Job j is run `done + iteration + 1` of test `test`; with
        // `--shard`, only the slice's.
        let sequential = self.cli.sequential;
        let shard = self.cli.shard;
        let job_list: Vec<(usize, usize)> = (0..count.saturating_mul(iterations))
            .map(|j| {
                let (test, iteration) = if sequential {
                    (j / iterations, j % iterations)
                } else {
                    (j % count, j / count)
                };
                (test, done + iteration + 1)
            })
            .filter(|&(test, run)| shard.is_none_or(|s| s.owns(test, run)))
            .collect();
        let mut per_test = vec![0; count];
        for &(test, _) in &job_list {
            per_test[test] += 1;
        }
        self.progress.add_round(&per_test);
        let jobs = job_list.len();
        let job = |j: usize| job_list[j];
        let next = AtomicUsize::new(0);
        let (tx, rx) = mpsc::channel();
        let (tests, cli, stop) = (self.tests, self.cli, self.stop);
        let output = self.output.clone();
        let output = &output;
        std::thread::scope(|scope| {
            for _ in 0..cli.workers.min(jobs) {
                let (tx, next) = (tx.clone(), &next);
                scope.spawn(move || {
                    let mut rng = StdRng::from_os_rng();
                    loop {
                        let j = next.fetch_add(1, Ordering::SeqCst);
                        if j >= jobs || stop.cancelled() {
                            break;
                        }
                        let (test, run) = job(j);
                        let (binary, name) = tests[test];
                        // An earlier sweep's pages must not pass for this run's.
                        let pages = output.join(format!("{name}_{run}"));
                        remove_pages(&pages);
                        let spec = RunSpec {
                            binary,
                            test: name,
                            seed: if cli.sim { run as u64 } else { rng.random() },
                            timeout: cli.timeout,
                            env: run_env(cli, &pages),
                            ..RunSpec::new(binary, name, 0, cli.timeout)
                        };
                        let result = runner::run(&spec, &stop.cancel);
                        // Here rather than when recording, so that no worker
                        // starts another run after the first failure.
                        if cli.fail_fast && result.as_ref().is_ok_and(|r| r.verdict.failed()) {
                            stop.cancel.store(true, Ordering::SeqCst);
                        }
                        if tx.send((test, run, spec.seed, pages, result)).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(tx);
            let mut first_error = None;
            loop {
                let (test, run, seed, pages, result) = match rx.recv_timeout(Duration::from_secs(1))
                {
                    Ok(finished) => finished,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        self.progress.tick();
                        continue;
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                };
                match result {
                    Ok(result) => self.record(test, run, seed, &pages, result),
                    Err(err) => {
                        remove_pages(&pages);
                        stop.cancel.store(true, Ordering::SeqCst);
                        first_error.get_or_insert(err.to_string());
                    }
                }
            }
            first_error.map_or(Ok(()), Err)
        })
    }

    /// Counts a finished run; saves its log if it failed and is among the
    /// first `--keep` failures of its test (or with `--archive`, passed),
    /// with the pages it wrote in `pages`, else removes them; and announces
    /// a failure. A log that cannot be written is reported and counted.
    fn record(&mut self, test: usize, run: usize, seed: u64, pages: &Path, result: RunResult) {
        if result.verdict == Verdict::Cancelled {
            remove_pages(pages);
            return;
        }
        let (binary, name) = self.tests[test];
        let passed = result.verdict == Verdict::Passed;
        let replay = binary.replay_command(name, seed);
        let timeline = pages.join(TIMELINE);
        // (a traced run replays exactly only traced: see the header.)
        let sim = match &self.cli.sim_step {
            Some(step) => format!("LAB_SIM=1 LAB_SIM_STEP={step}"),
            None => "LAB_SIM=1".to_string(),
        };
        let replay = match (self.cli.sim, self.cli.no_timeline) {
            (true, false) => format!("{sim} LAB_TRACE={REPLAY_TIMELINE} {replay}"),
            (true, true) => format!("{sim} {replay}"),
            (false, _) => replay,
        };
        let secs = result.duration.as_secs_f64();
        let verdict = result.verdict.to_string();
        let keep = if passed {
            self.cli.archive
        } else if self.kept[test] < self.cli.keep {
            self.kept[test] += 1;
            true
        } else {
            self.results[test].logs_not_kept += 1;
            false
        };
        let path = self.cli.output.join(format!("{name}_{run}.log"));
        let mut log = None;
        if keep {
            let header = format!(
                "dstest: {name} run {run} {verdict} after {secs:.2} s\nseed: LAB_SEED={seed}\nreplay: {replay}\n\n"
            );
            match save_log(&path, &header, &result.output) {
                Ok(()) => log = Some(path.clone()),
                Err(err) => {
                    self.log_errors += 1;
                    self.progress
                        .eprintln(&format!("dstest: {err}; the run is counted, its log lost"));
                }
            }
        }
        if log.is_some() {
            // Kept with the log, unless the run wrote nothing there.
            let _ = fs::remove_dir(pages);
        } else {
            remove_pages(pages);
        }
        if !passed {
            let fail = style("FAIL").red().bold();
            let test_name = style(name).cyan();
            let what = format!("{fail} {test_name} run {run} {verdict} after {secs:.2} s");
            let timeline = if log.is_some() && timeline.exists() {
                format!("\n  timeline: {}", timeline.display())
            } else {
                String::new()
            };
            self.progress.println(&match (&log, keep) {
                (Some(path), _) => format!(
                    "{what}; log: {}{timeline}\n  replay: {replay}",
                    path.display()
                ),
                (None, true) => format!("{what}; log not written\n  replay: {replay}"),
                (None, false) => format!(
                    "{what} (LAB_SEED={seed}); log not kept (--keep {})",
                    self.cli.keep
                ),
            });
        }
        let message = if passed {
            None
        } else {
            signature::failure_message(&result.output)
        };
        self.results[test].runs.push(RunRecord {
            run,
            seed,
            passed,
            verdict,
            secs,
            log,
            replay,
            message,
        });
        if !passed {
            self.failures[test] += 1;
        }
        self.progress.advance(test, self.failures[test], !passed);
    }
}

fn save_log(path: &Path, header: &str, output: &[u8]) -> Result<(), String> {
    fs::File::create(path)
        .and_then(|mut file| {
            file.write_all(header.as_bytes())?;
            file.write_all(output)
        })
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}
