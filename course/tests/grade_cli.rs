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
