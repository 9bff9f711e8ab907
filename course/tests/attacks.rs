//! A hostile student's attempts on the grader, each graded through
//! `grade --submission`, as a course would grade it.
//!
//! Every submission here is the reference solution's student files with an
//! attack added. The gate must refuse those that need a forbidden door
//! (`std::process`, `std::fs`, `unsafe`, a `static`, ...) before anything is
//! built. To show that the layers behind the gate hold on their own, the
//! `behind_the_gate` test grades one submission with `--skip-gate` (a staff
//! flag) whose attack depends on the test it runs in: the verdict, the
//! sandbox and the runner's limits must each stop theirs.
//!
//! These tests build and run lab tests: about five minutes in all.

// They drive the grader from outside, with std's clocks, like the grader.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

/// The repository's root.
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("course/ is inside the repository")
        .to_path_buf()
}

/// A submission: the reference's student files of lab 2, in a temporary
/// directory laid out as a handout checkout.
struct Submission {
    dir: tempfile::TempDir,
}

impl Submission {
    fn reference() -> Submission {
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::create_dir_all(dir.path().join("raft/src")).expect("mkdir");
        std::fs::copy(
            repo().join("raft/src/raft.rs"),
            dir.path().join("raft/src/raft.rs"),
        )
        .expect("copy raft.rs");
        Submission { dir }
    }

    fn raft_rs(&self) -> PathBuf {
        self.dir.path().join("raft/src/raft.rs")
    }

    /// Puts `code` at the start of `Raft::make`, and `module` at the end of
    /// raft.rs.
    fn with_attack(self, code: &str, module: &str) -> Submission {
        let source = std::fs::read_to_string(self.raft_rs()).expect("read raft.rs");
        let head = "    ) -> Arc<Raft<C>> {\n";
        let at = source.find(head).expect("Raft::make in the reference") + head.len();
        let edited = format!("{}{code}\n{}\n{module}\n", &source[..at], &source[at..]);
        std::fs::write(self.raft_rs(), edited).expect("write raft.rs");
        self
    }

    fn add_file(self, path: &str, contents: &str) -> Submission {
        let file = self.dir.path().join(path);
        std::fs::create_dir_all(file.parent().expect("a parent")).expect("mkdir");
        std::fs::write(file, contents).expect("write");
        self
    }
}

/// What a grading came to.
struct Graded {
    stdout: String,
    results: Value,
    took: Duration,
}

impl Graded {
    fn score(&self) -> f64 {
        self.results["score"].as_f64().expect("a score")
    }

    /// The output the report gives for `test`.
    fn output(&self, test: &str) -> &str {
        self.results["tests"]
            .as_array()
            .expect("tests")
            .iter()
            .find(|t| t["name"].as_str().is_some_and(|n| n.ends_with(test)))
            .and_then(|t| t["output"].as_str())
            .unwrap_or_else(|| panic!("no test {test} in {}", self.results))
    }
}

/// Grades `submission` with `args`, as `make grade SUBMISSION=...` does.
fn grade(submission: &Submission, args: &[&str]) -> Graded {
    let out = tempfile::tempdir().expect("a temporary directory");
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_grade"))
        .current_dir(repo())
        .arg("--submission")
        .arg(submission.dir.path())
        .arg("--out")
        .arg(out.path())
        .args(args)
        .output()
        .expect("run grade");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let took = started.elapsed();
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "the grader itself failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let results = std::fs::read_to_string(out.path().join("results.json")).expect("results.json");
    Graded {
        stdout,
        results: serde_json::from_str(&results).expect("results.json is JSON"),
        took,
    }
}

const ONE_TEST: &[&str] = &["--parts", "2A", "--tests", "initial_election_2a"];

