//! What dstest keeps of each run, and how it reports them: the final table
//! and the `--json` summary.

use std::path::PathBuf;

use console::style;
use serde::{Deserialize, Serialize};

/// One finished run of a test.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunRecord {
    /// Numbered from 1 for each test, across `--loop` rounds; it names the
    /// run's log, `<test>_<run>.log`.
    pub run: usize,
    pub seed: u64,
    pub passed: bool,
    /// `passed`, `failed (exit status: 101)`, `timed out (killed)`.
    pub verdict: String,
    pub secs: f64,
    /// Where its output was saved, if it was (failed runs, or `--archive`).
    pub log: Option<PathBuf>,
    /// The command that reruns the test with the run's seed.
    pub replay: String,
    /// A failed run's message: its first panic's (see `signature`).
    #[serde(default)]
    pub message: Option<String>,
}

/// The runs of one selected test.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TestRuns {
    pub name: String,
    pub package: String,
    pub target: String,
    pub runs: Vec<RunRecord>,
    /// Failed runs whose logs were not kept: those after the first
    /// `--keep` of the test.
    pub logs_not_kept: usize,
}

impl TestRuns {
    pub fn failed(&self) -> usize {
        self.runs.iter().filter(|r| !r.passed).count()
    }

    /// The mean and the (sample) standard deviation of the runs' times in
    /// seconds, if any run finished.
    pub fn time_stats(&self) -> Option<(f64, f64)> {
        let n = self.runs.len() as f64;
        if self.runs.is_empty() {
            return None;
        }
        let mean = self.runs.iter().map(|r| r.secs).sum::<f64>() / n;
        let squares = self
            .runs
            .iter()
            .map(|r| (r.secs - mean).powi(2))
            .sum::<f64>();
        let std = if self.runs.len() > 1 {
            (squares / (n - 1.0)).sqrt()
        } else {
            0.0
        };
        Some((mean, std))
    }
}

/// The counts of the final line, `N passed, N failed`.
pub fn totals(tests: &[TestRuns]) -> (usize, usize) {
    let runs: usize = tests.iter().map(|t| t.runs.len()).sum();
    let failed: usize = tests.iter().map(TestRuns::failed).sum();
    (runs - failed, failed)
}

/// The table of results: test, failed, total, mean time ± std. Colors
/// follow stdout (none when it is not a terminal).
pub fn table(tests: &[TestRuns]) -> String {
    let width = tests
        .iter()
        .map(|t| t.name.len())
        .chain([4])
        .max()
        .unwrap_or_default();
    let mut table = format!(
        "{}\n",
        style(format!("{:<width$}  failed  total  time", "test")).bold()
    );
    for test in tests {
        let failed = test.failed();
        let failed_cell = style(format!("{failed:>6}"));
        let failed_cell = if failed > 0 {
            failed_cell.red().bold()
        } else {
            failed_cell.green()
        };
        let time = match test.time_stats() {
            Some((mean, std)) => format!("{mean:.2} ± {std:.2} s"),
            None => "-".to_string(),
        };
        table.push_str(&format!(
            "{}  {failed_cell}  {:>5}  {time}\n",
            style(format!("{:<width$}", test.name)).cyan(),
            test.runs.len(),
        ));
    }
    table
}

/// The line that names the selected tests before they run, grouped by
/// suite: `dstest: 4 tests: raft_test (lab 2): figure8_2c, persist1_2c;
/// kvraft_test (lab 3): persist_one_client_3a, persist_concurrent_3a`.
/// `tests` holds each test's suite, as the line should name it, and name.
pub fn selection_line(tests: &[(String, &str)]) -> String {
    let mut suites: Vec<(&str, Vec<&str>)> = Vec::new();
    for (suite, name) in tests {
        match suites.iter_mut().find(|(s, _)| s == suite) {
            Some((_, names)) => names.push(name),
            None => suites.push((suite, vec![name])),
        }
    }
    let suites: Vec<String> = suites
        .iter()
        .map(|(suite, names)| format!("{suite}: {}", names.join(", ")))
        .collect();
    format!(
        "dstest: {} test{}: {}",
        tests.len(),
        if tests.len() == 1 { "" } else { "s" },
        suites.join("; ")
    )
}

/// A duration as the progress lines give it: `45s`, `2m10s`, `1h02m05s`.
pub fn short_duration(elapsed: std::time::Duration) -> String {
    let secs = elapsed.as_secs();
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}h{m:02}m{s:02}s")
    } else if m > 0 {
        format!("{m}m{s:02}s")
    } else {
        format!("{s}s")
    }
}

/// The `--json` summary.
#[derive(Serialize)]
pub struct Summary<'a> {
    pub passed: usize,
    pub failed: usize,
    /// Whether Ctrl-C (or a termination signal) cut the runs short.
    pub interrupted: bool,
    /// Failed runs whose logs were not kept (beyond `--keep` per test).
    pub logs_not_kept: usize,
    /// Logs that could not be written.
    pub log_errors: usize,
    pub tests: Vec<TestSummary<'a>>,
}

