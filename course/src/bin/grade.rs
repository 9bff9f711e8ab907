//! `grade`: grades a submission's lab code, as `make grade` does.
//!
//! ```text
//! grade [--submission DIR] [--parts "2A 2B"] [--tests NAMES] [--runs K]
//!       [--timeout SECS] [--build-timeout SECS] [--out DIR] [--work DIR]
//!       [--shard K/N]
//! grade merge [--out DIR] PART.json...
//! ```
//!
//! Run from the root of the staff tree (this repository, or an autograder's
//! tree). It grades the student files of DIR (default: this tree's own):
//!
//! 1. it reads only the student files from DIR ([`course::stage`]);
//! 2. it checks them with the source gate (`test_scripts::gate`): a lab
//!    whose files break a rule scores 0, with the rule's message and
//!    file:line, and nothing of it is built or run; so does every lab built
//!    on those files (labs 3 and 4 on the student's Raft, 4B on their 4A;
//!    [`course::refusal`]);
//! 3. it stages them in a fresh copy of the handout under the work
//!    directory (default `target/grading`) and builds each lab's tests
//!    there, on its own (a lab that does not compile costs only its own
//!    points), killing a build that takes longer than the build timeout;
//! 4. it runs each test of the selected parts (all parts of
//!    `course/points.txt` by default) in a sandboxed process of its own, K
//!    times (a test scores only if all K runs pass), each killed with its
//!    process group after SECS seconds. A run passes only if the tester
//!    signed its verdict with the run's secret key (`tester::verdict`) and
//!    the process then exited 0.
//!
//! It prints a line per test as it goes, then the score table with the
//! total, and writes `DIR/results.json` (Gradescope's autograder format) and
//! `DIR/junit.xml` (default DIR: `grade`). The last line is `N passed, N
//! failed`, counting tests; the exit status is 0 only when every test
//! passed, 2 when the grader itself could not work (a bad flag, a missing
//! points table).
//!
//! On several machines ([`course::shard`]): `--shard K/N` grades only the
//! K-th of N disjoint slices of the runs (tests × K runs), and writes
//! `DIR/shard-K-of-N.json`, a partial grading, instead of a score (its exit
//! status says whether its own runs all passed). `grade merge` takes the N
//! partials, refuses them unless they are the N slices of one grading (the
//! same student files, points table, staff tree, options and N, each slice
//! once), and then reports, writes and exits exactly as a single grading.

// A tool, not lab code: it never runs under the lab simulation.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::fs::File;
use std::hash::{BuildHasher, RandomState};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::AtomicBool;
use std::sync::{Once, mpsc};
use std::time::{Duration, Instant};

use clap::Parser;
use course::grade::{Points, Report, cap_output, normalize_part, part_of};
use course::handout::{self, Handout};
use course::refusal;
use course::shard::{self, Grading, Options, Outcome, Partial, Planned, Shard};
use course::stage::{self, Submission};
use test_scripts::labs::{HARNESS, LABS};
use test_scripts::runner::{self, RunSpec, TestBinary};
use test_scripts::sandbox::Sandbox;

/// Set once the sandbox's layers have been printed.
static SANDBOX_SEEN: Once = Once::new();

const POINTS_FILE: &str = "course/points.txt";

/// How long the framework's own build may take: only a broken machine
/// takes this long.
const FRAMEWORK_BUILD_LIMIT: Duration = Duration::from_secs(3600);

