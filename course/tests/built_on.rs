//! A lab is graded on the files it builds on, so those files' violations
//! refuse it too: labs 3 and 4 are built on the student's Raft, lab 4B on
//! their lab 4A controller. Graded through `grade --submission`, as a
//! course would grade it.
//!
//! Every suite selected here is refused, so the grader builds and runs
//! nothing: these take a second or two.

// They drive the grader from outside, like the grader.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use test_scripts::labs::{LABS, is_student_file};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("course/ is inside the repository")
        .to_path_buf()
}

/// The reference's student files of every lab, laid out as a handout
/// checkout, with `line` added at the end of `file`.
fn submission_with(file: &str, line: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut packages: Vec<&str> = LABS.iter().map(|lab| lab.package).collect();
    packages.dedup();
    for package in packages {
        copy_student_files(&repo(), dir.path(), &format!("{package}/src"));
    }
    let path = dir.path().join(file);
    let source = std::fs::read_to_string(&path).expect("the file to break");
    std::fs::write(&path, format!("{source}\n{line}\n")).expect("write");
    dir
}

fn copy_student_files(from: &Path, to: &Path, rel: &str) {
    for entry in std::fs::read_dir(from.join(rel)).expect("read_dir") {
        let entry = entry.expect("an entry");
        let path = format!("{rel}/{}", entry.file_name().to_str().expect("UTF-8"));
        if entry.file_type().expect("a type").is_dir() {
            copy_student_files(from, to, &path);
        } else if is_student_file(&path) {
            std::fs::create_dir_all(to.join(rel)).expect("mkdir");
            std::fs::copy(entry.path(), to.join(&path)).expect("copy");
        }
    }
}

/// Grades `submission` with `args`; returns the grader's output and each
/// test's (name, score, output).
fn grade(submission: &Path, args: &[&str]) -> (String, Vec<(String, f64, String)>) {
    let out = tempfile::tempdir().expect("a temporary directory");
    let output = Command::new(env!("CARGO_BIN_EXE_grade"))
        .current_dir(repo())
        .arg("--submission")
        .arg(submission)
        .arg("--out")
        .arg(out.path())
        .args(args)
        .output()
        .expect("run grade");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(
        output.status.code(),
        Some(1),
        "the grader should fail the submission:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !stdout.contains("grade: built"),
        "a refused lab was built:\n{stdout}"
    );
    let results: Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join("results.json")).expect("results.json"),
    )
    .expect("JSON");
    let tests = results["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .map(|t| {
            (
                t["name"].as_str().expect("a name").to_string(),
                t["score"].as_f64().expect("a score"),
                t["output"].as_str().expect("an output").to_string(),
            )
        })
        .collect();
    (stdout, tests)
}

/// The suite a test's part belongs to, as refusals name it: `2`, `2+`,
/// `3`, `3+`, `4A`, `4B`.
fn suite_of(test: &str) -> String {
    let part = test_scripts::labs::part_of(test).expect("a part");
    let lab = LABS
        .iter()
        .find(|lab| lab.part_names().contains(&part))
        .expect("a suite");
    course::refusal::suite_name(lab)
}

/// A `static` in the student's Raft scores 0 in every lab: every part of
/// labs 2, 3 and 4, each saying whose file it was.
#[test]
fn a_violation_in_raft_refuses_every_lab_built_on_it() {
    let submission = submission_with("raft/src/raft.rs", "pub static SHARED: u64 = 0;");
    let (stdout, tests) = grade(submission.path(), &[]);
    let suites: Vec<String> = tests.iter().map(|(name, ..)| suite_of(name)).collect();
    for suite in ["2", "2+", "3", "3+", "4A", "4B"] {
        assert!(
            suites.iter().any(|s| s == suite),
            "no test of {suite} graded"
        );
    }
    for ((name, score, output), suite) in tests.iter().zip(&suites) {
        assert_eq!(*score, 0.0, "{name}");
        assert!(
            output.contains("refused")
                && output.contains("raft/src/raft.rs:")
                && output.contains("static"),
            "{name}: {output}"
        );
        if !suite.starts_with('2') {
            let whose = format!("(lab 2's file, which {suite} builds on)");
            assert!(output.contains(&whose), "{name}: {output}");
        }
    }
    for suite in ["2", "2+", "3", "3+", "4A", "4B"] {
        assert!(
            stdout.contains(&format!("grade: lab {suite}: raft/src/raft.rs:")),
            "{stdout}"
        );
    }
}

/// One in the student's controller scores 0 in 4A and 4B, and nothing
/// else: the grader reports every suite's refusal before it builds, the
/// suites of labs 2 and 3 included, and says none for them.
#[test]
fn a_violation_in_the_controller_refuses_4a_and_4b_only() {
    let submission = submission_with("shardctrler/src/server.rs", "pub static SHARED: u64 = 0;");
    let (stdout, tests) = grade(submission.path(), &["--parts", "4A", "4B"]);
    assert!(tests.iter().any(|(name, ..)| name.ends_with("_4a")));
    assert!(tests.iter().any(|(name, ..)| name.ends_with("_4b")));
    for (name, score, output) in &tests {
        assert_eq!(*score, 0.0, "{name}");
        assert!(
            output.contains("shardctrler/src/server.rs:"),
            "{name}: {output}"
        );
        if name.ends_with("_4b") {
            assert!(
                output.contains("(lab 4A's file, which 4B builds on)"),
                "{name}: {output}"
            );
        }
    }
    let refused: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("grade: lab "))
        .filter_map(|l| l.split(':').next())
        .collect();
    assert_eq!(refused, ["4A", "4B"], "{stdout}");
}
