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
//! It builds the test binaries once (`cargo test --no-run`), then runs each
//! selected test `-n` times, `-p` runs at a time. Each run is a process of
//! its own that runs one test (`<binary> --exact <test> --test-threads=1
//! --nocapture`) with a fresh random `LAB_SEED`; a run still going after
//! `--timeout` seconds is killed and counts as a failure. Progress bars show
//! each test's runs and failures; at the end a table gives each test's
//! failures, runs and mean time ± standard deviation, and the last line is
//! `N passed, N failed` (runs). The exit code is 0 if every run passed, 1 if
//! any failed, 130 after Ctrl-C, and 2 on bad input or a build failure.
//!
//! A failed run's output (stdout and stderr, as interleaved) is saved to
//! `<output>/<test>_<run>.log`, headed by its seed and the command that
//! replays it, which dstest also prints:
//! `LAB_SEED=<seed> cargo test -p raft --test raft_test -- --exact <test> --nocapture`.
//! `dslogs` pretty-prints such logs.
//!
//! TEST is an exact test name, a part (`2A`, `2b`, `3B`: the tests whose
//! names end in `_2a`, …) or a piece of test names (`election`); an
//! argument that matches nothing is an error naming the closest tests.
//!
//! Flags:
//!
//! * `-n, --iter N` runs of each test (10); `-p, --workers N` runs at once
//!   (1). Lab tests are timing-sensitive: more workers than cores can fail
//!   tests that are correct.
//! * `-o, --output DIR` where logs go (`dstest-logs`); `-a, --archive` saves
//!   the logs of passed runs too.
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
//! * `--json FILE` writes every run's seed, verdict, time and log to FILE.
//! * `--package PACKAGE`, `--test TARGET` (repeatable) choose what cargo
//!   builds: by default every integration-test target named `*_test` in the
//!   workspace (the labs' `raft_test`, … and the framework's own).
//!
//! Ctrl-C (or SIGTERM) kills the runs under way, which count neither way,
//! and prints the table of the finished runs and the final line.

// A tool that drives test processes from the outside; it never runs under
// labrt's simulation, so the workspace ban on std threads and clocks
// (clippy.toml) does not apply.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

mod report;
mod select;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use clap::Parser;
use console::style;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use report::{RunRecord, Summary, TestRuns};
use select::Candidate;
use test_scripts::labs::LABS;
use test_scripts::runner::{self, RunResult, RunSpec, TestBinary, Verdict};

/// The exit code after Ctrl-C, as for a shell command ended by SIGINT.
const INTERRUPTED: u8 = 130;
/// The exit code for bad input or a build that failed.
const ERROR: u8 = 2;

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Runs lab tests many times in parallel, each run in its own process with its own LAB_SEED.",
    after_help = "Examples:\n  dstest 2A -n 100 -p 4\n  dstest backup_2b figure8 -n 50 --timeout 200\n\n\
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

    /// Stop at the first failure, killing the runs under way
    #[arg(short, long)]
    fail_fast: bool,

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

    /// Write a summary of every run (seed, verdict, time, log, replay command) as JSON to FILE
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,

    /// Build the tests of PACKAGE only, as cargo test -p (repeatable; default: the workspace)
    #[arg(long = "package", value_name = "PACKAGE")]
    packages: Vec<String>,

    /// Build the test target TARGET only, as cargo test --test (repeatable; globs allowed)
    #[arg(long = "test", value_name = "TARGET", default_value = "*_test")]
    targets: Vec<String>,
}