#[derive(Parser)]
#[command(about = "Grade a submission's lab code (default: the lab code of this tree)")]
struct Args {
    /// The submission: a directory holding raft/src and/or kvraft/src (a
    /// handout checkout), or holding one directory that does.
    #[arg(long)]
    submission: Option<PathBuf>,
    /// Parts to grade, e.g. "2A 2B" (default: every part of the points table).
    #[arg(long, value_delimiter = ' ', num_args = 1..)]
    parts: Vec<String>,
    /// Only these tests of the selected parts, e.g. "initial_election_2a".
    #[arg(long, value_delimiter = ' ', num_args = 1..)]
    tests: Vec<String>,
    /// Runs per test; a test scores only if every run passes.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    runs: u32,
    /// Seconds before a run is killed (the tester's own limit is 120).
    #[arg(long, default_value_t = 150, value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
    /// Seconds before a lab's build is killed (a `const` that never finishes
    /// evaluating would hang it).
    #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..))]
    build_timeout: u64,
    /// Where to write results.json and junit.xml.
    #[arg(long, default_value = "grade")]
    out: PathBuf,
    /// Where to stage and build submissions; compiled dependencies are kept
    /// there between gradings.
    #[arg(long, default_value = "target/grading")]
    work: PathBuf,
    /// Build the handout's own tests in the work directory and stop: warms
    /// the dependency cache (an autograder's setup.sh does this once).
    #[arg(long, conflicts_with = "shard")]
    prepare: bool,
    /// Grade only the K-th of N disjoint slices of the runs (tests × runs),
    /// K from 1 to N, and write DIR/shard-K-of-N.json for `grade merge`
    /// instead of a score (one machine's part of a grading).
    #[arg(long, value_name = "K/N", value_parser = Shard::parse)]
    shard: Option<Shard>,
    /// (Staff, for testing the grader) skip the source gate, to see the
    /// sandbox and the verdict catch what the gate would have.
    #[arg(long, hide = true)]
    skip_gate: bool,
}

#[derive(Parser)]
#[command(
    name = "grade merge",
    bin_name = "grade merge",
    about = "Merge the partial gradings of `grade --shard K/N` (the N slices of one grading) \
             into the reports, table and exit status of a single grading"
)]
struct MergeArgs {
    /// The partials, `shard-K-of-N.json`, one per slice.
    #[arg(required = true, value_name = "PART.json")]
    parts: Vec<PathBuf>,
    /// Where to write results.json and junit.xml.
    #[arg(long, default_value = "grade")]
    out: PathBuf,
}

fn main() -> ExitCode {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let result = if argv.get(1).is_some_and(|arg| arg == "merge") {
        merge(&MergeArgs::parse_from(&argv[1..]))
    } else {
        grade(&Args::parse())
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("grade: {message}");
            ExitCode::from(2)
        }
    }
}

/// `grade merge`: whether every test passed.
fn merge(args: &MergeArgs) -> Result<bool, String> {
    let mut parts = Vec::new();
    for path in &args.parts {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {name}: {e}"))?;
        parts.push((name.clone(), Partial::from_json(&name, &text)?));
    }
    let report = shard::merge(&parts).map_err(|e| format!("merge: {e}"))?;
    let grading = &parts[0].1.grading;
    println!(
        "grade: merged {} shards of the grading of {} (student files {})",
        parts.len(),
        grading.submission_dir,
        grading.submission
    );
    let out = std::env::current_dir()
        .map_err(|e| format!("no current directory: {e}"))?
        .join(&args.out);
    finish(&out, &report)?;
    Ok(report.failed() == 0)
}