/// A `--json` summary as `dstest merge` reads it back: what it needs to
/// make the table again (the per-test counts and times it computes anew).
#[derive(Deserialize)]
pub struct ReadSummary {
    #[serde(default)]
    pub interrupted: bool,
    #[serde(default)]
    pub log_errors: usize,
    pub tests: Vec<TestRuns>,
}

#[derive(Serialize)]
pub struct TestSummary<'a> {
    #[serde(flatten)]
    pub test: &'a TestRuns,
    pub failed: usize,
    pub mean_secs: Option<f64>,
    pub std_secs: Option<f64>,
}

impl<'a> Summary<'a> {
    pub fn new(tests: &'a [TestRuns], interrupted: bool, log_errors: usize) -> Summary<'a> {
        let (passed, failed) = totals(tests);
        Summary {
            passed,
            failed,
            interrupted,
            logs_not_kept: tests.iter().map(|t| t.logs_not_kept).sum(),
            log_errors,
            tests: tests
                .iter()
                .map(|test| {
                    let stats = test.time_stats();
                    TestSummary {
                        test,
                        failed: test.failed(),
                        mean_secs: stats.map(|(mean, _)| mean),
                        std_secs: stats.map(|(_, std)| std),
                    }
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(name: &str, outcomes: &[(bool, f64)]) -> TestRuns {
        TestRuns {
            name: name.to_string(),
            package: "raft".to_string(),
            target: "raft_test".to_string(),
            runs: outcomes
                .iter()
                .enumerate()
                .map(|(i, &(passed, secs))| RunRecord {
                    run: i + 1,
                    seed: i as u64,
                    passed,
                    verdict: if passed { "passed" } else { "failed" }.to_string(),
                    secs,
                    log: None,
                    replay: String::new(),
                    message: None,
                })
                .collect(),
            logs_not_kept: 0,
        }
    }

    #[test]
    fn stats_and_totals() {
        let a = runs("a_2a", &[(true, 2.0), (false, 4.0)]);
        let (mean, std) = a.time_stats().unwrap();
        assert_eq!(mean, 3.0);
        assert!((std - 2f64.sqrt()).abs() < 1e-9);
        assert_eq!(runs("b_2a", &[(true, 5.0)]).time_stats(), Some((5.0, 0.0)));
        assert_eq!(runs("c_2a", &[]).time_stats(), None);
        assert_eq!(totals(&[a, runs("b_2a", &[(true, 1.0)])]), (2, 1));
    }

    #[test]
    fn table_rows() {
        console::set_colors_enabled(false);
        let table = table(&[
            runs("initial_election_2a", &[(true, 3.0), (true, 3.5)]),
            runs("x_2b", &[]),
        ]);
        assert_eq!(
            table,
            "test                 failed  total  time\n\
             initial_election_2a       0      2  3.25 ± 0.35 s\n\
             x_2b                      0      0  -\n"
        );
    }

    #[test]
    fn json_summary() {
        let mut tests = [runs("a_2a", &[(false, 1.0)])];
        tests[0].logs_not_kept = 4;
        let json = serde_json::to_value(Summary::new(&tests, true, 2)).unwrap();
        assert_eq!(json["failed"], 1);
        assert_eq!(json["interrupted"], true);
        assert_eq!(json["logs_not_kept"], 4);
        assert_eq!(json["log_errors"], 2);
        assert_eq!(json["tests"][0]["logs_not_kept"], 4);
        assert_eq!(json["tests"][0]["name"], "a_2a");
        assert_eq!(json["tests"][0]["runs"][0]["seed"], 0);
        assert_eq!(json["tests"][0]["mean_secs"], 1.0);
    }

    #[test]
    fn the_selection_line_groups_tests_by_suite() {
        let tests = [
            ("raft_test (lab 2)".to_string(), "figure8_2c"),
            ("kvraft_test (lab 3)".to_string(), "persist_concurrent_3a"),
            ("raft_test (lab 2)".to_string(), "persist1_2c"),
        ];
        assert_eq!(
            selection_line(&tests),
            "dstest: 3 tests: raft_test (lab 2): figure8_2c, persist1_2c; \
             kvraft_test (lab 3): persist_concurrent_3a"
        );
        assert_eq!(
            selection_line(&[("fixture".to_string(), "pass_9a")]),
            "dstest: 1 test: fixture: pass_9a"
        );
    }

    #[test]
    fn short_durations() {
        use std::time::Duration;
        assert_eq!(short_duration(Duration::from_millis(45_900)), "45s");
        assert_eq!(short_duration(Duration::from_secs(130)), "2m10s");
        assert_eq!(short_duration(Duration::from_secs(3725)), "1h02m05s");
    }
}
