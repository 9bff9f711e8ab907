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
//!
//! A grader must assume the test's process is hostile: the submission runs
//! inside it. So every run, for every caller, is held to limits, and a
//! [`RunSpec`] can ask for two guards more:
//!
//! * Limits. The child runs in a process group of its own, killed whole
//!   (SIGKILL) at the time limit, on cancel, and as soon as the child exits,
//!   so a process it left behind cannot keep the run going; output still in
//!   the pipe is read for at most a second after that. The output kept is
//!   capped ([`RunSpec::output_cap`], 16 MiB by default): its first quarter
//!   and last three quarters, with `[... N bytes cut ...]` between, and the
//!   runner's memory does not grow with what the child prints.
//! * A verdict ([`RunSpec::require_verdict`]). Exit status 0 proves nothing
//!   (`std::process::exit(0)` from any thread). The runner draws a fresh
//!   128-bit key from the OS's CSPRNG and makes a private directory (0700,
//!   deleted after the run), and sets `LAB_VERDICT_KEY=<key>` and
//!   `LAB_VERDICT_FILE=<dir>/verdict` in the child's environment. The
//!   tester (`tester::verdict`) takes both out of the environment before
//!   lab code runs, and writes `<key> passed <test>` to the file when the
//!   test passed every check. The run passes only if the child exits 0 and
//!   the file holds exactly that line; exit 0 without it is
//!   [`Verdict::ExitedEarly`].
//! * A sandbox ([`RunSpec::sandbox`], see [`crate::sandbox`]). The child is
//!   the `sandbox` launcher, which applies rlimits (memory, file size, open
//!   files, processes, no core), drops root for nobody, sets
//!   `no_new_privs` and enforces Landlock (read and execute only the system
//!   directories, the test binary's and its package's; write only the
//!   private directory, which is also `TMPDIR`; no `/proc`, no TCP, no
//!   signals or abstract sockets outside), then `exec`s the test binary. The
//!   test inherits only the environment variables of [`SANDBOX_ENV`]. The
//!   launcher reports the layers it applied on a pipe the test cannot
//!   reach ([`RunResult::sandbox`]); if it could not apply one it was asked
//!   for, the test does not run and the verdict is
//!   [`Verdict::SandboxFailed`].
//!
//! dstest, which students use, asks for neither; the grader asks for both.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cargo_metadata::{Message, Metadata, Package, PackageId, TargetKind};
use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
use nix::unistd::{Pid, Uid};
use rand::TryRngCore;
use rand::rngs::OsRng;

