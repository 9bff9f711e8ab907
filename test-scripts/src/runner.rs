//! Building lab test binaries and running one test per process, with its own
//! seed and a time limit. dstest drives it with a progress display; the
//! course grader drives it with none, so nothing here prints.
//!
//! * [`build`] runs `cargo test --no-run` and returns the integration-test
//!   binaries it built, with the package and target names that `cargo test`
//!   needs to rerun one of their tests. It runs private copies of them:
//!   cargo rewrites a binary in place when the student rebuilds during a
//!   stress run, and the run must go on testing the code it started with.
//! * [`TestBinary::list`] names a binary's tests.
//! * [`run`] runs one test in a child process with `LAB_SEED` set, kills it
//!   at the time limit or when asked to stop, and returns its verdict, its
//!   output (stdout and stderr interleaved as written) and how long it took.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Deserialize;

/// How often [`run`] checks whether its child exited, timed out or should
/// stop: the most a run can overrun, tiny next to a lab test's seconds.
const POLL: Duration = Duration::from_millis(10);

/// An integration-test binary that cargo built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestBinary {
    /// Its package, as in `cargo test -p <package>`.
    pub package: String,
    /// Its test target, as in `cargo test --test <target>`.
    pub target: String,
    /// The private copy that runs (see [`build`]).
    pub executable: PathBuf,
    /// The package's directory: `cargo test` runs the binary there, and so
    /// does [`run`].
    pub dir: PathBuf,
    /// Keeps the copy until the last clone of this binary is dropped.
    copies: Arc<Copies>,
}

/// A directory of copied binaries, deleted when dropped. It sits in
/// cargo's target directory, beside the binaries it copies: `/tmp` may be
/// mounted without the right to execute.
#[derive(Debug, PartialEq, Eq)]
struct Copies(PathBuf);

impl Copies {
    /// The directory, under `target/<profile>/`, holding every process's
    /// copies.
    const HOME: &str = "raftlab-copies";

    /// Makes this process's next directory of copies of binaries built in
    /// `deps` (cargo's `target/<profile>/deps`).
    fn new(deps: &Path) -> Result<Copies, Error> {
        static MADE: AtomicUsize = AtomicUsize::new(0);
        let home = deps.parent().unwrap_or(deps).join(Copies::HOME);
        Copies::sweep(&home);
        let made = MADE.fetch_add(1, Ordering::Relaxed);
        let dir = home.join(format!("{}-{made}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
            what: format!("could not make {}", dir.display()),
            source,
        })?;
        Ok(Copies(dir))
    }

    /// Removes the copies of processes that ended without dropping theirs
    /// (a test's static fixture, a `kill -9`). Only where `/proc` tells
    /// which processes are alive.
    fn sweep(home: &Path) {
        if !Path::new("/proc/self").exists() {
            return;
        }
        let Ok(entries) = std::fs::read_dir(home) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(pid) = name.to_str().and_then(|n| n.split('-').next()) else {
                continue;
            };
            if !Path::new("/proc").join(pid).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }

    /// Copies `built` in, under its own file name; returns the copy's path.
    fn add(&self, built: &Path) -> Result<PathBuf, Error> {
        let copy = self.0.join(built.file_name().unwrap_or(built.as_os_str()));
        std::fs::copy(built, &copy).map_err(|source| Error::Io {
            what: format!("could not copy {} to {}", built.display(), copy.display()),
            source,
        })?;
        Ok(copy)
    }
}

impl Drop for Copies {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl TestBinary {
    /// The names of the binary's tests, in the order it lists them.
    pub fn list(&self) -> Result<Vec<String>, Error> {
        let mut command = Command::new(&self.executable);
        command
            .args(["--list", "--format", "terse"])
            .current_dir(&self.dir);
        let listing = stdout_of(&mut command)?;
        Ok(String::from_utf8_lossy(&listing)
            .lines()
            .filter_map(|line| line.strip_suffix(": test"))
            .map(String::from)
            .collect())
    }

