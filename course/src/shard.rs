//! Grading on several machines: `grade --shard K/N` grades the K-th of N
//! disjoint slices of a grading's runs (its tests × `--runs`, cut as dstest
//! cuts a sweep: [`test_scripts::shard`]) and writes a [`Partial`] instead of
//! a score; `grade merge` checks that the N partials are the N slices of one
//! grading and makes from them the [`Report`] a single grading would have.
//!
//! A single grading is itself the one slice `1/1`, merged: the same code
//! decides a test's score either way. A test scores only if every one of its
//! runs passed, whichever machine ran it. Within a slice, a test's runs after
//! one that failed are skipped, as a single grading stops at a test's first
//! failure; the merged report shows the first failing run (the lowest
//! numbered), and the time of the runs up to it, as a single grading would.
//!
//! What must be the same for a merge to be safe is a partial's [`Grading`]:
//! the student files (a fingerprint of every path and byte the grader
//! took), the points table, the staff's tree that built and ran the tests
//! (the handout's framework files: the tests and the harness), the options
//! that change a score (parts, tests, runs, time limits, the gate), and the
//! graded tests with their points. The merge names what differs, and which
//! shard is missing or given twice.

use std::time::Duration;

use serde::{Deserialize, Serialize};
pub use test_scripts::shard::Shard;

use crate::grade::{Report, TestResult};

/// The first field of every partial: what it is, and the version of its
/// layout.
pub const FORMAT: &str = "raftlab grade --shard, version 1";

/// What every slice of one grading shares.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Grading {
    /// [`fingerprint`] of the student files graded (paths and contents).
    pub submission: String,
    /// Where they were read from, for the messages only (each machine may
    /// keep the submission elsewhere).
    pub submission_dir: String,
    /// [`fingerprint`] of `course/points.txt`.
    pub points: String,
    /// [`fingerprint`] of the staff tree's framework files (the tests, the
    /// harness, the sandbox): the code that grades.
    pub grader: String,
    pub options: Options,
    /// The tests graded, in the report's order.
    pub tests: Vec<Planned>,
}

/// The options that change what a grading runs or how it scores.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Options {
    pub parts: Vec<String>,
    pub tests: Vec<String>,
    pub runs: u32,
    pub timeout: u64,
    pub build_timeout: u64,
    pub skip_gate: bool,
}

/// A test to grade: its place in the report and its points.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Planned {
    pub name: String,
    pub part: String,
    /// Its place in its part, from 1.
    pub number: usize,
    pub max_score: f64,
}

/// How one run of a test ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Passed,
    /// With what a single grading would report of the test: the verdict,
    /// the seed and the run's output (capped), or why its lab could not
    /// run.
    Failed {
        output: String,
    },
    /// Not made: an earlier run of the test failed in this slice.
    Skipped,
}

/// One run of one test.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// The test's index in [`Grading::tests`], from 0.
    pub test: usize,
    /// From 1 to [`Options::runs`].
    pub run: u32,
    pub outcome: Outcome,
    pub duration_ns: u64,
}

/// What `grade --shard K/N` writes: its slice's runs of one grading.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Partial {
    pub format: String,
    pub shard: Shard,
    pub grading: Grading,
    /// The slice's whole time, staging and building included.
    pub execution_time_ns: u64,
    pub runs: Vec<Run>,
}

impl Partial {
    pub fn new(shard: Shard, grading: Grading) -> Partial {
        Partial {
            format: FORMAT.to_string(),
            shard,
            grading,
            execution_time_ns: 0,
            runs: Vec::new(),
        }
    }

    /// The runs of test `test` this slice owns, in order.
    pub fn owned_runs(&self, test: usize) -> Vec<u32> {
        (1..=self.grading.options.runs)
            .filter(|&run| self.shard.owns(test, run as usize))
            .collect()
    }

