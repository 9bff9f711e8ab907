//! test-scripts/compare-go.sh, the side-by-side run against a Go solution:
//! its usage and its errors for bad flags, parts and directories. Each case
//! stops before anything is built or run (no Go toolchain needed).

// Tests of a tool, never run under labrt's simulation.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("compare-go.sh")
}

/// A fresh, empty directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("compare-go")
        .join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the script with `args`: its exit code, stdout and stderr.
fn run(args: &[&str]) -> (i32, String, String) {
    let output = Command::new("bash")
        .arg(script())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The script refuses `args` with exit status 2, a message holding `needle`
/// on stderr, and nothing on stdout.
fn refuses(args: &[&str], needle: &str) {
    let (code, stdout, stderr) = run(args);
    assert_eq!(code, 2, "{args:?}: exit status {code}, stderr:\n{stderr}");
    assert!(
        stderr.contains(needle),
        "{args:?}: stderr lacks {needle:?}:\n{stderr}"
    );
    assert!(stdout.is_empty(), "{args:?}: stdout:\n{stdout}");
}

#[test]
fn help_prints_the_usage() {
    for flag in ["-h", "--help"] {
        let (code, stdout, _) = run(&[flag]);
        assert_eq!(code, 0);
        assert!(stdout.starts_with("usage: test-scripts/compare-go.sh [options] GO_DIR"));
        for option in [
            "--parts",
            "--out",
            "--order",
            "--per-test",
            "--logs",
            "--tree",
        ] {
            assert!(stdout.contains(option), "the usage lacks {option}");
        }
    }
}

#[test]
fn bad_flags_are_refused() {
    let dir = scratch("bad_flags");
    let dir = dir.to_str().unwrap();
    refuses(&[], "no GO_DIR");
    refuses(&["--bogus", dir], "unknown option '--bogus'");
    refuses(&[dir, "-x"], "unknown option '-x'");
    refuses(&["-p"], "-p needs a value");
    refuses(&[dir, "--out"], "--out needs a value");
    refuses(
        &["--order", "random", dir],
        "--order is alternate, go-first or raftlab-first",
    );
    refuses(&[dir, dir], "one GO_DIR only");
    refuses(&["--tree", dir, dir], "is not a raftlab tree");
}

#[test]
fn bad_parts_are_refused() {
    let dir = scratch("bad_parts");
    let dir = dir.to_str().unwrap();
    refuses(&["-p", "5", dir], "no lab '5'");
    refuses(&["-p", "2A,2E", dir], "no part '2E'");
    refuses(&["--parts=speed_3z", dir], "no part 3Z");
    refuses(
        &["-p", "raft", dir],
        "neither a lab (2), a part (2A) nor a test name",
    );
    refuses(&["-p", ",", dir], "names nothing to run");
}

#[test]
fn bad_go_directories_are_refused() {
    refuses(&["/nonexistent/compare-go"], "does not exist");
    refuses(&[script().to_str().unwrap()], "is not a directory");

    // Neither a Go lab nor its binaries: the first binary missing is named.
    let empty = scratch("empty");
    refuses(
        &["-p", "2A", empty.to_str().unwrap()],
        "executable raft.test",
    );

    // A Go lab whose kvraft has no tests, asked for lab 3; given as the
    // checkout holding src/.
    let checkout = scratch("checkout");
    let src = checkout.join("src");
    fs::create_dir_all(src.join("raft")).unwrap();
    fs::create_dir_all(src.join("kvraft")).unwrap();
    fs::write(src.join("go.mod"), "module 6.5840\n").unwrap();
    fs::write(src.join("raft/test_test.go"), "package raft\n").unwrap();
    refuses(
        &["-p", "3", checkout.to_str().unwrap()],
        "has no Go tests in kvraft/",
    );
}

/// Writes one side of one run of a fake compare-go run in `dir`.
fn fake_run(dir: &Path, base: &str, out: &str, time: &str, rc: i32) {
    fs::write(dir.join(format!("{base}.out")), out).unwrap();
    fs::write(dir.join(format!("{base}.time")), format!("{time}\n")).unwrap();
    fs::write(dir.join(format!("{base}.rc")), format!("{rc}\n")).unwrap();
}

#[test]
fn table_of_an_earlier_run() {
    let dir = scratch("table");
    fs::write(dir.join("units"), "2A part 2A\n3A test speed_3a\n").unwrap();
    fs::write(
        dir.join("about"),
        "go_dir\t/go/src\ngo_about\tabc1234, go version go1.19\nnproc\t2\n",
    )
    .unwrap();
    // Go's output, as MIT's tests print it.
    fake_run(
        &dir,
        "00-2A.go",
        "Test (2A): initial election ...\n  ... Passed --   3.1  3   56   15542    0\n\
         Test (2A): multiple elections ...\n  ... Passed --   5.6  7  624  115097    0\nPASS\n",
        "wall 9.00 user 0.20 sys 0.10 maxrss_kb 12288",
        0,
    );
    // raftlab's, between libtest's lines.
    fake_run(
        &dir,
        "00-2A.raftlab",
        "\nrunning 2 tests\ntest initial_election_2a ... \nTest (2A): initial election ...\n  \
         ... Passed --   3.0  3   56     606    0\nok\ntest many_elections_2a ... \n\
         Test (2A): multiple elections ...\n  ... Passed --   5.4  7  504    3580    0\nok\n",
        "wall 8.50 user 0.04 sys 0.02 maxrss_kb 8192",
        0,
    );
    fake_run(
        &dir,
        "01-speed_3a.go",
        "Test: ops complete fast enough (3A) ...\n  ... Passed --  12.0  3  3000    0\nPASS\n",
        "wall 12.50 user 6.00 sys 0.50 maxrss_kb 25600",
        0,
    );
    // A failure: a title and no Passed line.
    fake_run(
        &dir,
        "01-speed_3a.raftlab",
        "test speed_3a ... \nTest: ops complete fast enough (3A) ...\nFAILED\n",
        "wall 40.00 user 1.00 sys 0.50 maxrss_kb 9216",
        101,
    );
    let out = dir.join("table.md");
    let (code, stdout, stderr) = run(&[
        "--table",
        dir.to_str().unwrap(),
        "--per-test",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        code, 1,
        "a failed run makes the status 1; stderr:\n{stderr}"
    );
    assert_eq!(fs::read_to_string(&out).unwrap(), stdout);
    for row in [
        "| | Go | raftlab | raftlab / Go |",
        "| lab 2 (2A), `Passed` lines / titles printed | 2/2 | 2/2 |  |",
        "| lab 2 (2A), sum of `Passed` times | 8.7 s | 8.4 s | 0.97 |",
        "| lab 2 (2A), wall time of the test processes | 9.00 s | 8.50 s | 0.94 |",
        "| lab 2 (2A), CPU (user + sys) | 0.30 s (0.10 s sys) | 0.06 s (0.02 s sys) | 0.20 |",
        "| lab 2 (2A), peak RSS | 12 MB | 8 MB | 0.67 |",
        "| lab 3 (speed_3a), `Passed` lines / titles printed | 1/1 | 0/1, FAILED |  |",
        "| lab 3 (speed_3a), sum of `Passed` times | 12.0 s | — |  |",
        "| speed_3a, ms per op (`Passed` time / 1000 appends) | 12.0 | — |  |",
        "| Test (2A): multiple elections | 5.6 s | 5.4 s | 0.96 |",
        "| Test: ops complete fast enough (3A) | 12.0 s | — |  |",
    ] {
        assert!(stdout.contains(row), "no row {row:?} in:\n{stdout}");
    }
    assert!(stdout.contains("Go: /go/src (abc1234, go version go1.19)"));
    assert!(stdout.contains("(the run did not finish)"));

    let empty = scratch("table_empty");
    refuses(
        &["--table", empty.to_str().unwrap()],
        "holds no run of compare-go.sh",
    );
    refuses(&["--table", empty.to_str().unwrap(), "/go"], "no GO_DIR");
}