    /// The shell command that reruns `test` with `seed` through cargo, the
    /// way a student would.
    pub fn replay_command(&self, test: &str, seed: u64) -> String {
        format!(
            "LAB_SEED={seed} cargo test -p {} --test {} -- --exact {test} --nocapture",
            self.package, self.target
        )
    }
}

/// Builds the integration-test binaries that `cargo test <selection>` would
/// run (e.g. `["-p", "raft", "--test", "raft_test"]`) and returns them.
///
/// cargo's progress and compiler errors go to this process's stderr.
pub fn build(selection: &[String]) -> Result<Vec<TestBinary>, Error> {
    let packages = packages()?;
    let mut command = cargo();
    command
        .args([
            "test",
            "--no-run",
            "--message-format=json-render-diagnostics",
        ])
        .args(selection);
    let messages = stdout_of(&mut command)?;
    // Made at the first binary, beside it.
    let mut shared: Option<Arc<Copies>> = None;
    let mut binaries: Vec<TestBinary> = Vec::new();
    let mut built = Vec::new();
    for line in String::from_utf8_lossy(&messages).lines() {
        let message: Message = serde_json::from_str(line).map_err(|source| Error::Json {
            command: describe(&command),
            source,
        })?;
        let (Some(package), Some(target), Some(executable)) = (
            packages.get(&message.package_id),
            message.target,
            message.executable,
        ) else {
            continue;
        };
        // Integration tests only: a library's unit tests are kind "lib".
        if message.reason == "compiler-artifact"
            && target.kind.iter().any(|kind| kind == "test")
            && !built.contains(&executable)
        {
            let copies = match &shared {
                Some(copies) => copies.clone(),
                None => {
                    let deps = executable.parent().unwrap_or(Path::new("."));
                    shared.insert(Arc::new(Copies::new(deps)?)).clone()
                }
            };
            binaries.push(TestBinary {
                package: package.name.clone(),
                target: target.name,
                executable: copies.add(&executable)?,
                dir: package.dir(),
                copies,
            });
            built.push(executable);
        }
    }
    Ok(binaries)
}

/// What one run of one test came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Passed,
    /// The test binary exited with a failure: status 101 for a failed test,
    /// 1 for the tester's watchdog, or a signal.
    Failed(ExitStatus),
    /// It was still running at the time limit, and was killed.
    TimedOut,
    /// The caller asked it to stop (see [`run`]); this says nothing about
    /// the test.
    Cancelled,
}

impl Verdict {
    /// Whether the run counts as a failure of the test.
    pub fn failed(self) -> bool {
        matches!(self, Verdict::Failed(_) | Verdict::TimedOut)
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Passed => write!(f, "passed"),
            Verdict::Failed(status) => write!(f, "failed ({status})"),
            Verdict::TimedOut => write!(f, "timed out (killed)"),
            Verdict::Cancelled => write!(f, "cancelled"),
        }
    }
}

/// One run to make: which test, with which seed, for how long at most.
#[derive(Clone, Debug)]
pub struct RunSpec<'a> {
    pub binary: &'a TestBinary,
    pub test: &'a str,
    /// Becomes the child's `LAB_SEED`.
    pub seed: u64,
    pub timeout: Duration,
    /// Environment variables to set in the child besides `LAB_SEED`; it
    /// inherits the rest of this process's environment.
    pub env: Vec<(String, String)>,
}

/// The result of [`run`].
#[derive(Clone, Debug)]
pub struct RunResult {
    pub verdict: Verdict,
    /// The child's stdout and stderr, interleaved as it wrote them.
    pub output: Vec<u8>,
    /// From the child's start to its exit (or its killing).
    pub duration: Duration,
}

