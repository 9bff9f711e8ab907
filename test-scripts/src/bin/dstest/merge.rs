//! `dstest merge a.json b.json …`: the `--json` summaries of the slices of
//! a sweep (`--shard K/N` on N machines) made into one table and one exit
//! status.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;

use crate::report::{self, ReadSummary, TestRuns};
use crate::{ERROR, signature};

#[derive(Parser, Debug)]
#[command(
    name = "dstest merge",
    bin_name = "dstest merge",
    about = "Combines dstest --json summaries (the shards of a sweep) into one table and one exit \
             status: 0 if every run passed, 1 if any failed, 2 on a bad file or an incomplete \
             shard."
)]
struct MergeCli {
    /// The summaries, written by `dstest ... --json FILE`
    #[arg(required = true, value_name = "JSON")]
    files: Vec<PathBuf>,

    /// Write the merged summary as JSON to FILE
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

/// Reads one summary, or says what is wrong with it, naming the file.
fn read(path: &Path) -> Result<ReadSummary, String> {
    let text =
        fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a dstest --json summary: {e}", path.display()))
}

/// The tests of `summaries`, each test's runs together (ordered by run),
/// tests in the order they first come; and warnings for a run found twice.
pub fn combine(summaries: Vec<(String, ReadSummary)>) -> (Vec<TestRuns>, Vec<String>) {
    let mut tests: Vec<TestRuns> = Vec::new();
    let mut sources: Vec<Vec<(usize, String)>> = Vec::new();
    let mut warnings = Vec::new();
    for (file, summary) in summaries {
        for test in summary.tests {
            let at = tests.iter().position(|t| {
                (&t.package, &t.target, &t.name) == (&test.package, &test.target, &test.name)
            });
            let at = at.unwrap_or_else(|| {
                tests.push(TestRuns {
                    runs: Vec::new(),
                    logs_not_kept: 0,
                    ..test.clone()
                });
                sources.push(Vec::new());
                tests.len() - 1
            });
            for run in &test.runs {
                if let Some((_, other)) = sources[at].iter().find(|(r, _)| *r == run.run) {
                    warnings.push(format!(
                        "run {} of {} is in both {other} and {file} (the same shard twice?)",
                        run.run, test.name
                    ));
                }
                sources[at].push((run.run, file.clone()));
            }
            tests[at].runs.extend(test.runs);
            tests[at].logs_not_kept += test.logs_not_kept;
        }
    }
    for test in &mut tests {
        test.runs.sort_by_key(|r| r.run);
    }
    (tests, warnings)
}

/// `dstest merge`; `args` starts with `merge`.
pub fn main(args: &[OsString]) -> ExitCode {
    let cli = MergeCli::parse_from(args);
    let mut summaries = Vec::new();
    for path in &cli.files {
        match read(path) {
            Ok(summary) => summaries.push((path.display().to_string(), summary)),
            Err(message) => {
                eprintln!("dstest merge: {message}");
                return ExitCode::from(ERROR);
            }
        }
    }
    let interrupted: Vec<String> = summaries
        .iter()
        .filter(|(_, s)| s.interrupted)
        .map(|(file, _)| file.clone())
        .collect();
    let log_errors: usize = summaries.iter().map(|(_, s)| s.log_errors).sum();
    let files = summaries.len();
    let (tests, warnings) = combine(summaries);
    for warning in &warnings {
        eprintln!("dstest merge: warning: {warning}");
    }
    println!(
        "dstest merge: {files} summar{}, {} test{}",
        if files == 1 { "y" } else { "ies" },
        tests.len(),
        if tests.len() == 1 { "" } else { "s" }
    );
    print!("{}", report::table(&tests));
    let not_kept: usize = tests.iter().map(|t| t.logs_not_kept).sum();
    if not_kept > 0 {
        println!(
            "dstest: {not_kept} failed run{} kept no log (--keep)",
            if not_kept == 1 { "" } else { "s" }
        );
    }
    if log_errors > 0 {
        println!(
            "dstest: {log_errors} log{} could not be written",
            if log_errors == 1 { "" } else { "s" }
        );
    }
    if !interrupted.is_empty() {
        println!(
            "dstest: interrupted, so incomplete: {}",
            interrupted.join(", ")
        );
    }
    print!("{}", signature::table(&tests));
    let (passed, failed) = report::totals(&tests);
    let mut code = if failed > 0 {
        1
    } else if !interrupted.is_empty() || log_errors > 0 {
        ERROR
    } else {
        0
    };
    if let Some(path) = &cli.json {
        let summary = report::Summary::new(&tests, !interrupted.is_empty(), log_errors);
        let written = fs::File::create(path).and_then(|file| {
            serde_json::to_writer_pretty(file, &summary).map_err(std::io::Error::from)
        });
        if let Err(err) = written {
            eprintln!("dstest merge: cannot write {}: {err}", path.display());
            code = ERROR;
        }
    }
    println!("{passed} passed, {failed} failed");
    ExitCode::from(code)
}
