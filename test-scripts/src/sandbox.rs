//! The sandbox a graded test runs in, and `sandbox`, the launcher that
//! applies it.
//!
//! A submission runs inside its test's process, so the grader must assume
//! that process is hostile. The launcher restricts itself, then `exec`s the
//! test binary, which keeps every restriction (Landlock domains, rlimits,
//! the uid and `no_new_privs` all survive `execve`):
//!
//! ```text
//! sandbox [--read DIR]... [--write DIR]... [--memory BYTES] [--file-size BYTES]
//!         [--open-files N] [--processes N] [--cpu SECONDS] [--user UID:GID | --keep-user]
//!         [--require-landlock] [--report-fd FD] [--verbose] -- PROGRAM [ARGS]...
//! ```
//!
//! The layers, each best effort unless demanded:
//!
//! * rlimits: `RLIMIT_DATA` (`--memory`), `RLIMIT_FSIZE` (`--file-size`),
//!   `RLIMIT_NOFILE` (`--open-files`), `RLIMIT_NPROC` (`--processes`, which
//!   counts threads, and every process of the uid), `RLIMIT_CPU` (`--cpu`:
//!   a process that escaped its run's kill dies when it has used that much
//!   CPU time), and always `RLIMIT_CORE` 0. Soft and hard limits alike, so the program cannot raise
//!   them back. A limit that cannot be set is an error.
//! * the uid: run as root, the launcher becomes `--user` (default nobody,
//!   65534:65534) with no supplementary groups. Root would ignore
//!   `RLIMIT_NPROC` and could signal or read anything. Failing to switch is
//!   an error. Not run as root, it keeps its uid.
//! * `PR_SET_NO_NEW_PRIVS`: no setuid binary can give privileges back.
//! * namespaces, run as root: a network namespace with no interface up (no
//!   UDP, which Landlock does not cover) and an IPC namespace of its own;
//!   best effort (a container may forbid them).
//! * Landlock, with the highest ABI this crate knows, downgraded to what the
//!   kernel offers: the program may read and execute beneath the `--read`
//!   directories, do anything beneath the `--write` ones, and read and
//!   write `/dev/null` and `/dev/urandom`; nothing else of the file system
//!   (so not `/proc`, which would show its initial environment and other
//!   processes). From ABI 4 it may neither bind nor connect TCP sockets;
//!   from ABI 6 it may not signal processes outside its domain (the grader,
//!   other runs) nor connect to abstract unix sockets made outside it.
//!   Without Landlock the launcher says so on stderr and runs with the other
//!   layers, unless `--require-landlock`, which makes that an error.
//!
//! An error exits with [`SETUP_FAILED`] (125) after a message on stderr that
//! starts with `sandbox:`; the program never runs unsandboxed by accident.
//!
//! `--report-fd FD` is for the runner: the launcher writes one line to FD,
//! `ok <layers>` just before it `exec`s (the layers as [`Applied`] words
//! them) or `error <message>`, and FD is closed on `exec`, so the program
//! cannot write to it. The runner passes the write end of a pipe as the
//! launcher's stdin (fd 0); the launcher then puts `/dev/null` in its place.

use std::ffi::OsString;
use std::fmt;
use std::io::Write;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use landlock::{
    ABI, Access, AccessFs, AccessNet, LandlockStatus, PathBeneath, PathFd, Ruleset, RulesetAttr,
    RulesetCreatedAttr, RulesetStatus, Scope,
};
use nix::sys::resource::{Resource, getrlimit, setrlimit};
use nix::unistd::{Gid, Uid};

/// The launcher's exit status when it could not set the sandbox up.
pub const SETUP_FAILED: i32 = 125;

/// The system directories a dynamically linked test binary needs to start
/// (the loader, libc, `/etc/ld.so.cache`); those that exist are readable.
pub const SYSTEM_DIRS: &[&str] = &["/usr", "/lib", "/lib64", "/etc", "/bin"];