pub use crate::sandbox::Sandbox;

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
        let Message::CompilerArtifact(artifact) = message else {
            continue;
        };
        let (Some(package), Some(executable)) = (
            packages.get(&artifact.package_id),
            artifact.executable.map(PathBuf::from),
        ) else {
            continue;
        };
        // Integration tests only: a library's unit tests are kind "lib".
        if artifact.target.kind.contains(&TargetKind::Test) && !built.contains(&executable) {
            let copies = match &shared {
                Some(copies) => copies.clone(),
                None => {
                    let deps = executable.parent().unwrap_or(Path::new("."));
                    shared.insert(Arc::new(Copies::new(deps)?)).clone()
                }
            };
            binaries.push(TestBinary {
                package: package.name.to_string(),
                target: artifact.target.name,
                executable: copies.add(&executable)?,
                dir: package
                    .manifest_path
                    .parent()
                    .map_or_else(PathBuf::new, |dir| dir.into()),
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
    /// It exited with success, and (if [`RunSpec::require_verdict`]) the
    /// tester reported that the test finished with every check passed.
    Passed,
    /// The test binary exited with a failure: status 101 for a failed test,
    /// 1 for the tester's watchdog, or a signal (SIGABRT when it ran out of
    /// memory in the sandbox).
    Failed(ExitStatus),
    /// It exited with success but the tester never reported the test's
    /// end: something in the process exited early (only when
    /// [`RunSpec::require_verdict`]).
    ExitedEarly,
    /// It was still running at the time limit, and was killed.
    TimedOut,
    /// The caller asked it to stop (see [`run`]); this says nothing about
    /// the test.
    Cancelled,
    /// The sandbox could not be set up, so the test never ran; the launcher
    /// said why in the output. A fault of the grading machine, not of the
    /// test, but it counts as a failure.
    SandboxFailed,
}

impl Verdict {
    /// Whether the run counts as a failure of the test: anything but a pass
    /// or a cancelled run.
    pub fn failed(self) -> bool {
        !matches!(self, Verdict::Passed | Verdict::Cancelled)
    }

    /// Whether the run passed; a grader should score with this, which
    /// fails closed.
    pub fn passed(self) -> bool {
        self == Verdict::Passed
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Passed => write!(f, "passed"),
            Verdict::Failed(status) => write!(f, "failed ({status})"),
            Verdict::ExitedEarly => write!(
                f,
                "the test process exited before the test finished (exit status 0, \
                 but the tester never reported the test's end)"
            ),
            Verdict::TimedOut => write!(f, "timed out (killed)"),
            Verdict::Cancelled => write!(f, "cancelled"),
            Verdict::SandboxFailed => write!(
                f,
                "the sandbox could not be set up, so the test did not run (see its output)"
            ),
        }
    }
}

/// How many bytes of a run's output [`run`] keeps by default (see
/// [`RunSpec::output_cap`]).
pub const DEFAULT_OUTPUT_CAP: usize = 16 << 20;

/// One run to make: which test, with which seed, for how long at most, and
/// how guarded. [`RunSpec::new`] fills in the defaults of a plain run, as
/// dstest makes them.
#[derive(Clone, Debug)]
pub struct RunSpec<'a> {
    pub binary: &'a TestBinary,
    pub test: &'a str,
    /// Becomes the child's `LAB_SEED`.
    pub seed: u64,
    pub timeout: Duration,
    /// Environment variables to set in the child besides `LAB_SEED`; it
    /// inherits the rest of this process's environment (in a sandbox, only
    /// the variables [`SANDBOX_ENV`] lets through).
    pub env: Vec<(String, String)>,
    /// Ask the tester for its verdict (`LAB_VERDICT_KEY`, `LAB_VERDICT_FILE`):
    /// the run then passes only if the tester reported the test's end, not
    /// merely on exit status 0. For a grader.
    pub require_verdict: bool,
    /// The most output kept, in bytes: the first quarter and the last three
    /// quarters, with `[... N bytes cut ...]` between them.
    pub output_cap: usize,
    /// Run the test under this sandbox (see [`crate::sandbox`]).
    pub sandbox: Option<Sandbox>,
}

impl<'a> RunSpec<'a> {
    /// A plain run: no extra environment, no verdict, no sandbox, the
    /// default output cap.
    pub fn new(binary: &'a TestBinary, test: &'a str, seed: u64, timeout: Duration) -> Self {
        RunSpec {
            binary,
            test,
            seed,
            timeout,
            env: Vec::new(),
            require_verdict: false,
            output_cap: DEFAULT_OUTPUT_CAP,
            sandbox: None,
        }
    }
}

/// The environment variables a sandboxed test inherits from this process
/// (names, or prefixes ending in `_`); [`RunSpec::env`] adds to them. The
/// rest (tokens, paths to the staff's files) stays out of its reach.
pub const SANDBOX_ENV: &[&str] = &["LAB_", "RUST_", "PATH", "LANG", "LC_", "TERM", "TZ"];

/// The result of [`run`].
#[derive(Clone, Debug)]
pub struct RunResult {
    pub verdict: Verdict,
    /// The child's stdout and stderr, interleaved as it wrote them, cut to
    /// [`RunSpec::output_cap`].
    pub output: Vec<u8>,
    /// From the child's start to its exit (or its killing).
    pub duration: Duration,
    /// In a sandbox, the layers the launcher applied, e.g. `landlock ABI 7
    /// (fs, tcp, signals, abstract sockets), rlimits (core 0, data 2 GiB,
    /// …), no_new_privs, uid nobody`; `None` without a sandbox or if it
    /// could not be set up.
    pub sandbox: Option<String>,
}