/// Grades, or with `--shard` grades a slice and writes its partial; returns
/// whether every test (every run of the slice) passed. Errors here are the
/// grader's own (a bad flag, a missing points table): anything wrong with
/// the submission becomes a failed test instead.
fn grade(args: &Args) -> Result<bool, String> {
    let started = Instant::now();
    let root = std::env::current_dir().map_err(|e| format!("no current directory: {e}"))?;
    let points_text = std::fs::read_to_string(POINTS_FILE)
        .map_err(|e| format!("cannot read {POINTS_FILE}: {e} (run from the repository's root)"))?;
    let points = Points::parse(&points_text)?;
    let parts = selected_parts(args, &points)?;
    let tests = lab_tests(&parts)?;
    let only = only_tests(&tests, &args.tests, &parts)?;
    let out = root.join(&args.out);

    let submission = if args.prepare {
        Submission::default()
    } else {
        let submission = Submission::read(args.submission.as_deref().unwrap_or(&root))?;
        println!(
            "grade: {} student files from {}",
            submission.files.len(),
            submission.root.display()
        );
        submission
    };
    // Held until the end: two gradings in one work directory would stage
    // over each other.
    let work = root.join(&args.work);
    std::fs::create_dir_all(&work).map_err(|e| format!("cannot make {}: {e}", work.display()))?;
    let _lock = lock(&work)?;
    let (labs, launcher, grader) = stage_and_build(args, &root, &work, &submission, &tests)?;
    if args.prepare {
        return prepared(&labs);
    }

    // The graded tests, each with its lab: the report's rows.
    let mut planned: Vec<(usize, Planned)> = Vec::new();
    for part in &parts {
        let names: Vec<&(usize, String)> = tests
            .iter()
            .filter(|(_, name)| part_of(name).as_deref() == Some(part.as_str()))
            .collect();
        let owned: Vec<String> = names.iter().map(|(_, n)| n.clone()).collect();
        let scores = points.max_scores(part, &owned)?;
        for (i, ((lab, name), max_score)) in names.into_iter().zip(scores).enumerate() {
            if !only.is_empty() && !only.contains(name) {
                continue;
            }
            let test = Planned {
                name: name.clone(),
                part: part.clone(),
                number: i + 1,
                max_score,
            };
            planned.push((*lab, test));
        }
    }
    let grading = Grading {
        submission: shard::fingerprint(
            submission
                .files
                .iter()
                .map(|(path, bytes)| (path.as_str(), bytes.as_slice())),
        ),
        submission_dir: submission.root.display().to_string(),
        points: shard::fingerprint([(POINTS_FILE, points_text.as_bytes())]),
        grader,
        options: Options {
            parts: parts.clone(),
            tests: only.clone(),
            runs: args.runs,
            timeout: args.timeout,
            build_timeout: args.build_timeout,
            skip_gate: args.skip_gate,
        },
        tests: planned.iter().map(|(_, test)| test.clone()).collect(),
    };
    let mut partial = Partial::new(args.shard.unwrap_or(Shard::WHOLE), grading);
    if let Some(slice) = args.shard {
        let runs: usize = (0..planned.len())
            .map(|t| partial.owned_runs(t).len())
            .sum();
        println!(
            "grade: shard {slice}: {runs} of the {} runs ({} tests × {})",
            planned.len() * args.runs as usize,
            planned.len(),
            args.runs
        );
    }
    for (t, (lab, test)) in planned.iter().enumerate() {
        let name = &test.name;
        let (made, passed, duration) = partial.grade_test(t, |run| match &labs[*lab] {
            LabState::Built(binary) => {
                run_once(args, &launcher, binary, name, run, points.strict())
            }
            LabState::Failed(why) => (
                Outcome::Failed {
                    output: why.clone(),
                },
                Duration::ZERO,
            ),
            LabState::Unbuilt => (
                Outcome::Failed {
                    output: "not built".to_string(),
                },
                Duration::ZERO,
            ),
        });
        if made.is_empty() {
            continue;
        }
        let runs = match args.shard {
            None => String::new(),
            Some(_) => format!("{} of {}; ", runs_list(&made), args.runs),
        };
        println!(
            "{}.{} {name} ... {} ({runs}{:.1} s)",
            test.part,
            test.number,
            if passed { "ok" } else { "FAILED" },
            duration.as_secs_f64()
        );
    }
    partial.execution_time_ns = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
    if let Some(slice) = args.shard {
        return write_partial(&out, slice, &partial);
    }
    // A single grading is the one slice, merged: the same code scores both.
    let report = shard::merge(&[("this grading".to_string(), partial)])?;
    finish(&out, &report)?;
    Ok(report.failed() == 0)
}

/// "runs 1, 4" or "run 2".
fn runs_list(runs: &[u32]) -> String {
    let list: Vec<String> = runs.iter().map(u32::to_string).collect();
    format!(
        "run{} {}",
        if runs.len() == 1 { "" } else { "s" },
        list.join(", ")
    )
}

/// The end of `--shard`: writes the slice's partial; whether all its runs
/// passed.
fn write_partial(out: &Path, slice: Shard, partial: &Partial) -> Result<bool, String> {
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let path = out.join(format!("shard-{}-of-{}.json", slice.index, slice.count));
    std::fs::write(&path, partial.to_json())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let count = |f: fn(&Outcome) -> bool| partial.runs.iter().filter(|r| f(&r.outcome)).count();
    let failed = count(|o| matches!(o, Outcome::Failed { .. }));
    println!(
        "wrote {} (not a score: `grade merge` the {} shards' files)",
        path.display(),
        slice.count
    );
    println!(
        "shard {slice}: {} runs passed, {failed} failed, {} skipped",
        count(|o| *o == Outcome::Passed),
        count(|o| *o == Outcome::Skipped)
    );
    Ok(failed == 0)
}

