//! The `sandbox` launcher on its own, as a person would use it: what a
//! shell run under it may and may not do, and its exit status when it
//! cannot set the sandbox up.

// Tests of a tool, never run under labrt's simulation.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use test_scripts::sandbox::{SETUP_FAILED, SYSTEM_DIRS};

/// A fresh directory the sandboxed shell may write, owned by nobody when
/// this runs as root (as the runner makes its private directories).
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("sandbox")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    if nix::unistd::Uid::effective().is_root() {
        std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
    }
    dir
}

fn sandbox(args: &[&str], script: &str) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sandbox"));
    for dir in SYSTEM_DIRS.iter().filter(|dir| Path::new(dir).exists()) {
        command.args(["--read", dir]);
    }
    command
        .args(args)
        .args(["--", "/bin/sh", "-c", script])
        .output()
        .unwrap()
}

fn all_output(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
}

#[test]
fn a_shell_writes_only_where_it_may_and_sees_no_proc() {
    let dir = scratch("writes");
    let inside = dir.join("inside");
    // World-writable, so that only Landlock can keep the shell out.
    let outside = std::env::temp_dir().join(format!("raftlab-outside-{}", std::process::id()));
    let _ = std::fs::remove_file(&outside);
    let script = format!(
        "echo in > {inside}; echo out > {outside}; cat /proc/self/environ >/dev/null; echo done",
        inside = inside.display(),
        outside = outside.display()
    );
    let output = sandbox(
        &[
            "--write",
            dir.to_str().unwrap(),
            "--memory",
            "256M",
            "--require-landlock",
            "-v",
        ],
        &script,
    );
    let text = all_output(&output);
    assert!(output.status.success(), "{text}");
    assert_eq!(std::fs::read_to_string(&inside).unwrap(), "in\n");
    assert!(!outside.exists(), "{text}");
    assert!(
        text.contains("/proc/self/environ: Permission denied"),
        "{text}"
    );
    assert!(text.contains("sandbox: landlock ABI "), "{text}");
    assert!(text.contains("data 256 MiB"), "{text}");
    assert!(text.contains("done"), "{text}");
}

#[test]
fn a_sandbox_it_cannot_set_up_exits_125_without_running_the_program() {
    let output = sandbox(&["--read", "/no/such/dir"], "echo ran");
    let text = all_output(&output);
    assert_eq!(output.status.code(), Some(SETUP_FAILED), "{text}");
    assert!(text.contains("sandbox: cannot open /no/such/dir"), "{text}");
    assert!(!text.contains("ran"), "{text}");

    let output = sandbox(&["--memory", "lots"], "echo ran");
    let text = all_output(&output);
    assert_eq!(output.status.code(), Some(SETUP_FAILED), "{text}");
    assert!(text.contains("is not a size in bytes"), "{text}");

    let missing = Command::new(env!("CARGO_BIN_EXE_sandbox"))
        .args(["--", "/no/such/program"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(SETUP_FAILED));
    assert!(all_output(&missing).contains("sandbox: cannot run /no/such/program"));
}

#[test]
fn a_busy_loop_dies_at_its_cpu_limit() {
    use std::os::unix::process::ExitStatusExt;
    let start = std::time::Instant::now();
    let output = sandbox(&["--cpu", "1"], "while :; do :; done");
    assert!(
        start.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    // Soft and hard limits are the same: SIGKILL (SIGXCPU on some kernels).
    assert!(
        matches!(output.status.signal(), Some(9 | 24)),
        "{:?}",
        output.status
    );
}
