//! Grading: the points table, the results of a grading run, and the three
//! ways they are reported: a table for the terminal, Gradescope's
//! `results.json`, and JUnit XML for CI systems.
//!
//! The `grade` binary runs the tests (see `src/bin/grade.rs`); this module
//! only computes and formats, so that it can be tested without running any.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus};
use serde::Serialize;
pub use test_scripts::labs::{normalize_part, part_of};

/// How much of a failed test's output a report keeps: its end, where the
/// failure message is.
const OUTPUT_CAP: usize = 8 * 1024;

/// The points table of `course/points.txt`.
#[derive(Debug, Default)]
pub struct Points {
    /// Each part's total, in the order of the file.
    parts: Vec<(String, f64)>,
    /// Tests given their own points.
    tests: BTreeMap<String, f64>,
    /// `strict on`: labrt's lock-discipline findings fail a test.
    strict: bool,
}

impl Points {
    /// Reads a points table: `<part or test> <points>` per line, `#`
    /// comments, and the option `strict on` (or `off`).
    pub fn parse(text: &str) -> Result<Points, String> {
        let mut points = Points::default();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let bad = |why: &str| format!("points table, line {}: {why}: {line:?}", n + 1);
            let mut words = line.split_whitespace();
            let (Some(name), Some(value), None) = (words.next(), words.next(), words.next()) else {
                return Err(bad("expected `<part or test> <points>`"));
            };
            if name == "strict" {
                points.strict = match value {
                    "on" => true,
                    "off" => false,
                    _ => return Err(bad("expected `strict on` or `strict off`")),
                };
                continue;
            }
            let value: f64 = value
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| bad("points must be a number, 0 or more"))?;
            if let Some(part) = normalize_part(name) {
                if points.parts.iter().any(|(p, _)| *p == part) {
                    return Err(bad("this part is listed twice"));
                }
                points.parts.push((part, value));
            } else if part_of(name).is_some() {
                if points.tests.insert(name.to_string(), value).is_some() {
                    return Err(bad("this test is listed twice"));
                }
            } else {
                return Err(bad("not a part (like 2A) nor a test name (like backup_2b)"));
            }
        }
        Ok(points)
    }

    /// Whether a test whose run labrt's lock-discipline check found
    /// problems in fails (the tester's `LAB_STRICT=1`; docs/debugging.md).
    pub fn strict(&self) -> bool {
        self.strict
    }

    /// The parts, in the table's order.
    pub fn parts(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().map(|(p, _)| p.as_str())
    }

    /// The points of each of `tests`, all of `part` (every test of it: a
    /// test of `part` the table gives points to must be among them, so that
    /// a misspelt name is an error, not a test whose points go to the
    /// others).
    pub fn max_scores(&self, part: &str, tests: &[String]) -> Result<Vec<f64>, String> {
        let total = self
            .parts
            .iter()
            .find(|(p, _)| p == part)
            .map(|(_, v)| *v)
            .ok_or_else(|| format!("the points table has no line for part {part}"))?;
        if let Some(unknown) = self
            .tests
            .keys()
            .find(|t| part_of(t).as_deref() == Some(part) && !tests.contains(*t))
        {
            return Err(format!(
                "the points table gives points to {unknown}, but part {part} has no such test"
            ));
        }
        let own: f64 = tests.iter().filter_map(|t| self.tests.get(t)).sum();
        let shared = tests
            .iter()
            .filter(|t| !self.tests.contains_key(*t))
            .count();
        if own > total + 1e-9 {
            return Err(format!(
                "the tests of part {part} are given {own} points, more than the part's {total}"
            ));
        }
        let each = if shared == 0 {
            0.0
        } else {
            (total - own) / shared as f64
        };
        Ok(tests
            .iter()
            .map(|t| self.tests.get(t).copied().unwrap_or(each))
            .collect())
    }
}

/// One graded test.
#[derive(Clone, Debug)]
pub struct TestResult {
    pub name: String,
    pub part: String,
    /// Its place in the part, from 1: `2A.1`.
    pub number: usize,
    pub max_score: f64,
    /// Whether every run passed.
    pub passed: bool,
    /// Summed over its runs.
    pub duration: Duration,
    /// What the first failing run said (capped), or a note on the runs.
    pub output: String,
}

impl TestResult {
    pub fn score(&self) -> f64 {
        if self.passed { self.max_score } else { 0.0 }
    }