/// Refuses what the gate refuses, stages the submission in a fresh copy of
/// the handout under `work`, and builds each lab that has tests to run.
/// Returns the labs' states, the sandbox's launcher and a fingerprint of
/// the framework (every file of the handout but the student's).
fn stage_and_build(
    args: &Args,
    root: &Path,
    work: &Path,
    submission: &Submission,
    tests: &[(usize, String)],
) -> Result<(Vec<LabState>, PathBuf, String), String> {
    let base =
        handout::make(root).map_err(|e| format!("cannot make the handout: {}", e.0.join("; ")))?;
    let grader = shard::fingerprint(
        base.files
            .iter()
            .filter(|f| !test_scripts::labs::is_student_file(&f.path))
            .map(|f| (f.path.as_str(), f.contents.as_slice())),
    );
    for ignored in submission.changed_framework_files(&base) {
        println!("grade: not graded (a framework file; the grader uses its own): {ignored}");
    }
    let mut labs = vec![LabState::Unbuilt; LABS.len()];
    refuse(&mut labs, submission, &base, args.skip_gate)?;
    let stage_dir = work.join("stage");
    let staging = Instant::now();
    stage::stage(&base, submission, &stage_dir)?;
    println!(
        "grade: staged in {} ({:.1} s)",
        stage_dir.display(),
        staging.elapsed().as_secs_f64()
    );
    let launcher = build_labs(&mut labs, tests, &stage_dir, &work.join("target"), args)?;
    Ok((labs, launcher, grader))
}

/// Writes the reports and prints the table and the last lines.
fn finish(out: &Path, report: &Report) -> Result<(), String> {
    write_reports(out, report)?;
    print!("\n{}", report.table());
    println!(
        "wrote {} and {}",
        out.join("results.json").display(),
        out.join("junit.xml").display()
    );
    if let Some(mb) = peak_memory_mb() {
        println!("grade: peak memory {mb:.0} MB (the grader's own)");
    }
    println!("{} passed, {} failed", report.passed(), report.failed());
    Ok(())
}

/// This process's peak resident memory, where `/proc` tells it: a test's
/// output, however large, must not show here.
fn peak_memory_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// The end of `--prepare`: every lab built, or the grader cannot work.
fn prepared(labs: &[LabState]) -> Result<bool, String> {
    for (lab, state) in LABS.iter().zip(labs) {
        if let LabState::Failed(why) = state {
            return Err(format!(
                "the handout's {} tests do not build:\n{why}",
                lab.package
            ));
        }
    }
    println!("grade: prepared; the dependencies are compiled");
    Ok(true)
}

/// Where a lab stands before its tests run.
#[derive(Clone)]
enum LabState {
    Unbuilt,
    /// Its test binary.
    Built(TestBinary),
    /// Why none of its tests can pass: the gate refused its files, or they
    /// did not compile. Every test of the lab fails with this.
    Failed(String),
}

/// Fails every suite built on files the submission could not give, or on
/// files that break a rule of the gate: its own package's, or those of a
/// student package it depends on (lab 3 on the student's Raft, 4B on their
/// 4A controller too; [`refusal`] reads which from `base`'s manifests).
fn refuse(
    labs: &mut [LabState],
    submission: &Submission,
    base: &Handout,
    skip_gate: bool,
) -> Result<(), String> {
    let manifest = |dir: &str| {
        let path = match dir {
            "" => "Cargo.toml".to_string(),
            dir => format!("{dir}/Cargo.toml"),
        };
        let file = base.files.iter().find(|f| f.path == path)?;
        String::from_utf8(file.contents.clone()).ok()
    };
    let built_on = refusal::built_on(&LABS, manifest)
        .map_err(|e| format!("cannot tell which labs build on which: {e}"))?;
    let refusals = refusal::refusals(submission, &built_on, skip_gate);
    for (lab, reasons) in refusals.into_iter().enumerate() {
        if reasons.is_empty() {
            continue;
        }
        let name = refusal::suite_name(&LABS[lab]);
        for reason in &reasons {
            println!("grade: lab {name}: {reason}");
        }
        labs[lab] = LabState::Failed(refusal::refusal_message(&LABS[lab], &reasons));
    }
    Ok(())
}

