//! Failures grouped by signature: a failed run's message (the panic message
//! of the tester's check, `expected one leader, got none (LAB_SEED=8412)`)
//! with its numbers, seeds and hex hashes made `#`, so that a sweep with
//! thousands of failures ends in a few lines, one for each way it failed.

use crate::report::{RunRecord, TestRuns};

/// The longest message kept, in characters.
const MAX_MESSAGE: usize = 300;

/// The message of the first panic in a run's output: the line after
/// `thread '<name>' (<id>) panicked at <file>:<line>:<col>:` (recent Rust
/// adds the thread's id; the message is on a line of its own since 1.73;
/// the tester's `fatal` panics so), or the quoted message of the
/// older `thread '<name>' panicked at '<message>', <file>:<line>:<col>`.
/// Only its first line: a message of many lines (the simulation's deadlock
/// report) is named by its first.
pub fn failure_message(output: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(output);
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(thread) = line.find("thread '") else {
            continue;
        };
        let Some(at) = line[thread..].find(" panicked at ") else {
            continue;
        };
        let rest = &line[thread + at + " panicked at ".len()..];
        let message = if let Some(old) = rest.strip_prefix('\'') {
            old.rsplit_once("', ").map_or(old, |(message, _)| message)
        } else {
            lines.next().unwrap_or_default()
        };
        let message: String = message.trim().chars().take(MAX_MESSAGE).collect();
        return Some(message);
    }
    None
}

/// `message` with each number, `0x` number and hex hash (8 or more hex
/// digits, some of them digits) made `#`: `only 2 decided for index 17
/// (LAB_SEED=8412)` is `only # decided for index # (LAB_SEED=#)`.
pub fn normalize(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.is_empty() {
            return;
        }
        let hex_prefixed = (word.starts_with("0x") || word.starts_with("0X"))
            && word.len() > 2
            && word[2..].chars().all(|c| c.is_ascii_hexdigit());
        let hash = word.len() >= 8
            && word.chars().all(|c| c.is_ascii_hexdigit())
            && word.chars().any(|c| c.is_ascii_digit());
        if hex_prefixed || hash {
            out.push('#');
        } else {
            let mut in_number = false;
            for c in word.chars() {
                if c.is_ascii_digit() {
                    if !in_number {
                        out.push('#');
                    }
                    in_number = true;
                } else {
                    out.push(c);
                    in_number = false;
                }
            }
        }
        word.clear();
    };
    for c in message.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// The signature of a failed run: its message normalized, or if it has
/// none (killed at the time limit, a crash), its verdict.
pub fn signature(run: &RunRecord) -> String {
    normalize(run.message.as_deref().unwrap_or(&run.verdict))
}

/// The failed runs of one signature.
pub struct Group<'a> {
    pub signature: String,
    pub count: usize,
    /// The tests with failures of this signature.
    pub tests: Vec<&'a str>,
    /// The failed run with the smallest seed (the first, among equal ones).
    pub first: &'a RunRecord,
}

/// The failed runs of `tests` grouped by signature, the most frequent
/// first (then by signature).
pub fn groups(tests: &[TestRuns]) -> Vec<Group<'_>> {
    let mut groups: Vec<Group> = Vec::new();
    for test in tests {
        for run in test.runs.iter().filter(|r| !r.passed) {
            let signature = signature(run);
            match groups.iter_mut().find(|g| g.signature == signature) {
                Some(group) => {
                    group.count += 1;
                    if !group.tests.contains(&test.name.as_str()) {
                        group.tests.push(&test.name);
                    }
                    if run.seed < group.first.seed {
                        group.first = run;
                    }
                }
                None => groups.push(Group {
                    signature,
                    count: 1,
                    tests: vec![&test.name],
                    first: run,
                }),
            }
        }
    }
    groups.sort_by(|a, b| b.count.cmp(&a.count).then(a.signature.cmp(&b.signature)));
    groups
}