    /// Grades this slice's runs of test `test` (its index in the grading's
    /// tests): `run_one(run)` makes one run, in order, until one fails; the
    /// slice's later runs of the test are skipped, as a single grading stops
    /// at a test's first failure. Returns the runs made, passed or failed
    /// (none if the slice owns no run of the test), and whether they all
    /// passed and their time.
    pub fn grade_test(
        &mut self,
        test: usize,
        mut run_one: impl FnMut(u32) -> (Outcome, Duration),
    ) -> (Vec<u32>, bool, Duration) {
        let (mut made, mut failed, mut total) = (Vec::new(), false, Duration::ZERO);
        for run in self.owned_runs(test) {
            let (outcome, duration) = if failed {
                (Outcome::Skipped, Duration::ZERO)
            } else {
                made.push(run);
                run_one(run)
            };
            failed |= matches!(outcome, Outcome::Failed { .. });
            total += duration;
            self.runs.push(Run {
                test,
                run,
                outcome,
                duration_ns: u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX),
            });
        }
        (made, !failed, total)
    }

    /// Reads a partial from `text`; `name` names it in the error.
    pub fn from_json(name: &str, text: &str) -> Result<Partial, String> {
        #[derive(Deserialize)]
        struct Head {
            format: Option<String>,
        }
        let not_one = || format!("{name} is not a partial grading (written by grade --shard)");
        let head: Head = serde_json::from_str(text).map_err(|e| format!("{}: {e}", not_one()))?;
        match head.format.as_deref() {
            Some(FORMAT) => {}
            Some(other) => {
                return Err(format!(
                    "{name} is a {other:?}, not a {FORMAT:?}: grade it again with this grader"
                ));
            }
            None => return Err(not_one()),
        }
        serde_json::from_str(text).map_err(|e| format!("{}: {e}", not_one()))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("plain data serializes")
    }
}

/// A fingerprint of `items` (each a name and its bytes): 128 bits of two
/// FNV-1a hashes, in hex. Stable across machines and builds (std's hashers
/// are not promised to be); it tells apart what differs by accident, not
/// what an adversary made to collide: the partials are the staff's own.
pub fn fingerprint<'a>(items: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> String {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hashes = [0xcbf2_9ce4_8422_2325_u64, 0x6c62_272e_07bb_0142_u64];
    let mut feed = |bytes: &[u8]| {
        for (i, hash) in hashes.iter_mut().enumerate() {
            for &b in bytes {
                *hash ^= u64::from(b.rotate_left(i as u32));
                *hash = hash.wrapping_mul(PRIME);
            }
        }
    };
    for (name, bytes) in items {
        // Lengths first, so that no two lists make the same stream.
        feed(&(name.len() as u64).to_le_bytes());
        feed(name.as_bytes());
        feed(&(bytes.len() as u64).to_le_bytes());
        feed(bytes);
    }
    format!("{:016x}{:016x}", hashes[0], hashes[1])
}