/// The memory limit (`RLIMIT_DATA`: the heap, anonymous mappings and thread
/// stacks, but not address space merely reserved) when the caller sets none.
///
/// Measured on this tree with the reference solution (debug build, VmData
/// of `/proc/PID/status` sampled every 50 ms; each OS thread counts its
/// 2 MiB stack):
///
/// | test                                          | real time        | `LAB_SIM=1`      |
/// |-----------------------------------------------|------------------|------------------|
/// | figure8_unreliable_2c                         | 373 MiB, 186 thr | passes at 192 MiB, not 128 |
/// | unreliable_churn_2c                           | 223 MiB, 111 thr | 35 MiB           |
/// | many_partitions_many_clients_3a               | 119 MiB, 53 thr  | 73 MiB           |
/// | persist_partition_unreliable_linearizable_3a  | 190 MiB, 89 thr  | 115 MiB; passes at 128 MiB |
/// | snapshot_unreliable_recover_..._linearizable_3b | 178 MiB, 87 thr | 93 MiB; passes at 128 MiB |
///
/// Resident sets stay under 25 MiB. 2 GiB is five times the worst of these:
/// room for a slow but honest solution (a log never compacted, a few
/// hundred more threads), still a small part of a 24 GiB machine, and it
/// stops a runaway allocation within a second. `RLIMIT_AS` would be the
/// wrong measure: glibc reserves 64 MiB of address space per malloc arena,
/// so these runs reserve 1.1 to 1.3 GiB (VmPeak) they never use.
pub const DEFAULT_MEMORY: u64 = 2 << 30;

/// The largest file the test may write (`RLIMIT_FSIZE`).
pub const DEFAULT_FILE_SIZE: u64 = 64 << 20;

/// The most file descriptors the test may hold (`RLIMIT_NOFILE`). A lab
/// test opens a handful: the verdict file, maybe a log.
pub const DEFAULT_OPEN_FILES: u64 = 256;

/// The most processes, threads included, of the sandbox's uid
/// (`RLIMIT_NPROC`). The lab tests peak at 186 threads (figure8_unreliable_2c
/// in real time; labrt pools them); ten times that stops a fork bomb and
/// leaves room for a solution that holds a thread per call in flight.
pub const DEFAULT_PROCESSES: u64 = 2048;

/// The unprivileged user and group a sandbox run as root switches to.
pub const NOBODY: (u32, u32) = (65534, 65534);

/// What [`crate::runner::run`] should sandbox a run with.
///
/// [`Sandbox::new`] gives the defaults the grader uses; the runner adds the
/// test binary's directory and its package's directory to `read`, and the
/// run's private directory to `write`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sandbox {
    /// The launcher: the `sandbox` binary of this package, built alongside
    /// the caller (`env!("CARGO_BIN_EXE_sandbox")` in this package's tests).
    pub launcher: PathBuf,
    /// Directories the test may read and execute beneath, besides its own.
    /// Default: those of [`SYSTEM_DIRS`] that exist.
    pub read: Vec<PathBuf>,
    /// Directories the test may write beneath, besides the run's private one.
    pub write: Vec<PathBuf>,
    /// `RLIMIT_DATA`, in bytes.
    pub memory: Option<u64>,
    /// `RLIMIT_FSIZE`, in bytes.
    pub file_size: Option<u64>,
    /// `RLIMIT_NOFILE`.
    pub open_files: Option<u64>,
    /// `RLIMIT_NPROC`.
    pub processes: Option<u64>,
    /// `RLIMIT_CPU`, in seconds of CPU time per process. `None` lets the
    /// runner derive it from the run's time limit: every core busy for the
    /// whole of it, plus 10 s.
    pub cpu_seconds: Option<u64>,
    /// The uid and gid to run as when the runner is root (the runner gives
    /// them the private directory); `None` stays root.
    pub user: Option<(u32, u32)>,
    /// Fail the run rather than run it without Landlock.
    pub require_landlock: bool,
}

impl Sandbox {
    /// Every layer, with the default limits, Landlock required.
    pub fn new(launcher: impl Into<PathBuf>) -> Sandbox {
        Sandbox {
            launcher: launcher.into(),
            read: SYSTEM_DIRS
                .iter()
                .map(PathBuf::from)
                .filter(|dir| dir.exists())
                .collect(),
            write: Vec::new(),
            memory: Some(DEFAULT_MEMORY),
            file_size: Some(DEFAULT_FILE_SIZE),
            open_files: Some(DEFAULT_OPEN_FILES),
            processes: Some(DEFAULT_PROCESSES),
            cpu_seconds: None,
            user: Some(NOBODY),
            require_landlock: true,
        }
    }