/// Holds the work directory for this grading: two gradings at once would
/// stage over each other.
fn lock(work: &Path) -> Result<File, String> {
    let path = work.join("lock");
    let file = File::create(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    if file.try_lock().is_err() {
        println!(
            "grade: waiting for the other grading that uses {}",
            work.display()
        );
        file.lock()
            .map_err(|e| format!("cannot lock {}: {e}", path.display()))?;
    }
    Ok(file)
}

/// Builds, in the stage, the framework (the sandbox's launcher among it)
/// and the test binary of every lab that has a selected test and was not
/// refused. Returns the launcher.
fn build_labs(
    labs: &mut [LabState],
    tests: &[(usize, String)],
    stage: &Path,
    target: &Path,
    args: &Args,
) -> Result<PathBuf, String> {
    // SAFETY: the grader has started no thread yet; nothing else reads the
    // environment now. Cargo, and the runner's cargo, inherit it.
    unsafe { std::env::set_var("CARGO_TARGET_DIR", target) };
    std::env::set_current_dir(stage)
        .map_err(|e| format!("cannot enter {}: {e}", stage.display()))?;
    let wanted: Vec<usize> = (0..LABS.len())
        .filter(|&i| matches!(labs[i], LabState::Unbuilt) && tests.iter().any(|(l, _)| *l == i))
        .collect();
    if wanted.is_empty() {
        // Every selected suite was refused: nothing will run, so nothing
        // is built, the framework included.
        return Ok(target.join("debug").join("sandbox"));
    }
    let launcher = build_framework(target)?;
    for i in wanted {
        let lab = &LABS[i];
        let building = Instant::now();
        labs[i] = match build(lab.package, lab.test_target, args.build_timeout) {
            Ok(binary) => {
                println!(
                    "grade: built the {} tests ({:.1} s)",
                    lab.package,
                    building.elapsed().as_secs_f64()
                );
                LabState::Built(binary)
            }
            Err(why) => {
                println!("grade: the {} tests did not build", lab.package);
                LabState::Failed(why)
            }
        };
    }
    Ok(launcher)
}

/// Builds every framework crate of the stage, the `sandbox` launcher among
/// them, and returns the launcher. This is the staff's code, so the build
/// timeout (which is for the student's) does not apply: a cold cache
/// compiles every dependency here, and a lab's build then compiles only
/// the student's crate, the harness and the tests. A failure is the
/// grader's (the staff's files do not build).
fn build_framework(target: &Path) -> Result<PathBuf, String> {
    let mut command = cargo();
    command.args(["build", "--quiet", "--locked", "--workspace"]);
    for built_on_student_code in LABS.iter().map(|lab| lab.package).chain([HARNESS]) {
        command.args(["--exclude", built_on_student_code]);
    }
    match run_with_timeout(command, FRAMEWORK_BUILD_LIMIT)? {
        (Some(status), _) if status.success() => Ok(target.join("debug").join("sandbox")),
        (_, stderr) => Err(format!(
            "cannot build the framework in the stage:\n{}",
            String::from_utf8_lossy(&stderr)
        )),
    }
}

/// The cargo running us, if any, else the one on the PATH.
fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.stdin(Stdio::null());
    command
}

/// Builds one lab's test binary; on failure, what went wrong (the
/// compiler's messages), which becomes the output of each of its tests.
fn build(package: &str, target: &str, timeout_secs: u64) -> Result<TestBinary, String> {
    let selection: Vec<String> = ["--quiet", "-p", package, "--test", target]
        .map(String::from)
        .to_vec();
    let mut command = cargo();
    command
        .args(["test", "--no-run", "--locked", "--color=never"])
        .args(&selection);
    let (status, stderr) = run_with_timeout(command, Duration::from_secs(timeout_secs))?;
    match status {
        None => {
            return Err(format!(
                "the build timed out: it took longer than {timeout_secs} s (a constant whose \
                 evaluation never ends?)\n{}",
                cap_output(&stderr)
            ));
        }
        Some(status) if !status.success() => {
            eprintln!("{}", String::from_utf8_lossy(&stderr));
            return Err(format!(
                "the tests did not compile:\n{}",
                cap_output(&stderr)
            ));
        }
        Some(_) => {}
    }
    let binaries =
        runner::build(&selection).map_err(|e| format!("the tests could not be built: {e}"))?;
    binaries
        .into_iter()
        .find(|b| b.package == package)
        .ok_or_else(|| format!("cargo built no test binary for {package}"))
}

