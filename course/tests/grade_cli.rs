//! The grader's command line: a selection that selects nothing is an
//! error, never a grading of nothing that exits 0.

use std::path::Path;
use std::process::Command;

fn grade(args: &[&str]) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_grade"))
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .args(args)
        .output()
        .expect("run grade");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code(), stderr)
}

#[test]
fn an_empty_or_unknown_selection_is_an_error() {
    for (args, says) in [
        (&["--parts", ""][..], "--parts names no part"),
        (&["--parts", "2E"][..], "unknown part"),
        (
            &["--parts", "2A", "--tests", "backup_2b"][..],
            "no test \"backup_2b\"",
        ),
    ] {
        let (code, stderr) = grade(args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

/// A submission whose lab 2 the gate refuses: graded in a blink, since
/// nothing is built, yet every test has a verdict, the same in every run.
fn refused_submission(dir: &Path, extra: &str) {
    let src = dir.join("raft/src");
    std::fs::create_dir_all(&src).expect("mkdir");
    let raft = Path::new(env!("CARGO_MANIFEST_DIR")).join("../raft/src/raft.rs");
    let mut code = std::fs::read_to_string(raft).expect("read raft.rs");
    code.push_str("\nstatic SHARED: u32 = 1;\n");
    code.push_str(extra);
    std::fs::write(src.join("raft.rs"), code).expect("write raft.rs");
}

/// Runs grade with `args`; its exit code, stdout and stderr.
fn run_grade(args: &[&str]) -> (Option<i32>, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_grade"))
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .args(args)
        .output()
        .expect("run grade");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (
        output.status.code(),
        text(&output.stdout),
        text(&output.stderr),
    )
}

/// results.json without its time, junit.xml without its times: what a
/// grading says, whoever made it.
fn reports(out: &Path) -> (serde_json::Value, String) {
    let json = std::fs::read_to_string(out.join("results.json")).expect("results.json");
    let mut json: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    json.as_object_mut()
        .expect("an object")
        .remove("execution_time");
    let xml = std::fs::read_to_string(out.join("junit.xml")).expect("junit.xml");
    let xml = xml
        .split(" time=\"")
        .enumerate()
        .map(|(i, piece)| {
            if i == 0 {
                piece
            } else {
                piece.split_once('"').map_or(piece, |(_, rest)| rest)
            }
        })
        .collect::<String>();
    (json, xml)
}

/// `grade --shard K/N` on N "machines", then `grade merge`: the reports,
/// table and exit status of the single grading; and every way the parts
/// can fail to be one grading's is refused, naming it.
#[test]
fn shards_merged_are_the_single_grading_and_bad_sets_are_refused() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = |p: &str| dir.path().join(p).display().to_string();
    refused_submission(&dir.path().join("sub"), "");
    refused_submission(&dir.path().join("other"), "// another student\n");
    let work = path("work");
    // Three runs of every test of 2A and 2B, with `extra` flags.
    let grading = |submission: &str, out: &str, runs: &str, extra: &[&str]| {
        let (sub, out) = (path(submission), path(out));
        let mut args = vec![
            "--submission",
            &sub,
            "--parts",
            "2A 2B",
            "--runs",
            runs,
            "--work",
            &work,
            "--out",
            &out,
        ];
        args.extend_from_slice(extra);
        run_grade(&args)
    };
    let (code, whole_stdout, stderr) = grading("sub", "whole", "3", &[]);
    assert_eq!(code, Some(1), "{whole_stdout}{stderr}");
    for k in 1..=3 {
        let shard = format!("{k}/3");
        let (code, stdout, stderr) = grading("sub", "parts", "3", &["--shard", &shard]);
        assert_eq!(code, Some(1), "{stdout}{stderr}");
        assert!(stdout.contains(&format!("shard-{k}-of-3.json")), "{stdout}");
        assert!(
            !stdout.contains("total:"),
            "a shard gives no score: {stdout}"
        );
    }
    assert!(!dir.path().join("parts/results.json").exists());
    let part = |k: usize| path(&format!("parts/shard-{k}-of-3.json"));
    let merged = path("merged");
    let (code, stdout, stderr) =
        run_grade(&["merge", "--out", &merged, &part(2), &part(1), &part(3)]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert_eq!(
        reports(&dir.path().join("merged")),
        reports(&dir.path().join("whole"))
    );
    let table = |out: &str| -> Vec<String> {
        let start = out.find("       test").expect("a table");
        out[start..]
            .lines()
            .filter(|l| {
                !l.starts_with("total:") && !l.starts_with("wrote") && !l.contains("memory")
            })
            .map(String::from)
            .collect()
    };
    assert_eq!(table(&stdout), table(&whole_stdout));
    assert!(stdout.contains("0 passed, 13 failed"), "{stdout}");

    // Refusals: the merge exits 2 and says why.
    let (sub3, runs2) = (path("sub3"), path("runs2"));
    std::fs::create_dir(&sub3).expect("mkdir");
    std::fs::create_dir(&runs2).expect("mkdir");
    let (code, _, stderr) = grading("other", "sub3", "3", &["--shard", "3/3"]);
    assert_eq!(code, Some(1), "{stderr}");
    let (code, _, stderr) = grading("sub", "runs2", "2", &["--shard", "3/3"]);
    assert_eq!(code, Some(1), "{stderr}");
    let (code, _, stderr) = grading("sub", "halves", "3", &["--shard", "2/2"]);
    assert_eq!(code, Some(1), "{stderr}");
    let not_a_part = path("whole/results.json");
    let other3 = path("sub3/shard-3-of-3.json");
    let runs3 = path("runs2/shard-3-of-3.json");
    let half = path("halves/shard-2-of-2.json");
    for (parts, says) in [
        (vec![part(1), part(3)], "shard 2/3 is missing"),
        (
            vec![part(1), part(2), part(2), part(3)],
            "shard 2/3 is given 2 times",
        ),
        (vec![part(1), part(2), half], "is shard 1/3 but"),
        (
            vec![part(1), part(2), other3],
            "grade different submissions",
        ),
        (vec![part(1), part(2), runs3], "--runs \"3\" and \"2\""),
        (vec![part(1), not_a_part], "is not a partial grading"),
    ] {
        let mut args = vec!["merge".to_string(), "--out".to_string(), path("refused")];
        args.extend(parts);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, stdout, stderr) = run_grade(&args);
        assert_eq!(code, Some(2), "{says}: {stdout}{stderr}");
        assert!(stderr.contains(says), "{says}: {stderr}");
        assert!(
            !dir.path().join("refused").exists(),
            "{says}: wrote reports"
        );
    }
    // A bad K/N is a usage error.
    let (code, _, stderr) = run_grade(&["--shard", "4/3"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("1 <= K <= N"), "{stderr}");
}
