//! What the tester's own tests share: running a fixture test of the same
//! binary in a child process, as a student's run would be.

use std::process::Command;

/// Runs test `test` of this binary alone in a child process, with `env`
/// and `LAB_SEED=1`; returns its exit code and its stdout and stderr
/// together.
pub fn run_child(test: &str, env: &[(&str, &str)]) -> (Option<i32>, String) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--test-threads=1"])
        .envs(env.iter().copied())
        .env("LAB_SEED", "1")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code(), text)
}