/// Checks that `parts` (each with the name of its file) are the N slices of
/// one grading, every slice once, and makes the report a single grading
/// would have made. The error says what differs or is missing, naming the
/// files.
pub fn merge(parts: &[(String, Partial)]) -> Result<Report, String> {
    let shards: Vec<(String, Shard)> = parts.iter().map(|(n, p)| (n.clone(), p.shard)).collect();
    Shard::check_complete(&shards).map_err(|e| format!("not the shards of one grading: {e}"))?;
    let (first_name, first) = &parts[0];
    let grading = &first.grading;
    for (name, part) in &parts[1..] {
        same_grading(first_name, grading, name, &part.grading)?;
    }
    let runs = grading.options.runs;
    let tests = &grading.tests;
    // Every (test, run) once, from the shard that owns it.
    let mut seen: Vec<Vec<Option<(&str, &Run)>>> = vec![vec![None; runs as usize]; tests.len()];
    for (name, part) in parts {
        for run in &part.runs {
            let Some(planned) = tests.get(run.test) else {
                return Err(format!(
                    "{name} has a run of test {}, but the grading has {} tests",
                    run.test + 1,
                    tests.len()
                ));
            };
            if run.run == 0 || run.run > runs {
                return Err(format!(
                    "{name} has run {} of {}, but the grading makes {runs}",
                    run.run, planned.name
                ));
            }
            if !part.shard.owns(run.test, run.run as usize) {
                return Err(format!(
                    "{name} has run {} of {}, which is not shard {}'s",
                    run.run, planned.name, part.shard
                ));
            }
            let slot = &mut seen[run.test][run.run as usize - 1];
            if let Some((other, _)) = slot {
                return Err(format!(
                    "run {} of {} is in both {other} and {name}",
                    run.run, planned.name
                ));
            }
            *slot = Some((name, run));
        }
    }
    let mut report = Report {
        tests: Vec::with_capacity(tests.len()),
        execution_time: parts
            .iter()
            .map(|(_, p)| Duration::from_nanos(p.execution_time_ns))
            .max()
            .unwrap_or_default(),
    };
    for (t, (planned, runs_of)) in tests.iter().zip(&seen).enumerate() {
        let mut made = Vec::with_capacity(runs_of.len());
        for (r, slot) in runs_of.iter().enumerate() {
            let Some((_, run)) = slot else {
                let owner = shards
                    .iter()
                    .find(|(_, s)| s.owns(t, r + 1))
                    .map(|(n, _)| n.as_str())
                    .unwrap_or("?");
                return Err(format!(
                    "run {} of {} is missing from {owner} (an interrupted shard?)",
                    r + 1,
                    planned.name
                ));
            };
            made.push(*run);
        }
        let failed = made
            .iter()
            .position(|r| matches!(r.outcome, Outcome::Failed { .. }));
        let counted = failed.map_or(made.len(), |f| f + 1);
        if let Some(skipped) = made[..counted]
            .iter()
            .find(|r| r.outcome == Outcome::Skipped)
        {
            let (file, _) = runs_of[skipped.run as usize - 1].expect("seen");
            return Err(format!(
                "{file} skipped run {} of {} with no failed run before it",
                skipped.run, planned.name
            ));
        }
        let output = match failed.map(|f| &made[f].outcome) {
            Some(Outcome::Failed { output }) => output.clone(),
            _ => format!("{runs} run(s) passed"),
        };
        report.tests.push(TestResult {
            name: planned.name.clone(),
            part: planned.part.clone(),
            number: planned.number,
            max_score: planned.max_score,
            passed: failed.is_none(),
            duration: made[..counted]
                .iter()
                .map(|r| Duration::from_nanos(r.duration_ns))
                .sum(),
            output,
        });
    }
    Ok(report)
}