    /// [`Sandbox::new`] with the launcher found beside the running program:
    /// in its directory, or the one above (a test binary runs from
    /// `target/<profile>/deps`, the `sandbox` binary is built in
    /// `target/<profile>`). Build it first, e.g. `cargo build -p
    /// test-scripts --bin sandbox`.
    pub fn beside_this_program() -> Result<Sandbox, String> {
        let exe =
            std::env::current_exe().map_err(|e| format!("cannot find the running program: {e}"))?;
        let dir = exe.parent().unwrap_or(Path::new("/"));
        [Some(dir), dir.parent()]
            .into_iter()
            .flatten()
            .map(|dir| dir.join("sandbox"))
            .find(|launcher| launcher.is_file())
            .map(Sandbox::new)
            .ok_or_else(|| {
                format!(
                    "no sandbox launcher beside {} (build it with \
                     `cargo build -p test-scripts --bin sandbox`)",
                    exe.display()
                )
            })
    }

    /// The launcher's arguments before `--`, with `read` and `write`
    /// directories added to the struct's own.
    pub fn args(&self, read: &[&Path], write: &[&Path]) -> Vec<OsString> {
        let mut args = Vec::new();
        for dir in self
            .read
            .iter()
            .map(PathBuf::as_path)
            .chain(read.iter().copied())
        {
            args.extend([OsString::from("--read"), dir.into()]);
        }
        for dir in self
            .write
            .iter()
            .map(PathBuf::as_path)
            .chain(write.iter().copied())
        {
            args.extend([OsString::from("--write"), dir.into()]);
        }
        for (flag, value) in [
            ("--memory", self.memory),
            ("--file-size", self.file_size),
            ("--open-files", self.open_files),
            ("--processes", self.processes),
            ("--cpu", self.cpu_seconds),
        ] {
            if let Some(value) = value {
                args.extend([OsString::from(flag), value.to_string().into()]);
            }
        }
        match self.user {
            Some((uid, gid)) => args.extend(["--user".into(), format!("{uid}:{gid}").into()]),
            None => args.push("--keep-user".into()),
        }
        if self.require_landlock {
            args.push("--require-landlock".into());
        }
        args
    }
}

/// The launcher's command line (see the module's header).
#[derive(clap::Parser, Debug)]
#[command(
    name = "sandbox",
    about = "Run a program under Landlock, rlimits and an unprivileged uid",
    after_help = "Exits 125 if the sandbox cannot be set up; otherwise the program replaces it."
)]
pub struct Args {
    /// A directory the program may read and execute beneath (repeatable).
    #[arg(long, value_name = "DIR")]
    pub read: Vec<PathBuf>,
    /// A directory the program may read and write beneath (repeatable).
    #[arg(long, value_name = "DIR")]
    pub write: Vec<PathBuf>,
    /// RLIMIT_DATA: heap, anonymous mappings and stacks, in bytes (K, M, G suffixes allowed).
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub memory: Option<u64>,
    /// RLIMIT_FSIZE: the largest file it may write, in bytes (K, M, G suffixes allowed).
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub file_size: Option<u64>,
    /// RLIMIT_NOFILE: how many files it may hold open.
    #[arg(long, value_name = "N")]
    pub open_files: Option<u64>,
    /// RLIMIT_NPROC: how many processes and threads its uid may have.
    #[arg(long, value_name = "N")]
    pub processes: Option<u64>,
    /// RLIMIT_CPU: the CPU time each process may use, in seconds.
    #[arg(long, value_name = "SECONDS")]
    pub cpu: Option<u64>,
    /// When run as root, the user and group to become [default: 65534:65534, nobody].
    #[arg(long, value_name = "UID:GID", value_parser = parse_user, conflicts_with = "keep_user")]
    pub user: Option<(u32, u32)>,
    /// Stay root when run as root.
    #[arg(long)]
    pub keep_user: bool,
    /// Fail rather than run without Landlock.
    #[arg(long)]
    pub require_landlock: bool,
    /// Write `ok <layers>` or `error <message>` to this file descriptor.
    #[arg(long, value_name = "FD")]
    pub report_fd: Option<RawFd>,
    /// Say on stderr which layers were applied.
    #[arg(long, short)]
    pub verbose: bool,
    /// The program and its arguments.
    #[arg(last = true, required = true, value_name = "PROGRAM")]
    pub command: Vec<OsString>,
}