impl Cli {
    /// The arguments of `cargo test` that pick the binaries to build.
    fn cargo_selection(&self) -> Vec<String> {
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
/// `LAB_OUTPUT_DIR`, so that a failed check's linearizability page lands
/// next to the run's log (an absolute path: a run starts in its package's
/// directory).
fn run_env(cli: &Cli) -> Vec<(String, String)> {
    let logs = std::path::absolute(&cli.output).unwrap_or_else(|_| cli.output.clone());
    let mut env = vec![(
        "LAB_OUTPUT_DIR".to_string(),
        logs.to_string_lossy().into_owned(),
    )];
    if cli.sim {
        env.push(("LAB_SIM".to_string(), "1".to_string()));
    }
    env
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
    let cli = Cli::parse();
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
        Err(_) if stop.interrupted() => conclude(&cli, &[], &stop),
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
    match candidates.iter().find(|c| c.name == test) {
        Some(found) => {
            let lab = LABS.iter().find(|lab| lab.test_target == found.target);
            let package = lab.map_or("", |lab| lab.package);
            println!("-p {package} --test {}", found.target);
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
    let binaries = runner::build(&cli.cargo_selection()).map_err(|e| e.to_string())?;
    if binaries.is_empty() {
        return Err(format!(
            "cargo built no test binaries for `cargo test {}`",
            cli.cargo_selection().join(" ")
        ));
    }
    let mut candidates = Vec::new();
    let mut owners = Vec::new();
    for binary in &binaries {
        for name in binary.list().map_err(|e| e.to_string())? {
            candidates.push(Candidate {
                name,
                target: binary.target.clone(),
            });
            owners.push(binary);
        }
    }
    let chosen = select::select(&cli.tests, &candidates).map_err(|e| e.to_string())?;
    let tests: Vec<(&TestBinary, &str)> = chosen
        .iter()
        .map(|&i| (owners[i], candidates[i].name.as_str()))
        .collect();
    fs::create_dir_all(&cli.output).map_err(|e| {
        format!(
            "cannot make the log directory {}: {e}",
            cli.output.display()
        )
    })?;
    println!(
        "dstest: {} test{} × {} runs, {} at a time; logs of {} runs in {}",
        tests.len(),
        if tests.len() == 1 { "" } else { "s" },
        cli.iterations,
        cli.workers,
        if cli.archive { "all" } else { "failed" },
        cli.output.display(),
    );

    let mut session = Session::new(cli, stop, &tests);
    let ran = session.rounds();
    session.progress.close(stop.interrupted());
    ran?;
    Ok(conclude(cli, &session.results, stop))
}

/// Prints the table and the final line, writes `--json`, and says how
/// dstest should exit.
fn conclude(cli: &Cli, results: &[TestRuns], stop: &Stop) -> ExitCode {
    let interrupted = stop.interrupted();
    if !results.is_empty() {
        print!("{}", report::table(results));
    }
    if interrupted {
        println!("dstest: interrupted; the runs under way were stopped and are not counted");
    }
    let mut code = if interrupted {
        INTERRUPTED
    } else if report::totals(results).1 > 0 {
        1
    } else {
        0
    };
    if let Some(path) = &cli.json {
        let written = fs::File::create(path).and_then(|file| {
            serde_json::to_writer_pretty(file, &Summary::new(results, interrupted))
                .map_err(std::io::Error::from)
        });
        if let Err(err) = written {
            eprintln!("dstest: cannot write {}: {err}", path.display());
            code = ERROR;
        }
    }
    let (passed, failed) = report::totals(results);
    println!("{passed} passed, {failed} failed");
    ExitCode::from(code)
}

/// The bars: one per test, and one for all runs.
struct Progress {
    multi: MultiProgress,
    tests: Vec<ProgressBar>,
    all: ProgressBar,
}

impl Progress {
    fn new(names: &[&str]) -> Progress {
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
        let multi = MultiProgress::new();
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
        all.enable_steady_tick(Duration::from_millis(500));
        Progress { multi, tests, all }
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

    /// Counts one more run on `bar`, of which `failed` failed.
    fn advance(bar: &ProgressBar, failed: usize) {
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
    results: Vec<TestRuns>,
    /// Each test's failed runs so far (also in `results`, counted here
    /// once rather than at every run).
    failures: Vec<usize>,
    progress: Progress,
}

impl<'a> Session<'a> {
    fn new(cli: &'a Cli, stop: &'a Stop, tests: &'a [(&'a TestBinary, &'a str)]) -> Self {
        let names: Vec<&str> = tests.iter().map(|&(_, name)| name).collect();
        Session {
            cli,
            stop,
            tests,
            results: tests
                .iter()
                .map(|&(binary, name)| TestRuns {
                    name: name.to_string(),
                    package: binary.package.clone(),
                    target: binary.target.clone(),
                    runs: Vec::new(),
                })
                .collect(),
            failures: vec![0; tests.len()],
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
    /// before, in earlier rounds.
    fn round(&mut self, done: usize, iterations: usize) -> Result<(), String> {
        let count = self.tests.len();
        let jobs = count.saturating_mul(iterations);
        for bar in &self.progress.tests {
            bar.inc_length(iterations as u64);
        }
        self.progress.all.inc_length(jobs as u64);
        // Job j is run `done + iteration + 1` of test `test`.
        let sequential = self.cli.sequential;
        let job = move |j: usize| {
            let (test, iteration) = if sequential {
                (j / iterations, j % iterations)
            } else {
                (j % count, j / count)
            };
            (test, done + iteration + 1)
        };
        let next = AtomicUsize::new(0);
        let (tx, rx) = mpsc::channel();
        let (tests, cli, stop) = (self.tests, self.cli, self.stop);
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
                        let spec = RunSpec {
                            binary,
                            test: name,
                            seed: if cli.sim { run as u64 } else { rng.random() },
                            timeout: cli.timeout,
                            env: run_env(cli),
                            ..RunSpec::new(binary, name, 0, cli.timeout)
                        };
                        let result = runner::run(&spec, &stop.cancel);
                        // Here rather than when recording, so that no worker
                        // starts another run after the first failure.
                        if cli.fail_fast && result.as_ref().is_ok_and(|r| r.verdict.failed()) {
                            stop.cancel.store(true, Ordering::SeqCst);
                        }
                        if tx.send((test, run, spec.seed, result)).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(tx);
            let mut first_error = None;
            for (test, run, seed, result) in rx {
                let recorded = result
                    .map_err(|e| e.to_string())
                    .and_then(|result| self.record(test, run, seed, result));
                if let Err(err) = recorded {
                    stop.cancel.store(true, Ordering::SeqCst);
                    first_error.get_or_insert(err);
                }
            }
            first_error.map_or(Ok(()), Err)
        })
    }

    /// Counts a finished run, saves its log if it failed (or `--archive`),
    /// and announces a failure.
    fn record(
        &mut self,
        test: usize,
        run: usize,
        seed: u64,
        result: RunResult,
    ) -> Result<(), String> {
        if result.verdict == Verdict::Cancelled {
            return Ok(());
        }
        let (binary, name) = self.tests[test];
        let passed = result.verdict == Verdict::Passed;
        let replay = binary.replay_command(name, seed);
        let replay = if self.cli.sim {
            format!("LAB_SIM=1 {replay}")
        } else {
            replay
        };
        let secs = result.duration.as_secs_f64();
        let verdict = result.verdict.to_string();
        let log = if passed && !self.cli.archive {
            None
        } else {
            let path = self.cli.output.join(format!("{name}_{run}.log"));
            let header = format!(
                "dstest: {name} run {run} {verdict} after {secs:.2} s\nseed: LAB_SEED={seed}\nreplay: {replay}\n\n"
            );
            save_log(&path, &header, &result.output)?;
            Some(path)
        };
        if let (false, Some(path)) = (passed, &log) {
            self.progress.multi.suspend(|| {
                println!(
                    "{} {} run {run} {verdict} after {secs:.2} s; log: {}\n  replay: {replay}",
                    style("FAIL").red().bold(),
                    style(name).cyan(),
                    path.display(),
                );
            });
        }
        self.results[test].runs.push(RunRecord {
            run,
            seed,
            passed,
            verdict,
            secs,
            log,
            replay,
        });
        if !passed {
            self.failures[test] += 1;
        }
        Progress::advance(&self.progress.tests[test], self.failures[test]);
        Progress::advance(&self.progress.all, self.failures.iter().sum());
        Ok(())
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