/// The table of the failures by signature, or nothing if no run failed:
///
/// ```text
/// failures by message (numbers as #):
///   count  message
///      12  expected one leader, got none (LAB_SEED=#)
///          in re_election_2a; replay: LAB_SIM=1 LAB_SEED=3 cargo test ...
/// ```
pub fn table(tests: &[TestRuns]) -> String {
    let groups = groups(tests);
    if groups.is_empty() {
        return String::new();
    }
    let width = groups
        .iter()
        .map(|g| g.count.to_string().len())
        .chain([5])
        .max()
        .unwrap_or(5);
    let mut table = format!(
        "failures by message (numbers as #):\n  {:>width$}  message\n",
        "count"
    );
    for group in groups {
        table.push_str(&format!(
            "  {:>width$}  {}\n  {:>width$}  in {}; replay: {}\n",
            group.count,
            group.signature,
            "",
            group.tests.join(", "),
            group.first.replay
        ));
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_seeds_and_hashes_become_hashes() {
        for (message, signature) in [
            (
                "expected one leader, got none (LAB_SEED=8412)",
                "expected one leader, got none (LAB_SEED=#)",
            ),
            (
                "only 2 decided for index 17; wanted 3 (LAB_SEED=12)",
                "only # decided for index #; wanted # (LAB_SEED=#)",
            ),
            (
                "commit index=5 server=2 1 != server=0 3",
                "commit index=# server=# # != server=# #",
            ),
            (
                "hash 9f86d081884c7d65 differs at 0x7ffe12ab, took 1.5s",
                "hash # differs at #, took #.#s",
            ),
            (
                "raft-4-vote-12 still running",
                "raft-#-vote-# still running",
            ),
            ("persist1_2c: deadbeef", "persist#_#c: deadbeef"),
            ("no numbers here", "no numbers here"),
            ("", ""),
        ] {
            assert_eq!(normalize(message), signature, "{message:?}");
        }
        assert_eq!(
            normalize("expected one leader, got none (LAB_SEED=1)"),
            normalize("expected one leader, got none (LAB_SEED=18446744073709551615)")
        );
    }

    #[test]
    fn the_message_is_the_first_panics() {
        let output = b"fixture: LAB_SEED=3\n\
            thread 'fail_9a' panicked at test-scripts/tests/fixture.rs:77:9:\n\
            fixture failure (LAB_SEED=3)\n\
            note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n\
            thread 'raft-1' panicked at raft/src/raft.rs:1:1:\nlater\n";
        let with_id =
            b"test fail_9a ... \n\nthread 'fail_9a' (32756) panicked at tests/fixture.rs:77:9:\n\
            fixture failure (LAB_SEED=1)\nstack backtrace:\n";
        assert_eq!(
            failure_message(with_id).as_deref(),
            Some("fixture failure (LAB_SEED=1)")
        );
        assert_eq!(
            failure_message(output).as_deref(),
            Some("fixture failure (LAB_SEED=3)")
        );
        let old = b"thread 'main' panicked at 'apply error: 4 != 5', tester/src/raft.rs:10:5\n";
        assert_eq!(failure_message(old).as_deref(), Some("apply error: 4 != 5"));
        assert_eq!(failure_message(b"test x ... FAILED\n"), None);
        // Without a thread, no panic line.
        assert_eq!(failure_message(b"it said ' panicked at x:\nno\n"), None);
    }

    fn failed(seed: u64, message: Option<&str>) -> RunRecord {
        RunRecord {
            run: seed as usize,
            seed,
            passed: false,
            verdict: "timed out (killed)".to_string(),
            secs: 1.0,
            log: None,
            replay: format!("LAB_SEED={seed} cargo test"),
            message: message.map(String::from),
        }
    }

    #[test]
    fn failures_are_grouped_with_the_smallest_seed() {
        let test = |name: &str, runs: Vec<RunRecord>| TestRuns {
            name: name.to_string(),
            package: "raft".to_string(),
            target: "raft_test".to_string(),
            runs,
            logs_not_kept: 0,
        };
        let tests = [
            test(
                "a_2a",
                vec![
                    failed(9, Some("no leader (LAB_SEED=9)")),
                    failed(4, Some("no leader (LAB_SEED=4)")),
                    failed(5, None),
                ],
            ),
            test("b_2a", vec![failed(2, Some("no leader (LAB_SEED=2)"))]),
        ];
        console::set_colors_enabled(false);
        assert_eq!(
            table(&tests),
            "failures by message (numbers as #):\n  \
             count  message\n      \
             3  no leader (LAB_SEED=#)\n         \
             in a_2a, b_2a; replay: LAB_SEED=2 cargo test\n      \
             1  timed out (killed)\n         \
             in a_2a; replay: LAB_SEED=5 cargo test\n"
        );
        assert_eq!(table(&[test("c_2a", Vec::new())]), "");
    }
}