/// `4096`, `64K`, `16M`, `2G`.
fn parse_size(text: &str) -> Result<u64, String> {
    let (digits, shift) = match text.as_bytes().last() {
        Some(b'K' | b'k') => (&text[..text.len() - 1], 10),
        Some(b'M' | b'm') => (&text[..text.len() - 1], 20),
        Some(b'G' | b'g') => (&text[..text.len() - 1], 30),
        _ => (text, 0),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or_else(|| format!("{text:?} is not a size in bytes (like 4096, 64K, 16M, 2G)"))
}

/// `65534:65534`.
fn parse_user(text: &str) -> Result<(u32, u32), String> {
    text.split_once(':')
        .and_then(|(uid, gid)| Some((uid.parse().ok()?, gid.parse().ok()?)))
        .ok_or_else(|| format!("{text:?} is not UID:GID (like 65534:65534)"))
}

/// The layers a launcher applied, as it reports them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// Landlock's ABI and what it covered, or why there was none.
    pub landlock: String,
    /// The rlimits set.
    pub rlimits: Vec<String>,
    pub no_new_privs: bool,
    /// The uid and gid it ran the program as.
    pub user: (u32, u32),
    /// The namespaces of its own it runs in, or why none.
    pub namespaces: String,
}

impl fmt::Display for Applied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}, rlimits ({})",
            self.landlock,
            self.rlimits.join(", ")
        )?;
        if self.no_new_privs {
            write!(f, ", no_new_privs")?;
        }
        if !self.namespaces.is_empty() {
            write!(f, ", {}", self.namespaces)?;
        }
        let (uid, gid) = self.user;
        match uid {
            0 => write!(f, ", uid root"),
            65534 => write!(f, ", uid nobody"),
            _ => write!(f, ", uid {uid} gid {gid}"),
        }
    }
}

/// The launcher: applies the sandbox to this process and `exec`s the
/// program. Returns only on failure, with the message to print; the caller
/// then exits with [`SETUP_FAILED`].
pub fn launch(args: &Args) -> String {
    let mut report = match Report::open(args.report_fd) {
        Ok(report) => report,
        Err(message) => return message,
    };
    let message = match sandbox_self(args) {
        Ok(applied) => {
            if args.verbose {
                eprintln!("sandbox: {applied}");
            }
            report.send(&format!("ok {applied}"));
            let program = &args.command[0];
            let error = Command::new(program).args(&args.command[1..]).exec();
            format!("cannot run {}: {error}", Path::new(program).display())
        }
        Err(message) => message,
    };
    report.send(&format!("error {message}"));
    message
}

/// Where the launcher reports to, if anywhere: a descriptor closed on exec.
struct Report(Option<std::fs::File>);

impl Report {
    fn open(fd: Option<RawFd>) -> Result<Report, String> {
        let Some(fd) = fd else {
            return Ok(Report(None));
        };
        if nix::fcntl::fcntl(borrow(fd)?, nix::fcntl::FcntlArg::F_GETFD).is_err() {
            return Err(format!("--report-fd {fd} is not an open file descriptor"));
        }
        // A copy above the standard streams, closed on exec.
        let copy = nix::fcntl::fcntl(borrow(fd)?, nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(3))
            .map_err(|e| format!("cannot copy --report-fd {fd}: {e}"))?;
        // SAFETY: F_DUPFD_CLOEXEC returned a new descriptor nothing else owns.
        let file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(copy) });
        // The original must not reach the program: stdin becomes /dev/null,
        // any other descriptor is closed.
        if fd == 0 {
            let null = std::fs::File::open("/dev/null")
                .map_err(|e| format!("cannot open /dev/null: {e}"))?;
            nix::unistd::dup2_stdin(&null).map_err(|e| format!("cannot replace stdin: {e}"))?;
        } else {
            // SAFETY: the caller handed us `fd` for this report, checked open
            // above; nothing else in this process uses it.
            drop(unsafe { OwnedFd::from_raw_fd(fd) });
        }
        Ok(Report(Some(file)))
    }

    fn send(&mut self, line: &str) {
        if let Some(file) = &mut self.0 {
            // A lost report shows as none, which the runner treats as a
            // failed setup.
            let _ = writeln!(file, "{line}");
        }
    }
}