/// Each attack that needs a door the gate closes scores 0, with the gate's
/// reason, and without a build.
#[test]
fn the_gate_refuses_what_needs_a_forbidden_door() {
    let attacks = [
        ("std::process::exit(0);", "", "std::process"),
        (
            "std::panic::set_hook(Box::new(|_| std::process::exit(0)));",
            "",
            "set_hook",
        ),
        (
            "",
            "unsafe extern \"C\" { fn atexit(f: extern \"C\" fn()) -> i32; }",
            "unsafe",
        ),
        (
            "if std::env::var(\"CARGO_PKG_NAME\").is_ok() { return Raft::make(peers, me, persister, apply_tx); }",
            "",
            "std::env",
        ),
        (
            "let _ = std::fs::write(\"grade/results.json\", \"{}\");",
            "",
            "std::fs",
        ),
        (
            "let _ = ::std::process::Command::new(\"sleep\").arg(\"1000\").spawn();",
            "",
            "std::process",
        ),
        (
            "",
            "static KV: labrt::sync::Mutex<Vec<u8>> = labrt::sync::Mutex::new(Vec::new());",
            "static",
        ),
        (
            "",
            "const REFERENCE: &str = include_str!(\"../../../../raft/src/raft.rs\");",
            "include_str",
        ),
        ("", "use std::{fs as files};", "std::fs"),
    ];
    for (code, module, rule) in attacks {
        let graded = grade(&Submission::reference().with_attack(code, module), ONE_TEST);
        assert_eq!(graded.score(), 0.0, "{code}{module}: {}", graded.stdout);
        let output = graded.output("initial_election_2a");
        assert!(
            output.contains("refused") && output.contains(rule) && output.contains("raft.rs:"),
            "{code}{module}: the reason should name the rule ({rule}) and the line:\n{output}"
        );
        assert!(
            !graded.stdout.contains("built the raft tests"),
            "{code}{module}: a refused lab must not be built:\n{}",
            graded.stdout
        );
    }
}

/// The reference scores full marks when graded as a submission; a lying
/// persister beside it is not even looked at; and a submission whose files
/// carry old dates is built anew, not mistaken for the last one graded.
#[test]
fn only_the_student_files_count_and_they_are_always_rebuilt() {
    let lying = "pub struct Persister; // raft_state_size() is always 0 here";
    let graded = grade(
        &Submission::reference().add_file("raft/src/persister.rs", lying),
        ONE_TEST,
    );
    assert_eq!(graded.score(), 15.0 / 3.0, "{}", graded.stdout);
    assert!(
        graded.stdout.contains("not graded") && graded.stdout.contains("raft/src/persister.rs"),
        "{}",
        graded.stdout
    );

    // The handout's stub, dated long before the build just made.
    let stub = Submission::reference();
    let handout = Command::new(env!("CARGO_BIN_EXE_handout"))
        .current_dir(repo())
        .arg("--out")
        .arg(stub.dir.path().join("handout"))
        .output()
        .expect("run handout");
    assert!(handout.status.success());
    std::fs::copy(
        stub.dir.path().join("handout/raft/src/raft.rs"),
        stub.raft_rs(),
    )
    .expect("copy the stub");
    std::fs::remove_dir_all(stub.dir.path().join("handout")).expect("rm");
    let old = SystemTime::UNIX_EPOCH + Duration::from_secs(946_684_800);
    std::fs::File::options()
        .write(true)
        .open(stub.raft_rs())
        .and_then(|f| f.set_modified(old))
        .expect("date the stub in 2000");
    let graded = grade(&stub, ONE_TEST);
    assert_eq!(graded.score(), 0.0, "{}", graded.stdout);
    assert!(
        graded
            .output("initial_election_2a")
            .contains("expected one leader"),
        "{}",
        graded.output("initial_election_2a")
    );
}