/// How long [`run`] goes on reading output after the child exited, for
/// output still in the pipe; a process that escaped the kill and holds the
/// pipe open cannot make the run last longer.
const GRACE: Duration = Duration::from_secs(1);

/// The most bytes read from a pipe between two checks of the child.
const READ_BURST: usize = 4 << 20;

/// Runs `spec.test` alone in a child process of its binary:
/// `<binary> --exact <test> --test-threads=1 --nocapture` with `LAB_SEED`,
/// in its package's directory, in a process group of its own; under
/// `spec.sandbox`'s launcher if any.
///
/// The child's whole process group is killed (SIGKILL) when `spec.timeout`
/// passes (verdict [`Verdict::TimedOut`]) or when `cancel` becomes true
/// ([`Verdict::Cancelled`]), within `POLL` (10 ms) of either, and as soon as the
/// child exits, so that its own children cannot outlive it. Output still
/// in the pipe is read for at most `GRACE` (1 s) after that.
pub fn run(spec: &RunSpec<'_>, cancel: &AtomicBool) -> Result<RunResult, Error> {
    let executable = &spec.binary.executable;
    let io_error = |what: &str| {
        let what = format!("{what} {}", executable.display());
        move |source: io::Error| Error::Io { what, source }
    };
    let private = if spec.require_verdict || spec.sandbox.is_some() {
        let owner = spec.sandbox.as_ref().and_then(|sandbox| sandbox.user);
        Some(PrivateDir::new(owner)?)
    } else {
        None
    };
    let key = if spec.require_verdict {
        Some(random_key()?)
    } else {
        None
    };
    // One pipe for both streams keeps a panic message next to the log
    // lines before it, as on a terminal.
    let (reader, writer) = io::pipe().map_err(io_error("could not make a pipe for"))?;
    let test_args = ["--exact", spec.test, "--test-threads=1", "--nocapture"];
    let mut report_reader = None;
    let mut command = match &spec.sandbox {
        None => {
            let mut command = Command::new(executable);
            command.args(test_args).stdin(Stdio::null());
            command
        }
        Some(sandbox) => {
            // The launcher reports on its stdin, a pipe (see crate::sandbox).
            let (report, report_writer) =
                io::pipe().map_err(io_error("could not make a pipe for"))?;
            report_reader = Some(report);
            let binary_dir = executable.parent().unwrap_or(Path::new("/"));
            let private = private.as_ref().map(|dir| dir.0.as_path());
            let mut sandbox = sandbox.clone();
            if sandbox.cpu_seconds.is_none() {
                let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
                let cpu = spec.timeout.as_secs_f64().ceil() as u64 * cores as u64 + 10;
                sandbox.cpu_seconds = Some(cpu);
            }
            let mut command = Command::new(&sandbox.launcher);
            command
                .args(sandbox.args(&[binary_dir, &spec.binary.dir], private.as_slice()))
                .args(["--report-fd", "0", "--"])
                .arg(executable)
                .args(test_args)
                .stdin(report_writer)
                .env_clear()
                .envs(std::env::vars_os().filter(|(name, _)| {
                    let name = name.to_string_lossy();
                    SANDBOX_ENV.iter().any(|allowed| {
                        name == *allowed || (allowed.ends_with('_') && name.starts_with(allowed))
                    })
                }));
            command
        }
    };
    command
        .current_dir(&spec.binary.dir)
        .env("LAB_SEED", spec.seed.to_string())
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdout(
            writer
                .try_clone()
                .map_err(io_error("could not make a pipe for"))?,
        )
        .stderr(writer);
    if let Some(dir) = &private {
        command.env("TMPDIR", &dir.0);
        if let Some(key) = &key {
            command
                .env("LAB_VERDICT_KEY", key)
                .env("LAB_VERDICT_FILE", dir.verdict_file());
        }
    }
    // A Ctrl-C at the terminal goes to the whole foreground process group.
    // Keeping children out of it lets the caller decide: it sees the signal,
    // cancels, and its runs end as Cancelled instead of racing to die as
    // failures. It also lets the run kill the child's children with it.
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let start = Instant::now();
    let spawned = command.spawn();
    // The command holds the pipes' write ends; the reader sees the end of
    // the output only once they are closed, here and in the child.
    drop(command);
    let mut child = match &spec.sandbox {
        None => spawned.map_err(io_error("could not run"))?,
        Some(sandbox) => spawned.map_err(io_error(&format!(
            "could not run the sandbox launcher {} for",
            sandbox.launcher.display()
        )))?,
    };
    let group = Pid::from_raw(child.id() as i32);

    let mut output = Pipe::new(reader, OutputCap::new(spec.output_cap));
    let mut report = report_reader.map(|reader| Pipe::new(reader, OutputCap::new(4096)));
    // (exit status, killed as, when it ended)
    let mut ended: Option<(ExitStatus, Option<Verdict>, Instant)> = None;
    let mut duration = Duration::ZERO;
    loop {
        {
            let mut fds: Vec<PollFd<'_>> = [Some(&output), report.as_ref()]
                .into_iter()
                .flatten()
                .filter(|pipe| pipe.open)
                .map(|pipe| PollFd::new(pipe.reader.as_fd(), PollFlags::POLLIN))
                .collect();
            if fds.is_empty() {
                std::thread::sleep(POLL);
            } else {
                // EINTR and the like only shorten the wait.
                let _ = nix::poll::poll(&mut fds, PollTimeout::from(POLL.as_millis() as u16));
            }
        }
        output.drain();
        if let Some(report) = &mut report {
            report.drain();
        }
        if ended.is_none() {
            let stop = if exited(group) {
                Some(None)
            } else if cancel.load(Ordering::Relaxed) {
                Some(Some(Verdict::Cancelled))
            } else if start.elapsed() >= spec.timeout {
                Some(Some(Verdict::TimedOut))
            } else {
                None
            };
            if let Some(killed_as) = stop {
                duration = start.elapsed();
                // The child is not reaped yet, so its process group id
                // cannot have been reused: this kills the child's own
                // children and nothing else.
                let _ = killpg(group, Signal::SIGKILL);
                let status = child.wait().map_err(io_error("could not wait for"))?;
                ended = Some((status, killed_as, Instant::now()));
            }
        }
        if let Some((_, _, at)) = ended {
            let reading = output.open || report.as_ref().is_some_and(|r| r.open);
            if !reading || at.elapsed() >= GRACE {
                break;
            }
        }
    }
    let Some((status, killed_as, _)) = ended else {
        unreachable!("the loop ends only once the child has ended");
    };

    let mut layers = None;
    let mut sandbox_failed = false;
    if let Some(report) = report {
        let text = String::from_utf8_lossy(&report.data.finish()).into_owned();
        layers = text
            .lines()
            .find_map(|line| line.strip_prefix("ok "))
            .map(String::from);
        sandbox_failed = layers.is_none() || text.lines().any(|line| line.starts_with("error"));
        if sandbox_failed {
            layers = None;
        }
    }
    let verdict = match killed_as {
        Some(verdict) => verdict,
        None if sandbox_failed => Verdict::SandboxFailed,
        None if !status.success() => Verdict::Failed(status),
        None => match (&key, &private) {
            (Some(key), Some(dir)) => {
                if dir
                    .read_verdict()
                    .is_some_and(|report| signed(&report, key, spec.test))
                {
                    Verdict::Passed
                } else {
                    Verdict::ExitedEarly
                }
            }
            _ => Verdict::Passed,
        },
    };
    drop(private);
    Ok(RunResult {
        verdict,
        output: output.data.finish(),
        duration,
        sandbox: layers,
    })
}