fn borrow(fd: RawFd) -> Result<std::os::fd::BorrowedFd<'static>, String> {
    if fd < 0 {
        return Err(format!("--report-fd {fd} is not a file descriptor"));
    }
    // SAFETY: only used for fcntl, which reports EBADF if `fd` is not open.
    Ok(unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) })
}

/// Applies every layer to this process; see the module's header.
fn sandbox_self(args: &Args) -> Result<Applied, String> {
    let mut applied = Applied::default();
    let limits = [
        (Resource::RLIMIT_CORE, Some(0), "core 0"),
        (Resource::RLIMIT_DATA, args.memory, "data"),
        (Resource::RLIMIT_FSIZE, args.file_size, "fsize"),
        (Resource::RLIMIT_NOFILE, args.open_files, "nofile"),
        (Resource::RLIMIT_NPROC, args.processes, "nproc"),
        (Resource::RLIMIT_CPU, args.cpu, "cpu"),
    ];
    for (resource, value, name) in limits {
        let Some(value) = value else { continue };
        set_limit(resource, value).map_err(|e| format!("cannot set {resource:?}: {e}"))?;
        applied.rlimits.push(if value == 0 {
            name.to_string()
        } else {
            format!("{name} {}", show_size(value, resource))
        });
    }

    // Opened while still root, so that a directory only root may open can
    // still be named (the program then gets no more than its uid allows).
    let ruleset = landlock_ruleset(args)?;

    let root = Uid::effective().is_root();
    applied.namespaces = enter_namespaces(root);
    applied.user = (Uid::current().as_raw(), Gid::current().as_raw());
    if root && !args.keep_user {
        let (uid, gid) = args.user.unwrap_or(NOBODY);
        if uid != 0 {
            let (uid, gid) = (Uid::from_raw(uid), Gid::from_raw(gid));
            nix::unistd::setgroups(&[gid]).map_err(|e| format!("cannot drop groups: {e}"))?;
            nix::unistd::setresgid(gid, gid, gid)
                .map_err(|e| format!("cannot switch to gid {gid}: {e}"))?;
            nix::unistd::setresuid(uid, uid, uid)
                .map_err(|e| format!("cannot switch to uid {uid}: {e}"))?;
            applied.user = (uid.as_raw(), gid.as_raw());
        }
    }

    nix::sys::prctl::set_no_new_privs().map_err(|e| format!("cannot set no_new_privs: {e}"))?;
    applied.no_new_privs = true;

    let status = ruleset
        .restrict_self()
        .map_err(|e| format!("cannot enforce the Landlock ruleset: {e}"))?;
    applied.landlock = match (status.ruleset, status.landlock) {
        (
            RulesetStatus::FullyEnforced | RulesetStatus::PartiallyEnforced,
            LandlockStatus::Available { effective_abi, .. },
        ) => {
            let mut covers = vec!["fs"];
            if effective_abi >= ABI::V4 {
                covers.push("tcp");
            }
            if effective_abi >= ABI::V6 {
                covers.extend(["signals", "abstract sockets"]);
            }
            format!(
                "landlock ABI {} ({})",
                abi_number(effective_abi),
                covers.join(", ")
            )
        }
        (_, landlock) => {
            let why = match landlock {
                LandlockStatus::NotEnabled => "not enabled in this kernel",
                LandlockStatus::NotImplemented => "not built into this kernel",
                LandlockStatus::Available { .. } => "the kernel enforced none of the rules",
            };
            if args.require_landlock {
                return Err(format!(
                    "Landlock is required but unavailable: {why}; the program did not run"
                ));
            }
            eprintln!(
                "sandbox: Landlock is unavailable ({why}): the program may read and write \
                 any file its uid may; the other layers apply"
            );
            format!("no landlock ({why})")
        }
    };
    Ok(applied)
}