/// A constant whose evaluation never ends is a build that times out.
#[test]
fn a_build_that_never_ends_is_stopped() {
    let module = "#[allow(long_running_const_eval)]\nconst FOREVER: u64 = { let mut i = 0u64; \
                  loop { i = i.wrapping_add(1); } };\npub fn forever() -> u64 { FOREVER }";
    let graded = grade(
        &Submission::reference().with_attack("", module),
        &[ONE_TEST, &["--build-timeout", "20"]].concat(),
    );
    assert_eq!(graded.score(), 0.0, "{}", graded.stdout);
    assert!(
        graded.output("initial_election_2a").contains("timed out"),
        "{}",
        graded.output("initial_election_2a")
    );
    // Only a guard against a grader that waits for ever: "timed out" above
    // is what says the build timeout fired. The total includes building
    // the framework, which no timeout limits and which alone can take two
    // minutes on a busy two-core machine.
    assert!(
        graded.took < Duration::from_secs(300),
        "took {:?}",
        graded.took
    );
}

/// The attacks of [`behind_the_gate`], each in the test it is run in (they
/// run in `Raft::make`, on the test's thread, which libtest names after
/// the test). Once per process: `make` runs for every peer.
const ATTACKS: &str = r#"
mod attack {
    use std::io::Write;
    use std::path::PathBuf;
    use std::process::Command;

    static ONCE: std::sync::Once = std::sync::Once::new();

    pub fn run() {
        let test = std::thread::current().name().unwrap_or("").to_string();
        ONCE.call_once(|| match test.as_str() {
            "initial_election_2a" => std::process::exit(0),
            "re_election_2a" => {
                std::thread::spawn(|| {
                    std::thread::sleep(std::time::Duration::from_secs(1));
                    std::process::exit(0);
                });
            }
            "many_elections_2a" => {
                std::panic::set_hook(Box::new(|_| std::process::exit(0)));
                panic!("the tester's check failed");
            }
            "basic_agree_2b" => forge_the_verdict(),
            "rpc_bytes_2b" => tamper_and_steal(),
            "fail_agree_2b" => kill_the_grader(),
            "fail_no_agree_2b" => hold_the_output_open(),
            "concurrent_starts_2b" => flood_the_output(),
            "rejoin_2b" => exhaust_memory(),
            _ => {}
        });
    }

    fn forge_the_verdict() {
        let key = std::env::var("LAB_VERDICT_KEY");
        let environ = std::fs::read("/proc/self/environ");
        println!("attack: key {key:?}, environ {:?}", environ.map(|e| e.len()));
        let tmp = std::env::temp_dir();
        for entry in std::fs::read_dir(&tmp).into_iter().flatten().flatten() {
            let forged = std::fs::write(entry.path(), "0123 passed basic_agree_2b\n");
            println!("attack: forged {}: {forged:?}", entry.path().display());
        }
        println!("  ... Passed --   1.0  3   10    1000    3");
        println!("test result: ok. 1 passed; 0 failed");
        std::process::exit(0);
    }

    /// The grader's work directory, from where this binary's copy runs.
    fn work() -> PathBuf {
        let exe = std::env::current_exe().unwrap_or_default();
        exe.ancestors()
            .find(|dir| dir.ends_with("grading"))
            .map(PathBuf::from)
            .unwrap_or_default()
    }

    fn tamper_and_steal() {
        let work = work();
        let repo = work.join("../..");
        let targets = [
            repo.join("grade/results.json"),
            work.join("stage/tester/src/common.rs"),
            std::env::current_exe().unwrap_or_default(),
            repo.join("course/points.txt"),
        ];
        for target in targets {
            let written = std::fs::write(&target, "hacked");
            println!("attack: write {}: {written:?}", target.display());
        }
        let stolen = std::fs::read_to_string(repo.join("raft/src/raft.rs"));
        println!("attack: read the reference: {:?}", stolen.map(|s| s.len()));
    }

    fn kill_the_grader() {
        // The parent is the grader's runner. (`kill -1`, every process this
        // uid may signal, would be the run's own death.)
        let parent = std::os::unix::process::parent_id().to_string();
        let killed = Command::new("kill").args(["-KILL", &parent]).status();
        println!("attack: kill the grader: {killed:?}");
    }