/// Whether the child whose pid is `pid` has exited, leaving it unreaped
/// (a zombie keeps its pid and process group id from being reused).
fn exited(pid: Pid) -> bool {
    let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
    match waitid(Id::Pid(pid), flags) {
        Ok(WaitStatus::StillAlive) => false,
        Ok(_) => true,
        // ECHILD: already reaped; EINTR: look again at the next poll.
        Err(Errno::EINTR) => false,
        Err(_) => true,
    }
}

/// 32 lowercase hex digits from the operating system's CSPRNG.
fn random_key() -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    OsRng.try_fill_bytes(&mut bytes).map_err(|e| Error::Io {
        what: "could not draw a verdict key".to_string(),
        source: io::Error::other(e.to_string()),
    })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A run's private directory (mode 0700, under the system's temporary
/// directory, owned by the sandbox's user when the runner is root), deleted
/// with everything in it when dropped. It holds the verdict file and is the
/// test's `TMPDIR`, the one place a sandboxed test may write.
struct PrivateDir(PathBuf);

impl PrivateDir {
    fn new(owner: Option<(u32, u32)>) -> Result<PrivateDir, Error> {
        let name = format!("raftlab-run-{}", &random_key()?[..16]);
        let dir = std::env::temp_dir().join(name);
        let io_error = |what: &str| {
            let what = format!("could not {what} {}", dir.display());
            move |source: io::Error| Error::Io { what, source }
        };
        // create_dir fails if the name exists: no one can plant it first.
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(io_error("make"))?;
        let private = PrivateDir(dir.clone());
        if let Some((uid, gid)) = owner
            && Uid::effective().is_root()
        {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).map_err(io_error("chown"))?;
        }
        Ok(private)
    }

    fn verdict_file(&self) -> PathBuf {
        self.0.join("verdict")
    }

    /// The verdict file's first bytes, if it is a regular file. Opened
    /// without following a symbolic link and without blocking on a FIFO:
    /// the test may have put either there.
    fn read_verdict(&self) -> Option<Vec<u8>> {
        let flags = (OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK).bits();
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(flags)
            .open(self.verdict_file())
            .ok()?;
        if !file.metadata().ok()?.is_file() {
            return None;
        }
        let mut bytes = Vec::new();
        file.take(4096).read_to_end(&mut bytes).ok()?;
        Some(bytes)
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The read end of a pipe from the child, read without blocking.
struct Pipe {
    reader: io::PipeReader,
    data: OutputCap,
    /// Until the last write end is closed (or reading fails).
    open: bool,
}

impl Pipe {
    fn new(reader: io::PipeReader, data: OutputCap) -> Pipe {
        let open = fcntl(&reader, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).is_ok();
        Pipe { reader, data, open }
    }

    /// Reads what the pipe holds now (up to [`READ_BURST`]).
    fn drain(&mut self) {
        let mut buf = [0u8; 64 << 10];
        let mut read = 0;
        while self.open && read < READ_BURST {
            match self.reader.read(&mut buf) {
                Ok(0) => self.open = false,
                Ok(n) => {
                    self.data.push(&buf[..n]);
                    read += n;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                // A read error can only cut the output short.
                Err(_) => self.open = false,
            }
        }
    }
}

/// Output kept within a cap: its first quarter and its last three
/// quarters, whatever the child writes in between dropped as it comes, so
/// memory never grows past the cap.
#[derive(Debug)]
struct OutputCap {
    head: Vec<u8>,
    head_cap: usize,
    /// A ring: once full, `tail[next..]` then `tail[..next]` is the order.
    tail: Vec<u8>,
    tail_cap: usize,
    next: usize,
    /// Bytes dropped between head and tail.
    cut: u64,
}

impl OutputCap {
    fn new(cap: usize) -> OutputCap {
        let head_cap = cap / 4;
        OutputCap {
            head: Vec::new(),
            head_cap,
            tail: Vec::new(),
            tail_cap: cap - head_cap,
            next: 0,
            cut: 0,
        }
    }

    fn push(&mut self, mut data: &[u8]) {
        let to_head = data.len().min(self.head_cap - self.head.len());
        self.head.extend_from_slice(&data[..to_head]);
        data = &data[to_head..];
        if data.len() > self.tail_cap {
            // Everything in the ring and the start of `data` is dropped.
            let skip = data.len() - self.tail_cap;
            self.cut += (self.tail.len() + skip) as u64;
            self.tail.clear();
            self.next = 0;
            data = &data[skip..];
        }
        let to_fill = data.len().min(self.tail_cap - self.tail.len());
        self.tail.extend_from_slice(&data[..to_fill]);
        data = &data[to_fill..];
        // Overwrite the oldest bytes, wrapping around.
        while !data.is_empty() {
            let n = data.len().min(self.tail_cap - self.next);
            self.tail[self.next..self.next + n].copy_from_slice(&data[..n]);
            self.cut += n as u64;
            self.next = (self.next + n) % self.tail_cap;
            data = &data[n..];
        }
    }

    /// The kept output, with the cut marked.
    fn finish(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.head.len() + self.tail.len() + 40);
        out.extend_from_slice(&self.head);
        if self.cut > 0 {
            if !out.ends_with(b"\n") {
                out.push(b'\n');
            }
            out.extend_from_slice(format!("[... {} bytes cut ...]\n", self.cut).as_bytes());
        }
        out.extend_from_slice(&self.tail[self.next..]);
        out.extend_from_slice(&self.tail[..self.next]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::{OutputCap, signed};

    fn capped(cap: usize, pushes: &[&[u8]]) -> String {
        let mut out = OutputCap::new(cap);
        for data in pushes {
            out.push(data);
        }
        String::from_utf8(out.finish()).unwrap()
    }

    #[test]
    fn output_under_the_cap_is_kept_whole() {
        assert_eq!(capped(16, &[b"abc", b"def\n"]), "abcdef\n");
        assert_eq!(capped(16, &[b"0123456789abcdef"]), "0123456789abcdef");
    }

    #[test]
    fn output_over_the_cap_keeps_its_head_and_tail() {
        // Head 4 bytes, tail 12.
        assert_eq!(
            capped(16, &[b"0123456789abcdefXYZ"]),
            "0123\n[... 3 bytes cut ...]\n789abcdefXYZ"
        );
        // The same, written a byte at a time and in odd pieces.
        let text = b"0123456789abcdefXYZ";
        let bytes: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(
            capped(16, &bytes),
            "0123\n[... 3 bytes cut ...]\n789abcdefXYZ"
        );
        let pieces: Vec<&[u8]> = text.chunks(5).collect();
        assert_eq!(
            capped(16, &pieces),
            "0123\n[... 3 bytes cut ...]\n789abcdefXYZ"
        );
        // A piece larger than the whole tail.
        assert_eq!(
            capped(16, &[b"0123ab", &[b'.'; 40], b"0123456789AB"]),
            "0123\n[... 42 bytes cut ...]\n0123456789AB"
        );
    }

    #[test]
    fn a_test_is_signed_when_its_last_part_passed() {
        let ok = |report: &str| signed(report.as_bytes(), "k3y", "t_3a");
        assert!(ok("k3y passed t_3a\n"));
        assert!(ok(
            "k3y began t_3a\nk3y passed t_3a\nk3y began t_3a\nk3y passed t_3a\n"
        ));
        // An exit during the second part.
        assert!(!ok("k3y began t_3a\nk3y passed t_3a\nk3y began t_3a\n"));
        assert!(!ok(""));
        assert!(!ok("k3y passed t_3a"));
        assert!(!ok("bad passed t_3a\n"));
        assert!(!ok("k3y passed t_3b\n"));
        assert!(!ok(
            "k3y passed t_3a\nk3y passed t_3a\nnoise\nk3y passed t_3a\n"
        ));
    }
}

/// Whether the tester's report says that `test` finished: every line is
/// `<key> began <test>` or `<key> passed <test>` (a test may have several
/// parts), and the last is a `passed` one, so that an exit during a later
/// part is no pass.
fn signed(report: &[u8], key: &str, test: &str) -> bool {
    let Ok(report) = std::str::from_utf8(report) else {
        return false;
    };
    let (began, passed) = (
        format!("{key} began {test}"),
        format!("{key} passed {test}"),
    );
    let lines: Vec<&str> = report.lines().collect();
    lines.last() == Some(&passed.as_str())
        && report.ends_with('\n')
        && lines.iter().all(|line| *line == began || *line == passed)
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
fn packages() -> Result<HashMap<PackageId, Package>, Error> {
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