    fn id(&self) -> String {
        format!("{}.{}", self.part, self.number)
    }
}

/// The end of `output`, at most `OUTPUT_CAP` (8 KiB) bytes, as text.
pub fn cap_output(output: &[u8]) -> String {
    let text = String::from_utf8_lossy(output);
    if text.len() <= OUTPUT_CAP {
        return text.into_owned();
    }
    let mut cut = text.len() - OUTPUT_CAP;
    while !text.is_char_boundary(cut) {
        cut += 1;
    }
    format!("[… {cut} bytes cut …]\n{}", &text[cut..])
}

/// A grading run's results.
#[derive(Debug, Default)]
pub struct Report {
    pub tests: Vec<TestResult>,
    pub execution_time: Duration,
}

impl Report {
    pub fn score(&self) -> f64 {
        round2(self.tests.iter().map(TestResult::score).sum())
    }

    /// Rounded to hundredths, like every figure in the reports: shares of a
    /// part (3.57 points each for seven tests) need not add up exactly.
    pub fn max_score(&self) -> f64 {
        round2(self.tests.iter().map(|t| t.max_score).sum())
    }

    pub fn passed(&self) -> usize {
        self.tests.iter().filter(|t| t.passed).count()
    }

    pub fn failed(&self) -> usize {
        self.tests.len() - self.passed()
    }

    /// The score table for the terminal, with the total.
    pub fn table(&self) -> String {
        let width = self.tests.iter().map(|t| t.name.len()).max().unwrap_or(4);
        let mut out = format!(
            "{:<6} {:<width$}  {:<6} {:>13} {:>8}\n",
            "", "test", "result", "points", "time"
        );
        for t in &self.tests {
            let _ = writeln!(
                out,
                "{:<6} {:<width$}  {:<6} {:>6.2} / {:<4} {:>7.1}s",
                t.id(),
                t.name,
                if t.passed { "ok" } else { "FAILED" },
                t.score(),
                trim_number(t.max_score),
                t.duration.as_secs_f64(),
            );
        }
        let _ = writeln!(
            out,
            "total: {:.2} / {} points, {:.0} s",
            self.score(),
            trim_number(self.max_score()),
            self.execution_time.as_secs_f64()
        );
        out
    }

    /// Gradescope's autograder `results.json`.
    pub fn results_json(&self) -> String {
        #[derive(Serialize)]
        struct Results<'a> {
            score: f64,
            execution_time: u64,
            output: String,
            tests: Vec<Test<'a>>,
        }
        #[derive(Serialize)]
        struct Test<'a> {
            name: &'a str,
            number: String,
            score: f64,
            max_score: f64,
            status: &'static str,
            output: &'a str,
            visibility: &'static str,
        }
        let results = Results {
            score: self.score(),
            execution_time: self.execution_time.as_secs(),
            output: format!("{} passed, {} failed", self.passed(), self.failed()),
            tests: self
                .tests
                .iter()
                .map(|t| Test {
                    name: &t.name,
                    number: t.id(),
                    score: round2(t.score()),
                    max_score: round2(t.max_score),
                    status: if t.passed { "passed" } else { "failed" },
                    output: &t.output,
                    visibility: "visible",
                })
                .collect(),
        };
        serde_json::to_string_pretty(&results).expect("plain data serializes")
    }

    /// JUnit XML: one `testsuite` per part, a `failure` per failed test
    /// whose message is the verdict (the first line of its output).
    pub fn junit_xml(&self) -> String {
        let mut report = quick_junit::Report::new("raftlab");
        report.set_time(self.execution_time);
        let mut parts: Vec<&str> = self.tests.iter().map(|t| t.part.as_str()).collect();
        parts.dedup();
        for part in parts {
            let mut suite = quick_junit::TestSuite::new(part);
            suite.set_time(
                self.tests
                    .iter()
                    .filter(|t| t.part == part)
                    .map(|t| t.duration)
                    .sum(),
            );
            for t in self.tests.iter().filter(|t| t.part == part) {
                let status = if t.passed {
                    TestCaseStatus::success()
                } else {
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    // The output starts with the verdict ("run 1 of 1: failed
                    // (signal: 11)", "the tests did not compile:"); the
                    // test's own last words are in the body.
                    let verdict = t.output.lines().find(|l| !l.trim().is_empty());
                    status.set_message(xml_text(verdict.unwrap_or("failed")));
                    status.set_description(xml_text(&t.output));
                    status
                };
                let mut case = TestCase::new(t.name.as_str(), status);
                case.set_classname(format!("lab.{part}"));
                case.set_time(t.duration);
                suite.add_test_case(case);
            }
            report.add_test_suite(suite);
        }
        report.to_string().expect("plain text serializes")
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// `10` rather than `10.00` for whole numbers of points.
fn trim_number(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}")
    }
}