/// Runs `command` in a process group of its own, with its stderr captured;
/// kills the group if it is still running after `timeout` (status `None`).
fn run_with_timeout(
    mut command: Command,
    timeout: Duration,
) -> Result<(Option<std::process::ExitStatus>, Vec<u8>), String> {
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let group = nix::unistd::Pid::from_raw(child.id() as i32);
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    if let Ok(output) = finished.recv_timeout(timeout) {
        let output = output.map_err(|e| format!("cannot wait for cargo: {e}"))?;
        return Ok((Some(output.status), output.stderr));
    }
    // The group is cargo and every rustc it started.
    let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
    let stderr = finished
        .recv()
        .ok()
        .and_then(Result::ok)
        .map(|o| o.stderr)
        .unwrap_or_default();
    Ok((None, stderr))
}

fn selected_parts(args: &Args, points: &Points) -> Result<Vec<String>, String> {
    if args.parts.is_empty() {
        return Ok(points.parts().map(String::from).collect());
    }
    let known: Vec<&str> = points.parts().collect();
    let parts: Vec<String> = args
        .parts
        .iter()
        .filter(|p| !p.is_empty())
        .map(|p| {
            normalize_part(p)
                .filter(|part| known.contains(&part.as_str()))
                .ok_or_else(|| format!("unknown part {p:?}; the points table has {known:?}"))
        })
        .collect::<Result<_, _>>()?;
    if parts.is_empty() {
        return Err(format!(
            "--parts names no part; the points table has {known:?}"
        ));
    }
    Ok(parts)
}

/// The tests of `parts`, each with its lab's index in [`LABS`], in the test
/// files' order.
fn lab_tests(parts: &[String]) -> Result<Vec<(usize, String)>, String> {
    let mut tests = Vec::new();
    for (i, lab) in LABS.iter().enumerate() {
        let names = lab
            .test_names(Path::new("."))
            .map_err(|e| format!("cannot read {}: {e}", lab.test_file))?;
        tests.extend(
            names
                .into_iter()
                .filter(|name| part_of(name).is_some_and(|p| parts.contains(&p)))
                .map(|name| (i, name)),
        );
    }
    Ok(tests)
}

/// The tests `--tests` names, each of which must be among `tests`; empty
/// for all of them. A test keeps the points it has in its whole part.
fn only_tests(
    tests: &[(usize, String)],
    only: &[String],
    parts: &[String],
) -> Result<Vec<String>, String> {
    let only: Vec<String> = only.iter().filter(|t| !t.is_empty()).cloned().collect();
    match only.iter().find(|t| !tests.iter().any(|(_, n)| n == *t)) {
        Some(unknown) => Err(format!(
            "--tests: no test {unknown:?} in the selected parts {}",
            parts.join(" ")
        )),
        None => Ok(only),
    }
}

/// Makes run `run` of `name`: how it ended and how long it took. A
/// failure's output says which run, the verdict and the seed. With
/// `strict`, the lock-discipline check's findings fail the run.
fn run_once(
    args: &Args,
    launcher: &Path,
    binary: &TestBinary,
    name: &str,
    run: u32,
    strict: bool,
) -> (Outcome, Duration) {
    let never = AtomicBool::new(false);
    let seed = RandomState::new().hash_one((name, run));
    let mut spec = RunSpec::new(binary, name, seed, Duration::from_secs(args.timeout));
    spec.require_verdict = true;
    spec.sandbox = Some(Sandbox::new(launcher));
    // A failed lab-3 check's page could only go to the run's private
    // directory, which goes with the run: the report's text says what
    // was wrong.
    spec.env = vec![("LAB_HTML_MAX".to_string(), "0".to_string())];
    if strict {
        spec.env.push(("LAB_STRICT".to_string(), "1".to_string()));
    }
    let result = match runner::run(&spec, &never) {
        Ok(result) => result,
        Err(e) => {
            let output = format!("could not run the test: {e}");
            return (Outcome::Failed { output }, Duration::ZERO);
        }
    };
    if let Some(layers) = &result.sandbox {
        SANDBOX_SEEN.call_once(|| println!("grade: each test runs sandboxed: {layers}"));
    }
    if result.verdict.failed() {
        let output = format!(
            "run {run} of {}: {} (LAB_SEED={})\n{}",
            args.runs,
            result.verdict,
            spec.seed,
            cap_output(&result.output)
        );
        return (Outcome::Failed { output }, result.duration);
    }
    (Outcome::Passed, result.duration)
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