/// Refuses two partials of different gradings, saying how they differ.
fn same_grading(a_name: &str, a: &Grading, b_name: &str, b: &Grading) -> Result<(), String> {
    let differ = |what: String| {
        Err(format!(
            "{a_name} and {b_name} {what}: they cannot be merged"
        ))
    };
    if a.submission != b.submission {
        return differ(format!(
            "grade different submissions (student files {} from {}, {} from {})",
            a.submission, a.submission_dir, b.submission, b.submission_dir
        ));
    }
    if a.points != b.points {
        return differ(format!(
            "were graded with different points tables (course/points.txt {} and {})",
            a.points, b.points
        ));
    }
    if a.grader != b.grader {
        return differ(format!(
            "were graded by different staff trees (tests and harness {} and {}): grade on the \
             same commit everywhere",
            a.grader, b.grader
        ));
    }
    let (x, y) = (&a.options, &b.options);
    for (flag, one, other) in [
        ("--parts", x.parts.join(" "), y.parts.join(" ")),
        ("--tests", x.tests.join(" "), y.tests.join(" ")),
        ("--runs", x.runs.to_string(), y.runs.to_string()),
        ("--timeout", x.timeout.to_string(), y.timeout.to_string()),
        (
            "--build-timeout",
            x.build_timeout.to_string(),
            y.build_timeout.to_string(),
        ),
        (
            "--skip-gate",
            x.skip_gate.to_string(),
            y.skip_gate.to_string(),
        ),
    ] {
        if one != other {
            return differ(format!("were graded with {flag} {one:?} and {other:?}"));
        }
    }
    if a.tests != b.tests {
        let names = |g: &Grading| {
            g.tests
                .iter()
                .map(|t| format!("{} ({})", t.name, t.max_score))
                .collect::<Vec<_>>()
                .join(", ")
        };
        return differ(format!(
            "grade different tests: [{}] and [{}]",
            names(a),
            names(b)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUNS: u32 = 5;

    fn grading() -> Grading {
        let tests = ["a_2a", "b_2a", "c_2a", "d_2b"]
            .iter()
            .enumerate()
            .map(|(i, name)| Planned {
                name: name.to_string(),
                part: crate::grade::part_of(name).unwrap(),
                number: i % 3 + 1,
                max_score: 5.0,
            })
            .collect();
        Grading {
            submission: fingerprint([("raft/src/raft.rs", &b"fn main() {}"[..])]),
            submission_dir: "/sub".to_string(),
            points: fingerprint([("course/points.txt", &b"2A 15\n2B 5\n"[..])]),
            grader: fingerprint([]),
            options: Options {
                parts: vec!["2A".to_string(), "2B".to_string()],
                tests: Vec::new(),
                runs: RUNS,
                timeout: 150,
                build_timeout: 600,
                skip_gate: false,
            },
            tests,
        }
    }

    /// A fixed outcome per (test, run): a passes, b fails its runs 2 and 4,
    /// c's lab did not build, d fails its last run only.
    fn outcome(test: usize, run: u32) -> (Outcome, Duration) {
        let failed = |output: String| Outcome::Failed { output };
        let time = Duration::from_millis(100 * u64::from(run) + test as u64);
        match (test, run) {
            (1, 2 | 4) => (failed(format!("run {run} of {RUNS}: failed")), time),
            (2, _) => (
                failed("the tests did not compile".to_string()),
                Duration::ZERO,
            ),
            (3, RUNS) => (failed(format!("run {run} of {RUNS}: timed out")), time),
            _ => (Outcome::Passed, time),
        }
    }

    /// Grades every slice of `count`, as `count` machines would, each
    /// partial through its JSON.
    fn slices(count: usize) -> Vec<(String, Partial)> {
        (1..=count)
            .map(|index| {
                let mut partial = Partial::new(Shard { index, count }, grading());
                for t in 0..partial.grading.tests.len() {
                    partial.grade_test(t, |run| outcome(t, run));
                }
                partial.execution_time_ns = 1_000 * index as u64;
                let name = format!("shard-{index}-of-{count}.json");
                let read = Partial::from_json(&name, &partial.to_json()).unwrap();
                assert_eq!(read, partial);
                (name, read)
            })
            .collect()
    }

    fn merged(count: usize) -> Report {
        merge(&slices(count)).unwrap_or_else(|e| panic!("{count} shards: {e}"))
    }

    #[test]
    fn the_shards_merged_are_the_single_grading() {
        let whole = merged(1);
        let scores: Vec<(bool, &str)> = whole
            .tests
            .iter()
            .map(|t| (t.passed, t.output.as_str()))
            .collect();
        assert_eq!(
            scores,
            [
                (true, "5 run(s) passed"),
                (false, "run 2 of 5: failed"),
                (false, "the tests did not compile"),
                (false, "run 5 of 5: timed out"),
            ]
        );
        // The time of the runs up to the first failure, as a single grading
        // stops there.
        assert_eq!(
            whole.tests[1].duration,
            Duration::from_millis(100 + 200 + 2)
        );
        for count in [2, 3, 5, 7, 20] {
            let report = merged(count);
            assert_eq!(report.results_json(), whole.results_json(), "{count}");
            assert_eq!(report.table(), {
                // Only the total time differs: the longest shard's.
                let mut w = merged(1);
                w.execution_time = report.execution_time;
                w.table()
            });
            assert_eq!(
                report.execution_time,
                Duration::from_nanos(1_000 * count as u64)
            );
        }
    }

    #[test]
    fn a_slice_skips_what_follows_its_first_failure() {
        let mut partial = Partial::new(Shard { index: 1, count: 1 }, grading());
        let mut asked = Vec::new();
        let (made, passed, _) = partial.grade_test(1, |run| {
            asked.push(run);
            outcome(1, run)
        });
        assert_eq!((made, passed, asked), (vec![1, 2], false, vec![1, 2]));
        let skipped = partial
            .runs
            .iter()
            .filter(|r| r.outcome == Outcome::Skipped)
            .count();
        assert_eq!(skipped, 3);
    }

    fn refusal(parts: &[(String, Partial)]) -> String {
        merge(parts).expect_err("the merge must refuse")
    }

    #[test]
    fn a_missing_twice_given_or_foreign_shard_is_refused() {
        let mut parts = slices(3);
        parts.remove(1);
        assert!(
            refusal(&parts).contains("shard 2/3 is missing"),
            "{}",
            refusal(&parts)
        );
        let mut parts = slices(3);
        parts[2] = parts[0].clone();
        let err = refusal(&parts);
        assert!(err.contains("shard 1/3 is given 2 times"), "{err}");
        assert!(err.contains("shard 3/3 is missing"), "{err}");
        let mut parts = slices(2);
        parts.push(slices(3).remove(2));
        let err = refusal(&parts);
        assert!(
            err.contains("is shard 1/2 but") && err.contains("is shard 3/3"),
            "{err}"
        );
    }

    #[test]
    fn parts_of_different_gradings_are_refused_naming_the_difference() {
        type Change = fn(&mut Grading);
        let changes: [(Change, &str); 8] = [
            (
                |g| g.submission = fingerprint([("raft/src/raft.rs", &b"x"[..])]),
                "grade different submissions",
            ),
            (|g| g.points = "0".to_string(), "different points tables"),
            (|g| g.grader = "0".to_string(), "different staff trees"),
            (|g| g.options.runs = 3, "--runs \"5\" and \"3\""),
            (|g| g.options.timeout = 30, "--timeout \"150\" and \"30\""),
            (|g| g.options.skip_gate = true, "--skip-gate"),
            (
                |g| g.options.parts = vec!["2A".to_string()],
                "--parts \"2A 2B\" and \"2A\"",
            ),
            (|g| g.tests[0].max_score = 6.0, "grade different tests"),
        ];
        for (change, says) in changes {
            let mut parts = slices(2);
            change(&mut parts[1].1.grading);
            let err = refusal(&parts);
            assert!(
                err.contains(says) && err.contains("shard-1-of-2.json and shard-2-of-2.json"),
                "{says}: {err}"
            );
        }
    }

    #[test]
    fn a_partial_with_runs_missing_or_not_its_own_is_refused() {
        let mut parts = slices(2);
        parts[1].1.runs.retain(|r| !(r.test == 0 && r.run == 2));
        let err = refusal(&parts);
        assert!(
            err.contains("run 2 of a_2a is missing from shard-2-of-2.json"),
            "{err}"
        );
        let mut parts = slices(2);
        let stolen = parts[1].1.runs[0].clone();
        parts[0].1.runs.push(stolen);
        assert!(refusal(&parts).contains("which is not shard 1/2's"));
        let mut parts = slices(2);
        let twice = parts[0].1.runs[0].clone();
        parts[0].1.runs.push(twice);
        assert!(refusal(&parts).contains("is in both shard-1-of-2.json and shard-1-of-2.json"));
        let mut parts = slices(1);
        parts[0].1.runs[0].outcome = Outcome::Skipped;
        assert!(refusal(&parts).contains("with no failed run before it"));
    }

    #[test]
    fn only_a_partial_of_this_format_is_read() {
        let err = Partial::from_json("results.json", r#"{"score": 3}"#).unwrap_err();
        assert!(
            err.contains("results.json is not a partial grading"),
            "{err}"
        );
        let old = r#"{"format": "raftlab grade --shard, version 0"}"#;
        let err = Partial::from_json("old.json", old).unwrap_err();
        assert!(err.contains("grade it again"), "{err}");
    }

    #[test]
    fn fingerprints_tell_lists_apart() {
        let f = |items: &[(&str, &str)]| fingerprint(items.iter().map(|(n, b)| (*n, b.as_bytes())));
        assert_eq!(f(&[("a", "xy")]), f(&[("a", "xy")]));
        assert_ne!(f(&[("a", "xy")]), f(&[("a", "xz")]));
        assert_ne!(f(&[("a", "xy")]), f(&[("ax", "y")]));
        assert_ne!(f(&[("a", "")]), f(&[]));
        assert_eq!(f(&[]).len(), 32);
    }
}
