//! `grade`: grades the lab code of the repository that holds the current
//! directory, as `make grade` does.
//!
//! ```text
//! grade [--parts "2A 2B"] [--runs K] [--timeout SECS] [--out DIR]
//! ```
//!
//! It builds the lab tests once, then runs each test of the selected parts
//! (all parts of `course/points.txt` by default) in a process of its own,
//! K times (a test scores only if all K runs pass), each run killed after
//! SECS seconds. It prints a line per test as it goes, then the score table
//! with the total, and writes `DIR/results.json` (Gradescope's autograder
//! format) and `DIR/junit.xml` (default DIR: `grade`). The last line is
//! `N passed, N failed`, counting tests; the exit status is 0 only when
//! every test passed.
//!
//! A submission that does not compile, hangs or crashes is graded, not a
//! crash of the grader: its tests fail, each with what went wrong.

// A tool, not lab code: it never runs under the lab simulation.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::hash::{BuildHasher, RandomState};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use clap::Parser;
use course::grade::{Points, Report, TestResult, cap_output, normalize_part, part_of};
use test_scripts::runner::{self, RunSpec, TestBinary};

/// The lab packages and their test files, relative to the repository.
const LAB_TESTS: &[(&str, &str)] = &[
    ("raft", "raft/tests/raft_test.rs"),
    ("kvraft", "kvraft/tests/kvraft_test.rs"),
];

const POINTS_FILE: &str = "course/points.txt";

#[derive(Parser)]
#[command(about = "Grade the lab code in this repository")]
struct Args {
    /// Parts to grade, e.g. "2A 2B" (default: every part of the points table).
    #[arg(long, value_delimiter = ' ', num_args = 1..)]
    parts: Vec<String>,
    /// Runs per test; a test scores only if every run passes.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    runs: u32,
    /// Seconds before a run is killed (the tester's own limit is 120).
    #[arg(long, default_value_t = 150, value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
    /// Where to write results.json and junit.xml.
    #[arg(long, default_value = "grade")]
    out: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match grade(&args) {
        Ok(report) if report.failed() == 0 => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("grade: {message}");
            ExitCode::from(2)
        }
    }
}

/// Errors here are the grader's own (a bad flag, a missing points table):
/// anything wrong with the submission becomes a failed test instead.
fn grade(args: &Args) -> Result<Report, String> {
    let started = Instant::now();
    let points = std::fs::read_to_string(POINTS_FILE)
        .map_err(|e| format!("cannot read {POINTS_FILE}: {e} (run from the repository's root)"))
        .and_then(|text| Points::parse(&text))?;
    let parts = selected_parts(args, &points)?;
    let tests = lab_tests(&parts)?;

    let built = build_tests();
    let mut report = Report::default();
    for part in &parts {
        let names: Vec<String> = tests
            .iter()
            .filter(|(_, name)| part_of(name).as_deref() == Some(part.as_str()))
            .map(|(_, name)| name.clone())
            .collect();
        let scores = points.max_scores(part, &names)?;
        for (i, (name, max_score)) in names.iter().zip(scores).enumerate() {
            let package = tests.iter().find(|(_, n)| n == name).map(|(p, _)| *p);
            let result = match &built {
                Ok(binaries) => run_test(args, binaries, package.unwrap_or(""), name),
                Err(build_output) => (false, Duration::ZERO, build_output.clone()),
            };
            let (passed, duration, output) = result;
            let test = TestResult {
                name: name.clone(),
                part: part.clone(),
                number: i + 1,
                max_score,
                passed,
                duration,
                output,
            };
            println!(
                "{}.{} {name} ... {} ({:.1} s)",
                test.part,
                test.number,
                if passed { "ok" } else { "FAILED" },
                duration.as_secs_f64()
            );
            report.tests.push(test);
        }
    }
    report.execution_time = started.elapsed();

    write_reports(&args.out, &report)?;
    print!("\n{}", report.table());
    println!(
        "wrote {} and {}",
        args.out.join("results.json").display(),
        args.out.join("junit.xml").display()
    );
    println!("{} passed, {} failed", report.passed(), report.failed());
    Ok(report)
}

fn selected_parts(args: &Args, points: &Points) -> Result<Vec<String>, String> {
    if args.parts.is_empty() {
        return Ok(points.parts().map(String::from).collect());
    }
    args.parts
        .iter()
        .filter(|p| !p.is_empty())
        .map(|p| {
            normalize_part(p)
                .filter(|part| points.parts().any(|known| known == part))
                .ok_or_else(|| {
                    let known: Vec<&str> = points.parts().collect();
                    format!("unknown part {p:?}; the points table has {known:?}")
                })
        })
        .collect()
}

/// The tests of `parts`, with their packages, in the test files' order.
fn lab_tests(parts: &[String]) -> Result<Vec<(&'static str, String)>, String> {
    let mut tests = Vec::new();
    for (package, file) in LAB_TESTS {
        let source =
            std::fs::read_to_string(file).map_err(|e| format!("cannot read {file}: {e}"))?;
        tests.extend(
            course::grade::test_names_in_source(&source)
                .into_iter()
                .filter(|name| part_of(name).is_some_and(|p| parts.contains(&p)))
                .map(|name| (*package, name)),
        );
    }
    Ok(tests)
}

/// Builds the lab tests; on failure, returns what the compiler said, which
/// becomes the output of every test.
fn build_tests() -> Result<Vec<TestBinary>, String> {
    let mut selection = Vec::new();
    for (package, _) in LAB_TESTS {
        selection.extend(["-p".to_string(), package.to_string()]);
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let compiled = Command::new(cargo)
        .args(["test", "--no-run", "--color=never"])
        .args(&selection)
        .output()
        .map_err(|e| format!("the tests could not be built: cannot run cargo: {e}"))?;
    if !compiled.status.success() {
        let message = "the tests did not compile:\n";
        eprintln!(
            "grade: {message}{}",
            String::from_utf8_lossy(&compiled.stderr)
        );
        return Err(format!("{message}{}", cap_output(&compiled.stderr)));
    }
    runner::build(&selection).map_err(|e| format!("the tests could not be built: {e}"))
}

/// Runs `name` `args.runs` times; returns whether all passed, their total
/// time, and the output of the first failure (or a note if none failed).
fn run_test(
    args: &Args,
    binaries: &[TestBinary],
    package: &str,
    name: &str,
) -> (bool, Duration, String) {
    let Some(binary) = binaries.iter().find(|b| b.package == package) else {
        return (
            false,
            Duration::ZERO,
            format!("no test binary of package {package} was built"),
        );
    };
    let never = AtomicBool::new(false);
    let mut total = Duration::ZERO;
    for run in 1..=args.runs {
        let spec = RunSpec {
            binary,
            test: name,
            seed: RandomState::new().hash_one((name, run)),
            timeout: Duration::from_secs(args.timeout),
            env: Vec::new(),
        };
        let result = match runner::run(&spec, &never) {
            Ok(result) => result,
            Err(e) => return (false, total, format!("could not run the test: {e}")),
        };
        total += result.duration;
        if result.verdict.failed() {
            let output = format!(
                "run {run} of {}: {} (LAB_SEED={})\n{}",
                args.runs,
                result.verdict,
                spec.seed,
                cap_output(&result.output)
            );
            return (false, total, output);
        }
    }
    (true, total, format!("{} run(s) passed", args.runs))
}

fn write_reports(dir: &Path, report: &Report) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for (file, text) in [
        ("results.json", report.results_json()),
        ("junit.xml", report.junit_xml()),
    ] {
        let path = dir.join(file);
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}