/// Runs `spec.test` alone in a child process of its binary:
/// `<binary> --exact <test> --test-threads=1 --nocapture` with `LAB_SEED`.
///
/// The child is killed when `spec.timeout` passes (verdict
/// [`Verdict::TimedOut`]) or when `cancel` becomes true
/// ([`Verdict::Cancelled`]), within [`POLL`] of either.
pub fn run(spec: &RunSpec<'_>, cancel: &AtomicBool) -> Result<RunResult, Error> {
    let executable = &spec.binary.executable;
    let io_error = |what: &str| {
        let what = format!("{what} {}", executable.display());
        move |source: io::Error| Error::Io { what, source }
    };
    // One pipe for both streams keeps a panic message next to the log
    // lines before it, as on a terminal.
    let (mut reader, writer) = io::pipe().map_err(io_error("could not make a pipe for"))?;
    let mut command = Command::new(executable);
    command
        .args(["--exact", spec.test, "--test-threads=1", "--nocapture"])
        .current_dir(&spec.binary.dir)
        .env("LAB_SEED", spec.seed.to_string())
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(
            writer
                .try_clone()
                .map_err(io_error("could not make a pipe for"))?,
        )
        .stderr(writer);
    // A Ctrl-C at the terminal goes to the whole foreground process group.
    // Keeping children out of it lets the caller decide: it sees the signal,
    // cancels, and its runs end as Cancelled instead of racing to die as
    // failures.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let start = Instant::now();
    let spawned = command.spawn();
    // The command holds the pipe's write ends; the reader sees the end of
    // the output only once they are closed, here and in the child.
    drop(command);
    let mut child = spawned.map_err(io_error("could not run"))?;
    let collector = std::thread::spawn(move || {
        let mut output = Vec::new();
        // A read error can only cut the output short; the verdict stands.
        let _ = reader.read_to_end(&mut output);
        output
    });
    let verdict = loop {
        if let Some(status) = child.try_wait().map_err(io_error("could not wait for"))? {
            break if status.success() {
                Verdict::Passed
            } else {
                Verdict::Failed(status)
            };
        }
        let stop = if cancel.load(Ordering::Relaxed) {
            Some(Verdict::Cancelled)
        } else if start.elapsed() >= spec.timeout {
            Some(Verdict::TimedOut)
        } else {
            None
        };
        if let Some(verdict) = stop {
            // It may have exited just now; either way it is gone after wait.
            let _ = child.kill();
            child.wait().map_err(io_error("could not wait for"))?;
            break verdict;
        }
        std::thread::sleep(POLL);
    };
    let duration = start.elapsed();
    // The collector cannot panic short of running out of memory.
    let output = collector.join().unwrap_or_default();
    Ok(RunResult {
        verdict,
        output,
        duration,
    })
}

/// Why [`build`], [`TestBinary::list`] or [`run`] failed.
#[derive(Debug)]
pub enum Error {
    /// A program could not be started or waited for.
    Io { what: String, source: io::Error },
    /// A command exited with a failure; it has said why on stderr.
    Failed { command: String, status: ExitStatus },
    /// cargo printed JSON that does not look like its documented messages.
    Json {
        command: String,
        source: serde_json::Error,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { what, source } => write!(f, "{what}: {source}"),
            Error::Failed { command, status } => write!(f, "`{command}` failed ({status})"),
            Error::Json { command, source } => {
                write!(f, "could not read the output of `{command}`: {source}")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Json { source, .. } => Some(source),
            Error::Failed { .. } => None,
        }
    }
}

/// The cargo running us, if any (so `cargo +nightly run` stays on nightly),
/// else the one on the PATH.
fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo")))
}

/// The workspace's packages by id, from `cargo metadata`: the build's JSON
/// names a package only by its id, whose format cargo does not promise.
fn packages() -> Result<HashMap<String, Package>, Error> {
    let mut command = cargo();
    command.args(["metadata", "--format-version", "1", "--no-deps"]);
    let metadata: Metadata =
        serde_json::from_slice(&stdout_of(&mut command)?).map_err(|source| Error::Json {
            command: describe(&command),
            source,
        })?;
    Ok(metadata
        .packages
        .into_iter()
        .map(|package| (package.id.clone(), package))
        .collect())
}

/// Runs `command` to its end and returns its stdout; its stderr goes to ours.
fn stdout_of(command: &mut Command) -> Result<Vec<u8>, Error> {
    let output = command
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|source| Error::Io {
            what: format!("could not run `{}`", describe(command)),
            source,
        })?;
    if output.status.success() {
        Ok(output.stdout)
    } else {
        Err(Error::Failed {
            command: describe(command),
            status: output.status,
        })
    }
}

/// `program arg arg…`, for messages.
fn describe(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|part| part.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The part of `cargo metadata`'s output used here.
#[derive(Deserialize)]
struct Metadata {
    packages: Vec<Package>,
}

#[derive(Deserialize)]
struct Package {
    id: String,
    name: String,
    manifest_path: PathBuf,
}

impl Package {
    fn dir(&self) -> PathBuf {
        self.manifest_path
            .parent()
            .map_or_else(PathBuf::new, Path::to_path_buf)
    }
}

/// The part of one of cargo's JSON build messages used here.
#[derive(Deserialize)]
struct Message {
    reason: String,
    #[serde(default)]
    package_id: String,
    target: Option<Target>,
    executable: Option<PathBuf>,
}

#[derive(Deserialize)]
struct Target {
    name: String,
    kind: Vec<String>,
}