/// `text` without the control characters XML 1.0 cannot hold (a test's
/// colored output has ESC); quick-junit escapes the rest.
fn xml_text(text: &str) -> String {
    text.chars()
        .filter(|&c| !c.is_control() || matches!(c, '\n' | '\t' | '\r'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(name: &str, number: usize, passed: bool, max: f64) -> TestResult {
        TestResult {
            name: name.to_string(),
            part: part_of(name).unwrap(),
            number,
            max_score: max,
            passed,
            duration: Duration::from_millis(1500),
            output: if passed {
                String::new()
            } else {
                "run 1 of 1: failed (signal: 11 (SIGSEGV)) (LAB_SEED=7)\n\
                 Test (2B): basic agreement ...\nexpected one leader, got none <&>\u{1b}"
                    .to_string()
            },
        }
    }

    fn sample() -> Report {
        Report {
            tests: vec![
                result("initial_election_2a", 1, true, 7.5),
                result("re_election_2a", 2, true, 7.5),
                result("basic_agree_2b", 1, false, 10.0),
            ],
            execution_time: Duration::from_secs(12),
        }
    }

    #[test]
    fn strict_is_an_option_of_the_table() {
        assert!(!Points::parse("2A 15\n").unwrap().strict());
        assert!(Points::parse("2A 15\nstrict on\n").unwrap().strict());
        assert!(!Points::parse("strict on\nstrict off\n").unwrap().strict());
        let err = Points::parse("strict yes\n").unwrap_err();
        assert!(err.contains("`strict on` or `strict off`"), "{err}");
    }

    #[test]
    fn points_are_shared_within_a_part() {
        let points = Points::parse("# c\n2A 15\n2b 30 # x\nbackup_2b 10\n").unwrap();
        assert_eq!(points.parts().collect::<Vec<_>>(), ["2A", "2B"]);
        let tests: Vec<String> = ["a_2b", "backup_2b", "c_2b"].map(String::from).to_vec();
        assert_eq!(points.max_scores("2B", &tests).unwrap(), [10.0, 10.0, 10.0]);
        let tests: Vec<String> = ["a_2a", "b_2a", "c_2a"].map(String::from).to_vec();
        assert_eq!(points.max_scores("2A", &tests).unwrap(), [5.0, 5.0, 5.0]);
        let err = points.max_scores("2C", &tests).unwrap_err();
        assert!(err.contains("no line for part 2C"), "{err}");
    }

    /// Lab 4B's challenges: listed at 0, they leave 4B's points to the
    /// other tests, and a course may give them some.
    #[test]
    fn a_test_at_zero_points_leaves_its_share_to_the_others() {
        let table = "4B 80\nchallenge1_delete_4b 0\nchallenge2_partial_4b 0\n";
        let points = Points::parse(table).unwrap();
        let mut tests: Vec<String> = (1..=10).map(|i| format!("t{i}_4b")).collect();
        tests.extend(["challenge1_delete_4b", "challenge2_partial_4b"].map(String::from));
        let scores = points.max_scores("4B", &tests).unwrap();
        assert_eq!(scores[..10], [8.0; 10]);
        assert_eq!(scores[10..], [0.0, 0.0]);
        let report = Report {
            tests: vec![
                result("t1_4b", 1, true, 8.0),
                result("challenge1_delete_4b", 11, false, 0.0),
            ],
            execution_time: Duration::from_secs(1),
        };
        assert_eq!((report.score(), report.max_score()), (8.0, 8.0));
        assert!(
            report.table().contains("total: 8.00 / 8 points"),
            "{}",
            report.table()
        );
        let given = Points::parse("4B 80\nchallenge1_delete_4b 5\n").unwrap();
        let scores = given.max_scores("4B", &tests).unwrap();
        assert_eq!(scores[10], 5.0);
        assert!(
            (scores.iter().sum::<f64>() - 80.0).abs() < 1e-9,
            "{scores:?}"
        );
        // A misspelt name is an error, not 0 points for a test that is not there.
        let misspelt = Points::parse("4B 80\nchallenge1_delet_4b 0\n").unwrap();
        let err = misspelt.max_scores("4B", &tests).unwrap_err();
        assert!(err.contains("challenge1_delet_4b"), "{err}");
    }

    #[test]
    fn bad_points_tables_name_the_line() {
        for (text, why) in [
            ("2A", "expected `<part or test> <points>`"),
            ("2A ten", "points must be a number"),
            ("2A -1", "points must be a number"),
            ("2A 1\n2a 2", "listed twice"),
            ("elections 5", "not a part"),
        ] {
            let err = Points::parse(text).unwrap_err();
            assert!(err.contains(why), "{text:?}: {err}");
            assert!(err.contains("line "), "{err}");
        }
        let points = Points::parse("2B 5\nbackup_2b 6").unwrap();
        let err = points
            .max_scores("2B", &["backup_2b".to_string()])
            .unwrap_err();
        assert!(err.contains("more than the part's 5"), "{err}");
    }

    #[test]
    fn long_output_keeps_its_end() {
        let long = "x".repeat(OUTPUT_CAP) + "the failure";
        let capped = cap_output(long.as_bytes());
        assert!(capped.ends_with("the failure"));
        assert!(capped.len() < OUTPUT_CAP + 64);
        assert_eq!(cap_output(b"short"), "short");
    }

    #[test]
    fn results_json_is_gradescopes_format() {
        let report = sample();
        let json: serde_json::Value = serde_json::from_str(&report.results_json()).unwrap();
        assert_eq!(json["score"], 15.0);
        assert_eq!(json["execution_time"], 12);
        let tests = json["tests"].as_array().unwrap();
        assert_eq!(tests.len(), 3);
        assert_eq!(tests[0]["name"], "initial_election_2a");
        assert_eq!(tests[0]["number"], "2A.1");
        assert_eq!(tests[2]["number"], "2B.1");
        assert_eq!(tests[2]["score"], 0.0);
        assert_eq!(tests[2]["max_score"], 10.0);
        assert_eq!(tests[2]["visibility"], "visible");
        assert!(
            tests[2]["output"]
                .as_str()
                .unwrap()
                .contains("expected one leader")
        );
    }

    /// A small check of well-formedness: balanced tags, escaped text.
    #[test]
    fn junit_xml_is_well_formed() {
        let xml = sample().junit_xml();
        assert!(xml.starts_with("<?xml"));
        let mut open: Vec<String> = Vec::new();
        for tag in xml.split('<').skip(2).map(|t| t.split('>').next().unwrap()) {
            let name = tag
                .trim_start_matches('/')
                .split([' ', '/'])
                .next()
                .unwrap();
            if tag.starts_with('/') {
                assert_eq!(open.pop().as_deref(), Some(name), "unbalanced </{name}>");
            } else if !tag.ends_with('/') {
                open.push(name.to_string());
            }
        }
        assert!(open.is_empty(), "unclosed {open:?}");
        let suite = |name: &str| {
            let tag = format!("<testsuite name=\"{name}\"");
            xml.lines()
                .find(|l| l.contains(&tag))
                .unwrap_or("")
                .to_string()
        };
        assert!(suite("2A").contains("tests=\"2\"") && suite("2A").contains("failures=\"0\""));
        assert!(suite("2B").contains("tests=\"1\"") && suite("2B").contains("failures=\"1\""));
        assert!(xml.contains("&lt;&amp;&gt;"), "text not escaped: {xml}");
        assert!(
            xml.contains("<failure message=\"run 1 of 1: failed (signal: 11 (SIGSEGV))"),
            "the failure message is the verdict: {xml}"
        );
        assert!(!xml.contains('\u{1b}'), "control character left in XML");
    }

    #[test]
    fn shares_of_a_part_add_up_to_the_part() {
        let report = Report {
            tests: (1..=7)
                .map(|i| result(&format!("t{i}_2d"), i, true, 25.0 / 7.0))
                .collect(),
            execution_time: Duration::from_secs(1),
        };
        assert_eq!(report.score(), 25.0);
        assert_eq!(report.max_score(), 25.0);
        assert!(report.table().contains("total: 25.00 / 25 points"));
    }

    #[test]
    fn table_has_the_total() {
        let table = sample().table();
        assert!(table.contains("2B.1   basic_agree_2b"), "{table}");
        assert!(table.contains("FAILED"), "{table}");
        assert!(table.contains("total: 15.00 / 25 points"), "{table}");
    }
}