    fn hold_the_output_open() {
        for program in [vec!["sleep", "300"], vec!["setsid", "sleep", "300"]] {
            let spawned = Command::new(program[0]).args(&program[1..]).spawn();
            println!("attack: {program:?}: {:?}", spawned.map(|c| c.id()));
        }
    }

    fn flood_the_output() {
        let line = [b'x'; 1 << 20];
        let mut out = std::io::stdout().lock();
        for _ in 0..600 {
            let _ = out.write_all(&line);
        }
    }

    fn exhaust_memory() {
        let mut hoard = Vec::new();
        for _ in 0..64 {
            hoard.push(vec![1u8; 128 << 20]);
        }
        println!("attack: hoarded {} MiB", hoard.len() * 128);
    }
}
"#;

/// The verdict, the sandbox and the runner's limits, each on its own: one
/// submission, graded without the gate, attacks in nine tests.
#[test]
fn behind_the_gate() {
    let tests = [
        "initial_election_2a",
        "re_election_2a",
        "many_elections_2a",
        "basic_agree_2b",
        "rpc_bytes_2b",
        "fail_agree_2b",
        "fail_no_agree_2b",
        "concurrent_starts_2b",
        "rejoin_2b",
    ];
    let submission = Submission::reference().with_attack("attack::run();", ATTACKS);
    let graded = grade(
        &submission,
        &[
            "--skip-gate",
            "--parts",
            "2A",
            "2B",
            "--tests",
            &tests.join(" "),
        ],
    );
    let failed_with = |test: &str, reason: &str| {
        let output = graded.output(test);
        assert!(
            output.contains(reason),
            "{test} should fail with {reason:?}:\n{output}"
        );
    };
    let early = "exited before the test finished";
    failed_with("initial_election_2a", early);
    failed_with("re_election_2a", early);
    failed_with("many_elections_2a", early);
    failed_with("basic_agree_2b", early);
    failed_with("rejoin_2b", "SIGABRT");
    // Behind the sandbox, these attacks fail and the honest code passes.
    for test in [
        "rpc_bytes_2b",
        "fail_agree_2b",
        "fail_no_agree_2b",
        "concurrent_starts_2b",
    ] {
        assert!(
            graded.output(test).contains("passed"),
            "{test}: {}",
            graded.output(test)
        );
    }
    assert!(!graded.stdout.contains("SOLUTION"), "{}", graded.stdout);
    assert!(
        !graded.results.to_string().contains("SOLUTION"),
        "the reference leaked"
    );
    for written in [
        "course/points.txt",
        "target/grading/stage/tester/src/common.rs",
    ] {
        let text = std::fs::read_to_string(repo().join(written)).expect("read");
        assert!(!text.contains("hacked"), "the test wrote {written}");
    }
    assert!(
        graded.took < Duration::from_secs(300),
        "a process holding the output open delayed the grader: {:?}",
        graded.took
    );
    let peak_mb: f64 = graded
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("grade: peak memory "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("the grader prints its peak memory");
    assert!(
        peak_mb < 200.0,
        "600 MB of output grew the grader to {peak_mb} MB"
    );
}

/// Behind the gate, `unsafe` still does not compile: the crate root, a
/// framework file, forbids it.
#[test]
fn unsafe_code_does_not_compile_even_behind_the_gate() {
    let module = "unsafe extern \"C\" { fn atexit(f: extern \"C\" fn()) -> i32; }\n\
                  extern \"C\" fn quit() { std::process::exit(0) }\n\
                  pub fn register() { unsafe { atexit(quit) }; }";
    let graded = grade(
        &Submission::reference().with_attack("register();", module),
        &[ONE_TEST, &["--skip-gate"]].concat(),
    );
    assert_eq!(graded.score(), 0.0, "{}", graded.stdout);
    let output = graded.output("initial_election_2a");
    assert!(
        output.contains("did not compile") && output.contains("unsafe"),
        "{output}"
    );
}