/// The Landlock ruleset of the module's header, created but not enforced.
fn landlock_ruleset(args: &Args) -> Result<landlock::RulesetCreated, String> {
    // Best effort: what this kernel lacks of ABI 10 is dropped, and
    // `--require-landlock` is checked once enforced (some Landlock, at least
    // for the file system, is what it demands).
    let abi = ABI::V10;
    let fail = |e: landlock::RulesetError| format!("cannot build the Landlock ruleset: {e}");
    let mut ruleset = Ruleset::default()
        .handle_access(AccessFs::from_all(abi))
        .map_err(fail)?
        // Handled with no rule: no TCP bind or connect at all.
        .handle_access(AccessNet::from_all(abi))
        .map_err(fail)?
        .scope(Scope::from_all(abi))
        .map_err(fail)?
        .create()
        .map_err(fail)?;
    let dir_rule = |dir: &Path, access| -> Result<PathBeneath<PathFd>, String> {
        let fd = PathFd::new(dir).map_err(|e| format!("cannot open {}: {e}", dir.display()))?;
        Ok(PathBeneath::new(fd, access))
    };
    for dir in &args.read {
        ruleset = ruleset
            .add_rule(dir_rule(dir, AccessFs::from_read(abi))?)
            .map_err(fail)?;
    }
    for dir in &args.write {
        ruleset = ruleset
            .add_rule(dir_rule(dir, AccessFs::from_all(abi))?)
            .map_err(fail)?;
    }
    let device = AccessFs::from_file(abi) & !AccessFs::Execute;
    for file in ["/dev/null", "/dev/urandom"] {
        if Path::new(file).exists() {
            ruleset = ruleset
                .add_rule(dir_rule(Path::new(file), device)?)
                .map_err(fail)?;
        }
    }
    Ok(ruleset)
}

/// Sets `resource`'s soft and hard limits to `value`, or to the hard limit
/// already in force if that is lower (lowering needs no privilege).
fn set_limit(resource: Resource, value: u64) -> nix::Result<()> {
    let (_, hard) = getrlimit(resource)?;
    let value = value.min(hard);
    setrlimit(resource, value, value)
}

/// `2 GiB`, `64 MiB`, or a plain count for the counting limits.
fn show_size(value: u64, resource: Resource) -> String {
    if resource == Resource::RLIMIT_CPU {
        return format!("{value} s");
    }
    if !matches!(resource, Resource::RLIMIT_DATA | Resource::RLIMIT_FSIZE) {
        return value.to_string();
    }
    for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if value >= 1 << shift && value.is_multiple_of(1 << shift) {
            return format!("{} {unit}", value >> shift);
        }
    }
    format!("{value} B")
}

/// The number of a Landlock ABI (the crate's enum has no conversion out).
fn abi_number(abi: ABI) -> i32 {
    (1..=64).find(|&n| ABI::from(n) == abi).unwrap_or(0)
}

/// Puts the launcher (and so the program) in a network and an IPC namespace
/// of its own, where the kernel lets it: no interface is up there, so no
/// UDP, TCP or abstract unix socket reaches the host (Landlock covers TCP
/// and abstract sockets but not UDP), and no System V IPC is shared. Only
/// root may make them without a user namespace, which is not tried: the
/// other layers stand without this one, and a container that forbids it
/// (no `CAP_SYS_ADMIN`) is isolated from the host by its own namespaces.
fn enter_namespaces(root: bool) -> String {
    use nix::sched::{CloneFlags, unshare};
    if !root {
        return "no namespaces (not root)".to_string();
    }
    match unshare(CloneFlags::CLONE_NEWNET | CloneFlags::CLONE_NEWIPC) {
        Ok(()) => "namespaces (net, ipc)".to_string(),
        Err(e) => format!("no namespaces ({e})"),
    }
}
