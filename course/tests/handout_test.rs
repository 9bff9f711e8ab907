//! Runs the `handout` binary on this repository, as `make handout` does, into
//! a temporary directory, and checks the tree it writes. Building and
//! testing that tree takes minutes: `course/check-handout.sh` does it in CI.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use course::handout::{HANDOUT_README, STAFF_ONLY};

/// The repository's root.
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("course/ is inside the repository")
        .to_path_buf()
}

/// A fresh temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("raftlab-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("make a temporary directory");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Runs the generator from the repository's root.
fn handout(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_handout"))
        .current_dir(repo())
        .args(args)
        .output()
        .expect("run the handout binary")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).expect("read a handout directory") {
        let path = entry.expect("read a directory entry").path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn handout_of_this_repository() {
    let tmp = TempDir::new("handout");
    let out = tmp.0.join("raftlab");
    let run = handout(&["--out", out.to_str().expect("a UTF-8 temporary path")]);
    assert!(
        run.status.success(),
        "the generator failed:\n{}",
        stderr(&run)
    );

    let files = files_under(&out);
    for file in &files {
        let text =
            String::from_utf8_lossy(&fs::read(file).expect("read a handout file")).into_owned();
        for marker in ["SOLUTION BEGIN", "SOLUTION STUB", "SOLUTION END"] {
            assert!(
                !text.contains(marker),
                "{} still mentions {marker}",
                file.display()
            );
        }
    }

    let readme = fs::read_to_string(out.join("README.md")).expect("the handout has a README.md");
    let student_readme =
        fs::read_to_string(repo().join(HANDOUT_README)).expect("read the student README");
    assert_eq!(readme, student_readme, "README.md is not {HANDOUT_README}");

    for staff in STAFF_ONLY {
        assert!(!out.join(staff).exists(), "{staff} is in the handout");
    }
    assert!(!out.join("course").exists() && !out.join(".ci").exists());

    let manifest =
        fs::read_to_string(out.join("Cargo.toml")).expect("the handout has a Cargo.toml");
    assert!(
        !manifest.contains("\"course\""),
        "Cargo.toml still lists course:\n{manifest}"
    );
    let lock = fs::read_to_string(out.join("Cargo.lock")).expect("the handout has a Cargo.lock");
    assert!(
        !lock.contains("name = \"course\""),
        "Cargo.lock still has course"
    );

    let raft = fs::read_to_string(out.join("raft/src/raft.rs")).expect("the handout has raft.rs");
    assert!(
        raft.contains("// Your code here (2A)."),
        "raft.rs has no stub:\n{raft}"
    );
    let server =
        fs::read_to_string(out.join("kvraft/src/server.rs")).expect("the handout has server.rs");
    assert!(
        server.contains("// Your code here.") && !server.contains("SOLUTION"),
        "server.rs has no stub, or a marker left:\n{server}"
    );
    // Lab 4B's crate is a student crate too: its solution regions are gone.
    let shardkv =
        fs::read_to_string(out.join("shardkv/src/server.rs")).expect("the handout has shardkv");
    assert!(
        shardkv.contains("// Your definitions here: what goes in the Raft log.")
            && !shardkv.contains("fn poller"),
        "shardkv/src/server.rs has no stub, or the reference's poller:\n{shardkv}"
    );
    for kept in [
        "docs/lab2-raft.md",
        "docs/lab4-shardkv.md",
        "shardctrler/tests/shardctrler_test.rs",
        "shardkv/tests/shardkv_test.rs",
        "tester/src/shardkv.rs",
        "docs/lab3-kvraft.md",
        "kvraft/tests/kvraft_test.rs",
        "tester/src/kvraft/generic.rs",
        "docs/debugging.md",
        "Makefile",
        "raft/tests/raft_test.rs",
        "tester/src/raft.rs",
    ] {
        assert!(
            out.join(kept).is_file(),
            "{kept} is missing from the handout"
        );
    }
}

#[test]
fn existing_output_is_never_overwritten() {
    let tmp = TempDir::new("handout-busy");
    fs::write(tmp.0.join("notes.txt"), "mine").expect("write a file");
    let run = handout(&["--out", tmp.0.to_str().expect("a UTF-8 temporary path")]);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        stderr(&run).contains("already exists and is not empty"),
        "{}",
        stderr(&run)
    );
    assert_eq!(
        fs::read_to_string(tmp.0.join("notes.txt")).expect("read it back"),
        "mine"
    );
}

#[test]
fn bad_command_line_gets_usage() {
    let run = handout(&["--outt", "x"]);
    assert_eq!(run.status.code(), Some(2));
    assert!(
        stderr(&run).contains("unknown argument \"--outt\"\nusage: handout"),
        "{}",
        stderr(&run)
    );
}
