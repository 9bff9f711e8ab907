//! The harness's own word that a test finished: the verdict a grader trusts.
//!
//! A submission runs inside the test's process, so the process's exit
//! status alone proves nothing: `std::process::exit(0)` from any thread, a
//! panic hook that exits 0, or a fake `Passed` line would all look like a
//! pass. When the grader runs a test it sets two variables in the test's
//! environment:
//!
//! * `LAB_VERDICT_KEY`, a fresh random key for this run;
//! * `LAB_VERDICT_FILE`, a file in the run's private directory.
//!
//! [`arm`] reads both, takes them out of the environment and opens the file,
//! before any student code runs (every lab config calls it first). Each part
//! of the test reports its start ([`begin`], `<key> began <test>`) and, once
//! it has passed every check, its end ([`sign`], `<key> passed <test>`). The
//! grader counts a pass only if the last line is a `passed` one *and* the
//! process then exits 0. The student's code never sees the key: it is gone
//! from the environment before the first peer starts, the source gate
//! forbids `std::env`, `std::fs` and `unsafe`, and the sandbox hides
//! `/proc`.
//!
//! Without the variables (a student's `make test`, dstest) both do nothing.

use std::fs::File;
use std::io::Write;
use std::sync::OnceLock;

use labrt::sync::Mutex;

const KEY_VAR: &str = "LAB_VERDICT_KEY";
const FILE_VAR: &str = "LAB_VERDICT_FILE";

struct Armed {
    key: String,
    file: Mutex<File>,
}

static ARMED: OnceLock<Option<Armed>> = OnceLock::new();

/// Takes the key and the file from the environment, once per process.
///
/// A grader that asked for a verdict gets none if the file cannot be
/// opened, so the test fails (as it should: something is wrong with the
/// run), and the message says why.
pub fn arm() {
    ARMED.get_or_init(|| {
        let key = std::env::var(KEY_VAR).ok()?;
        let path = std::env::var_os(FILE_VAR)?;
        // SAFETY: this runs at the start of the test's harness, before the
        // harness or the student's code starts a thread of its own, so no
        // other thread of this process reads the environment now.
        unsafe {
            std::env::remove_var(KEY_VAR);
            std::env::remove_var(FILE_VAR);
        }
        match File::create(&path) {
            Ok(file) => Some(Armed {
                key,
                file: Mutex::new(file),
            }),
            Err(e) => {
                crate::common::eprint_live(&format!(
                    "tester: cannot open the verdict file {}: {e}\n",
                    path.to_string_lossy()
                ));
                None
            }
        }
    });
}

/// Reports to the grader that a part of the test running on this thread
/// began: a part's `Test (2A): ...` line. A test may have several parts
/// (`one_partition_3a` has three), and the grader counts a pass only if the
/// last thing reported is a part that passed, so an exit in the middle of a
/// later part is not a pass.
pub fn begin() {
    report("began");
}

/// Reports to the grader that the part of the test running on this thread
/// passed every check: its `Passed` line.
pub fn sign() {
    report("passed");
}

/// Writes `<key> <what> <test>`; libtest names a test's thread after the
/// test.
fn report(what: &str) {
    let Some(Some(armed)) = ARMED.get() else {
        return;
    };
    let test = std::thread::current().name().unwrap_or("").to_string();
    let mut file = armed.file.lock();
    // A write that fails leaves no verdict, and the grader fails the test.
    let _ = writeln!(file, "{} {what} {test}", armed.key).and_then(|()| file.flush());
}
