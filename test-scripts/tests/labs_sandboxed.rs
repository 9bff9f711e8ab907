//! The real lab tests, run as the grader runs them: verdict asked and
//! sandboxed, in real time and in the simulation (about 25 s).

// Tests of a tool, never run under labrt's simulation.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use test_scripts::runner::{self, RunSpec, Sandbox, Verdict};

#[test]
fn lab_tests_pass_in_the_sandbox_with_a_verdict() {
    let selection = ["--quiet", "-p", "raft", "-p", "kvraft"].map(String::from);
    let binaries = runner::build(&selection).expect("the labs build");
    let binary = |package: &str| {
        binaries
            .iter()
            .find(|b| b.package == package && b.target == format!("{package}_test"))
            .unwrap_or_else(|| panic!("no test binary of {package} in {binaries:?}"))
    };
    for (package, test) in [("raft", "initial_election_2a"), ("kvraft", "basic_3a")] {
        for sim in [false, true] {
            let mut spec = RunSpec::new(binary(package), test, 1, Duration::from_secs(150));
            if sim {
                spec.env = vec![("LAB_SIM".to_string(), "1".to_string())];
            }
            spec.require_verdict = true;
            spec.sandbox = Some(Sandbox::new(env!("CARGO_BIN_EXE_sandbox")));
            let result = runner::run(&spec, &AtomicBool::new(false)).expect("the test runs");
            let output = String::from_utf8_lossy(&result.output);
            println!(
                "{test} (LAB_SIM={}): {} in {:.1} s under {}",
                u8::from(sim),
                result.verdict,
                result.duration.as_secs_f64(),
                result.sandbox.as_deref().unwrap_or("no sandbox")
            );
            assert_eq!(result.verdict, Verdict::Passed, "{output}");
        }
    }
}
